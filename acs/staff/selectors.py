"""Read queries for the back office's own pages: the audit log and the post's figures.

Dates a person types or reads are the post's local dates; the database keeps UTC, so every
local date is turned into the UTC instants of its local midnights before it is compared.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from django.apps import apps
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncWeek
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from acs.alerts.models import Message
from acs.appointments import availability
from acs.appointments.constants import BookingStatus
from acs.appointments.models import Booking, Service
from acs.appointments.selectors import services_bookable
from acs.core import clock
from acs.core.clock import utc_offset_text
from acs.core.models import AuditEntry
from acs.posts.models import Post

AUDIT_PAGE_SIZE = 50
FIGURE_WEEKS = 12
SYSTEM_ACTOR = "system"  # the audit search's "who" for entries without an account


def post_zone(post: Post | None) -> tzinfo:
    return post.zone if post is not None else UTC


# The audit log -----------------------------------------------------------------------------
@dataclass(frozen=True)
class AuditQuery:
    text: str = ""  # in the summary, the actor's name, the action, or exactly the record's id
    action: str = ""  # an action (acs.booking.cancelled) or a group of them (acs.booking)
    actor: str = ""  # a user's id, or SYSTEM_ACTOR
    since: date | None = None  # post-local dates, both inclusive
    until: date | None = None


def _audit_of_post(post: Post | None, *, everywhere: bool = False) -> QuerySet[AuditEntry]:
    """The post's entries; with ``everywhere`` (a network role), also those that belong to
    no post (the system's, the network's). No post at all: every entry, for the network."""
    entries = AuditEntry.objects.all()
    if post is not None:
        ours = Q(post=post)
        entries = entries.filter(ours | Q(post__isnull=True) if everywhere else ours)
    return entries


def audit_search(
    *, post: Post | None, query: AuditQuery | None, everywhere: bool = False
) -> QuerySet[AuditEntry]:
    """The audit entries of ``post`` (see ``_audit_of_post``) matching ``query``, newest
    first (none for no query: a search the form refused)."""
    entries = _audit_of_post(post, everywhere=everywhere)
    if query is None:
        return entries.none()
    text = query.text.strip()
    if text:
        entries = entries.filter(
            Q(summary__icontains=text)
            | Q(actor_name__icontains=text)
            | Q(action__icontains=text)
            | Q(object_id=text)
        )
    if query.action:
        entries = entries.filter(Q(action=query.action) | Q(action__startswith=f"{query.action}."))
    if query.actor == SYSTEM_ACTOR:
        entries = entries.filter(actor__isnull=True)
    elif query.actor:
        entries = entries.filter(actor_id=int(query.actor))
    zone = post_zone(post)
    if query.since:
        entries = entries.filter(created_at__gte=clock.midnight(zone, query.since))
    if query.until:
        entries = entries.filter(
            created_at__lt=clock.midnight(zone, query.until + timedelta(days=1))
        )
    return entries.order_by("-created_at", "-id")


def audit_actions(*, post: Post | None, everywhere: bool = False) -> list[str]:
    """The actions on record and their groups (``acs.booking`` for ``acs.booking.*``), sorted,
    for the search form's select. A scan of the action index, so kept for a few minutes."""

    def actions() -> list[str]:
        entries = _audit_of_post(post, everywhere=everywhere).order_by()
        found = set(entries.values_list("action", flat=True).distinct())
        groups = {action.rsplit(".", 1)[0] for action in found if action.count(".") >= 2}
        return sorted(found | groups)

    key = f"staff:audit-actions:{post.pk if post else 0}:{int(everywhere)}"
    return cache.get_or_set(key, actions, 300)


def audit_actors(*, post: Post | None) -> list[tuple[str, str]]:
    """Who can have acted at ``post``: the staff accounts holding a role there or at every
    post (by id, so a renamed account keeps its history), and the system (scheduled tasks,
    citizens' own actions)."""
    staff = User.objects.filter(is_staff=True)
    if post is not None:
        held = Q(staff_roles__post=post) | Q(staff_roles__post__isnull=True)
        staff = staff.filter(Q(is_superuser=True) | held).distinct()
    staff = staff.order_by("username").values_list("pk", "username")
    return [(str(pk), username) for pk, username in staff] + [(SYSTEM_ACTOR, _("system"))]


