"""Read queries over messages that the public pages, the feeds and the back office share."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from acs.alerts.constants import OPEN, Channel, DeliveryStatus, MessageStatus, WelfareAnswer
from acs.alerts.models import Delivery, Message
from acs.alerts.services.outbox import message_dates, message_region_ids
from acs.enrollment.models import EmergencyContact, Enrollee, Phone, Residence, TripStop
from acs.posts.models import Post, Region

FEED_LENGTH = 50  # entries in each feed: the newest messages
STAFF_PUBLISHED_SHOWN = 50


def _with_related(queryset: QuerySet[Message]) -> QuerySet[Message]:
    return queryset.select_related("post", "references").prefetch_related(
        Prefetch("regions", queryset=Region.objects.order_by("name")), "network_posts"
    )


def messages_published(*, post: Post, kind: str = "", region_code: str = "") -> QuerySet[Message]:
    """The post's published messages, and the network messages addressed to it, newest
    first; optionally of one kind, and about one region (a message for the whole country is
    about every region)."""
    addressed = Message.network_posts.through.objects.filter(post=post).values("message_id")
    queryset = Message.objects.filter(
        Q(post=post) | Q(pk__in=addressed), status=MessageStatus.PUBLISHED
    )
    if kind:
        queryset = queryset.filter(kind=kind)
    if region_code:
        about = Message.regions.through.objects.filter(
            region__post=post, region__code=region_code
        ).values("message_id")
        queryset = queryset.filter(Q(whole_country=True) | Q(pk__in=about))
    return _with_related(queryset.order_by("-published_at", "-pk"))


def messages_for_feed(*, post: Post) -> list[Message]:
    return list(messages_published(post=post)[:FEED_LENGTH])


def message_published_get(*, post: Post, public_id: UUID) -> Message | None:
    """A published message by its public id; a draft's id finds nothing."""
    return messages_published(post=post).filter(public_id=public_id).first()


def message_followers(*, message: Message) -> list[Message]:
    """The published updates and cancellations of ``message``, oldest first."""
    return list(
        Message.objects.filter(references=message, status=MessageStatus.PUBLISHED).order_by(
            "published_at", "pk"
        )
    )


def messages_for_staff(*, post: Post) -> dict[str, list[Message]]:
    """The back office's list: drafts (awaiting approval), approved (awaiting sending), and
    the latest published."""
    base = _with_related(Message.objects.filter(post=post)).select_related(
        "created_by", "approved_by", "published_by"
    )
    return {
        "drafts": list(base.filter(status=MessageStatus.DRAFT).order_by("-updated_at")),
        "approved": list(base.filter(status=MessageStatus.APPROVED).order_by("-approved_at")),
        "published": list(
            base.filter(status=MessageStatus.PUBLISHED).order_by("-published_at")[
                :STAFF_PUBLISHED_SHOWN
            ]
        ),
    }


def message_for_staff(*, post: Post, pk: int) -> Message | None:
    return (
        _with_related(Message.objects.filter(post=post, pk=pk))
        .select_related("created_by", "approved_by", "published_by")
        .first()
    )


# Delivery: a message's progress and its welfare answers (the staff pages) --------------

_FAILURES_SHOWN = 20
_RATE_WINDOW = timedelta(minutes=1)