def record_label(object_type: str) -> str:
    """``appointments.booking`` → "Booking", in the reader's language; unknown types as they
    are."""
    if not object_type:
        return ""
    try:
        model = apps.get_model(object_type)
    except (LookupError, ValueError):
        return object_type
    return capfirst(model._meta.verbose_name)


# Records with a page of their own in the back office, where their history is shown.
RECORD_PAGES = {"appointments.booking": "staff:booking"}


@dataclass(frozen=True)
class Change:
    field: str
    before: Any
    after: Any
    is_pair: bool  # False: a value recorded alone (a reason), shown without an arrow


@dataclass(frozen=True)
class AuditRow:
    """One entry as the back office shows it: post-local time with its offset, the record
    named and linked, the changes as before → after."""

    entry: AuditEntry
    when: str
    offset: str
    record: str
    url: str
    changes: list[Change]


def _changes(changes: Any) -> list[Change]:
    if not isinstance(changes, dict):
        return [Change(field="", before=None, after=changes, is_pair=False)] if changes else []
    found = []
    for name, value in changes.items():
        if isinstance(value, list | tuple) and len(value) == 2:
            found.append(Change(field=name, before=value[0], after=value[1], is_pair=True))
        else:
            found.append(Change(field=name, before=None, after=value, is_pair=False))
    return found


def _record_url(entry: AuditEntry) -> str:
    name = RECORD_PAGES.get(entry.object_type)
    if not name or not entry.object_id.isdigit():
        return ""
    try:
        return reverse(name, args=[int(entry.object_id)])
    except NoReverseMatch:
        return ""


def audit_rows(entries: Iterable[AuditEntry], *, zone: tzinfo) -> list[AuditRow]:
    """The rows of an audit table (the audit log, or a record's history on its page, with
    ``acs.core.audit.history(record)`` and the ``staff/_audit_rows.html`` include)."""
    rows = []
    for entry in entries:
        local = entry.created_at.astimezone(zone)
        rows.append(
            AuditRow(
                entry=entry,
                when=date_format(local, "Y-m-d H:i:s"),
                offset=utc_offset_text(local),
                record=record_label(entry.object_type),
                url=_record_url(entry),
                changes=_changes(entry.changes),
            )
        )
    return rows


# The figures -------------------------------------------------------------------------------
def figure_weeks(*, post: Post, now: datetime | None = None) -> list[date]:
    """The Mondays (post-local) of the last ``FIGURE_WEEKS`` weeks, this week last."""
    now = now or timezone.now()
    today = clock.today(post, now)
    this_monday = today - timedelta(days=today.weekday())
    return [this_monday - timedelta(weeks=n) for n in range(FIGURE_WEEKS - 1, -1, -1)]


def _in_weeks(post: Post, weeks: list[date]) -> QuerySet[Booking]:
    start = clock.midnight(post, weeks[0])
    end = clock.midnight(post, weeks[-1] + timedelta(days=7))
    return Booking.objects.filter(post=post, starts_at__gte=start, starts_at__lt=end)


def _week_of(value: datetime, zone: tzinfo) -> date:
    return value.astimezone(zone).date()


def bookings_per_week(*, post: Post, weeks: list[date]) -> dict[tuple[int, date], int]:
    """``{(service id, Monday): bookings}`` for appointments in those weeks, cancelled ones
    left out (they gave their seats back). One query, grouped in the database by the post's
    local week."""
    rows = (
        _in_weeks(post, weeks)
        .exclude(status=BookingStatus.CANCELLED)
        .annotate(week=TruncWeek("starts_at", tzinfo=post.zone))
        .values("service_id", "week")
        .annotate(count=Count("id"))
        .order_by()
    )
    counts: dict[tuple[int, date], int] = defaultdict(int)
    for row in rows:
        counts[(row["service_id"], _week_of(row["week"], post.zone))] += row["count"]
    return dict(counts)


@dataclass(frozen=True)
class Outcomes:
    """What became of the bookings whose time has passed."""

    passed: int = 0  # all of them, cancelled ones included
    expected: int = 0  # not cancelled: someone was expected at the door
    no_show: int = 0
    late_refused: int = 0
    late_cancelled: int = 0

    @staticmethod
    def _rate(part: int, whole: int) -> float | None:
        return 100 * part / whole if whole else None

    @property
    def no_show_rate(self) -> float | None:
        return self._rate(self.no_show, self.expected)

    @property
    def late_refused_rate(self) -> float | None:
        return self._rate(self.late_refused, self.expected)

    @property
    def late_cancelled_rate(self) -> float | None:
        return self._rate(self.late_cancelled, self.passed)