# Progress ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    channels: dict[str, dict[str, int]]  # channel → status → rows
    totals: dict[str, int]  # status → rows, every channel
    rows: int
    rate: int  # rows sent in the last minute
    seconds_left: int | None  # at the last minute's rate; None when nothing moves
    failures: list[dict[str, Any]]  # the commonest reasons of failed and retrying rows
    # Rows that may have reached their server on an attempt whose outcome was not recorded (a
    # worker died, a connection broke after the whole message): waiting to go out again, and
    # sent again (with the same Message-ID, so a duplicate at most, never a loss).
    in_doubt: int = 0
    resent: int = 0
    writing: bool = False  # the fan-out is still writing rows: more will come

    @property
    def open(self) -> int:
        return sum(self.totals[status] for status in OPEN)

    @property
    def finished(self) -> bool:
        return not self.writing and self.rows > 0 and self.open == 0

    def eta_text(self) -> str:
        if self.writing and self.rate == 0:
            return _("Not known yet: the deliveries are still being written.")
        if self.rows == 0:
            return _("Nothing to send.")
        if self.finished:
            return _("Finished.")
        if self.seconds_left is None:
            return _("Not known yet: nothing was sent in the last minute.")
        if self.seconds_left < 60:
            return _("Less than a minute.")
        minutes = round(self.seconds_left / 60)
        return ngettext("About %(count)d minute.", "About %(count)d minutes.", minutes) % {
            "count": minutes
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "channels": self.channels,
            "totals": self.totals,
            "rows": self.rows,
            "open": self.open,
            "rate_per_minute": self.rate,
            "seconds_left": self.seconds_left,
            "eta_text": self.eta_text(),
            "finished": self.finished,
            "writing": self.writing,
            "in_doubt": self.in_doubt,
            "resent": self.resent,
            "failures": self.failures,
        }


def delivery_progress(*, message: Message, now: datetime | None = None) -> Progress:
    """Where the message's delivery stands: rows per channel and status, the rate (rows sent
    in the last minute), the time left at that rate, why rows failed, and the rows in doubt.
    Four queries, on the (message, status) index, whatever the number of rows."""
    now = now or timezone.now()
    rows = Delivery.objects.filter(message=message)
    channels = {channel.value: dict.fromkeys(DeliveryStatus.values, 0) for channel in Channel}
    totals = dict.fromkeys(DeliveryStatus.values, 0)
    for channel, status, count in (
        rows.order_by().values_list("channel", "status").annotate(count=Count("pk"))
    ):
        channels.setdefault(channel, dict.fromkeys(DeliveryStatus.values, 0))[status] = count
        totals[status] += count
    rate = rows.filter(status=DeliveryStatus.SENT, sent_at__gte=now - _RATE_WINDOW).count()
    waiting = sum(totals[status] for status in OPEN)
    failures = [
        {
            "status": status,
            "status_label": str(DeliveryStatus(status).label),
            "reason": reason or _("No reason given"),
            "count": count,
        }
        for status, reason, count in rows.filter(
            status__in=[DeliveryStatus.FAILED, DeliveryStatus.RETRYING]
        )
        .order_by()
        .values_list("status", "error")
        .annotate(count=Count("pk"))
        .order_by("-count", "status", "error")[:_FAILURES_SHOWN]
    ]
    doubt = rows.filter(in_doubt=True).aggregate(
        waiting=Count("pk", filter=~Q(status=DeliveryStatus.SENT)),
        resent=Count("pk", filter=Q(status=DeliveryStatus.SENT)),
    )
    return Progress(
        channels=channels,
        totals=totals,
        rows=sum(totals.values()),
        rate=rate,
        seconds_left=round(waiting * 60 / rate) if rate else None,
        failures=failures,
        in_doubt=doubt["waiting"],
        resent=doubt["resent"],
        writing=message.status == MessageStatus.PUBLISHED and message.fanout_done_at is None,
    )


# Welfare -----------------------------------------------------------------------------------


@dataclass
class RegionAnswers:
    region: Region | None  # None: nobody in the message's regions any more, or account gone
    safe: int = 0
    help: int = 0
    unanswered: int = 0

    @property
    def people(self) -> int:
        return self.safe + self.help + self.unanswered


@dataclass
class NeedsHelp:
    answered_at: datetime
    enrollee: Enrollee | None  # with phones and emergency contacts; None: account deleted
    address: str  # where the message went
    regions: list[Region] = field(default_factory=list)


@dataclass
class Welfare:
    regions: list[RegionAnswers]  # every region of the message, then "elsewhere"
    total: RegionAnswers  # each person once
    needs_help: list[NeedsHelp]


def _answers(message: Message) -> dict[Any, tuple[str | None, datetime | None, str]]:
    """Each recipient's latest answer (over their email and text rows): person → (answer,
    when, address). A deleted account's rows count as a person each."""
    people: dict[Any, tuple[str | None, datetime | None, str]] = {}
    rows = Delivery.objects.filter(message=message).values_list(
        "pk", "enrollee_id", "address", "welfare__answer", "welfare__answered_at"
    )
    for pk, enrollee_id, address, answer, answered_at in rows.iterator(chunk_size=5000):
        key = enrollee_id if enrollee_id is not None else ("row", pk)
        known = people.get(key)
        if known is None or (answered_at and (known[1] is None or answered_at > known[1])):
            people[key] = (answer, answered_at, address)
    return people


def _where(message: Message) -> dict[int, set[int]]:
    """Recipient → the message's regions they are in over its days (trip or residence)."""
    region_ids = message_region_ids(message)
    starts, ends = message_dates(message)
    recipients = Delivery.objects.filter(message=message).values("enrollee_id")
    where: dict[int, set[int]] = {}
    trips = TripStop.objects.filter(
        region_id__in=region_ids,
        trip__enrollee_id__in=recipients,
        trip__arrival__lte=ends,
        trip__departure__gte=starts,
    ).values_list("trip__enrollee_id", "region_id")
    homes = Residence.objects.filter(
        region_id__in=region_ids, active=True, enrollee_id__in=recipients
    ).values_list("enrollee_id", "region_id")
    for enrollee_id, region_id in [*trips, *homes]:
        where.setdefault(enrollee_id, set()).add(region_id)
    return where


def _count(row: RegionAnswers, answer: str | None) -> None:
    if answer == WelfareAnswer.SAFE:
        row.safe += 1
    elif answer == WelfareAnswer.NEED_HELP:
        row.help += 1
    else:
        row.unanswered += 1


def welfare_answers(*, message: Message) -> Welfare:
    """Who answered the emergency message how, per region of the message (a person in two of
    them counts in each, and once in the total), and everyone whose latest answer is "I need
    help" with their phones and emergency contacts, the earliest answer first."""
    people = _answers(message)
    where = _where(message)
    regions = {
        region.pk: RegionAnswers(region=region)
        for region in Region.objects.filter(pk__in=message_region_ids(message)).order_by("name")
    }
    elsewhere, total = RegionAnswers(region=None), RegionAnswers(region=None)
    for key, (answer, _when, _address) in people.items():
        _count(total, answer)
        found = [regions[pk] for pk in where.get(key, ()) if pk in regions]
        for row in found or [elsewhere]:
            _count(row, answer)
    helped = {key: value for key, value in people.items() if value[0] == WelfareAnswer.NEED_HELP}
    enrollees = Enrollee.objects.filter(
        pk__in=[key for key in helped if isinstance(key, int)]
    ).prefetch_related(
        Prefetch("phones", queryset=Phone.objects.order_by("id")),
        Prefetch("emergency_contacts", queryset=EmergencyContact.objects.order_by("id")),
    )
    by_pk = {enrollee.pk: enrollee for enrollee in enrollees}
    region_by_pk = {pk: row.region for pk, row in regions.items()}
    needs_help = [
        NeedsHelp(
            answered_at=answered_at,
            enrollee=by_pk.get(key) if isinstance(key, int) else None,
            address=address,
            regions=sorted(
                (region_by_pk[pk] for pk in where.get(key, ()) if pk in region_by_pk),
                key=lambda region: region.name,
            ),
        )
        for key, (_answer, answered_at, address) in helped.items()
    ]
    needs_help.sort(key=lambda person: person.answered_at)
    rows = list(regions.values())
    if elsewhere.people:
        rows.append(elsewhere)
    return Welfare(regions=rows, total=total, needs_help=needs_help)