_OUTCOME_COUNTS = {
    "passed": Count("id"),
    "expected": Count("id", filter=~Q(status=BookingStatus.CANCELLED)),
    "no_show": Count("id", filter=Q(status=BookingStatus.NO_SHOW)),
    "late_refused": Count("id", filter=Q(status=BookingStatus.LATE_REFUSED)),
    "late_cancelled": Count("id", filter=Q(status=BookingStatus.CANCELLED, cancelled_late=True)),
}


def outcomes_per_service(
    *, post: Post, weeks: list[date], now: datetime | None = None
) -> dict[int, Outcomes]:
    """``{service id: Outcomes}`` over the weeks' bookings whose time has passed. One query."""
    now = now or timezone.now()
    rows = (
        _in_weeks(post, weeks)
        .filter(starts_at__lt=now)
        .values("service_id")
        .annotate(**_OUTCOME_COUNTS)
        .order_by()
    )
    return {row.pop("service_id"): Outcomes(**row) for row in rows}


def outcomes_per_week(
    *, post: Post, weeks: list[date], now: datetime | None = None
) -> dict[date, Outcomes]:
    """``{Monday: Outcomes}``, all services together. One query."""
    now = now or timezone.now()
    rows = (
        _in_weeks(post, weeks)
        .filter(starts_at__lt=now)
        .annotate(week=TruncWeek("starts_at", tzinfo=post.zone))
        .values("week")
        .annotate(**_OUTCOME_COUNTS)
        .order_by()
    )
    return {_week_of(row.pop("week"), post.zone): Outcomes(**row) for row in rows}


@dataclass(frozen=True)
class NextFree:
    service: Service
    slot: availability.Slot | None  # None: nothing free within the service's horizon
    days: int | None  # local days from today until that slot


def next_free_slots(*, post: Post, now: datetime | None = None) -> list[NextFree]:
    """For each bookable service, the first slot a citizen could book now. Counts seats the
    way the booking pages do (``availability.slots_between``): two queries a service."""
    now = now or timezone.now()
    today = clock.today(post, now)
    found = []
    for service in services_bookable(post).prefetch_related("opening_rules"):
        last_day = today + timedelta(days=service.horizon_days)
        days = availability.slots_between(service, today, last_day, now=now)
        slot = next(
            (slot for slots in days.values() for slot in slots if slot.free > 0),
            None,
        )
        found.append(
            NextFree(
                service=service,
                slot=slot,
                days=(slot.local.date() - today).days if slot else None,
            )
        )
    return found


def figure_services(*, post: Post) -> list[Service]:
    """The services the figures speak of: every service of the post, open or not, in order."""
    return list(Service.objects.filter(post=post).order_by("order", "slug"))


# Across the network (a network role's view of the figures) -------------------------------
NETWORK_DAYS = 28


@dataclass(frozen=True)
class NetworkRow:
    post: Post
    bookings: int  # appointments in the period, cancelled ones left out
    served: int
    no_shows: int
    messages: int  # published in the period


def network_figures(*, now: datetime | None = None) -> list[NetworkRow]:
    """Each post's figures for the last ``NETWORK_DAYS`` days (to now), by country and city:
    one grouped query for bookings, one for messages, whatever the number of posts."""
    now = now or timezone.now()
    since = now - timedelta(days=NETWORK_DAYS)
    bookings = {
        row["post_id"]: row
        for row in Booking.objects.filter(starts_at__gte=since, starts_at__lt=now)
        .exclude(status=BookingStatus.CANCELLED)
        .values("post_id")
        .annotate(
            total=Count("id"),
            served=Count("id", filter=Q(status=BookingStatus.SERVED)),
            no_shows=Count("id", filter=Q(status=BookingStatus.NO_SHOW)),
        )
        .order_by()
    }
    messages = dict(
        Message.objects.filter(published_at__gte=since, published_at__lt=now)
        .values("post_id")
        .annotate(count=Count("id"))
        .order_by()
        .values_list("post_id", "count")
    )
    empty = {"total": 0, "served": 0, "no_shows": 0}
    return [
        NetworkRow(
            post=post,
            bookings=bookings.get(post.pk, empty)["total"],
            served=bookings.get(post.pk, empty)["served"],
            no_shows=bookings.get(post.pk, empty)["no_shows"],
            messages=messages.get(post.pk, 0),
        )
        for post in Post.objects.order_by("country_code", "city", "slug")
    ]
