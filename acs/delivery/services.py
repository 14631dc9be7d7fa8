"""Changes of state of delivery. The decision to send writes the rows (``deliveries_create``);
workers claim, send and record outcomes (see ``docs/delivery.md``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from django.db import transaction
from django.utils import timezone

from acs.alerts.models import Message
from acs.delivery.constants import Channel, DeliveryStatus
from acs.delivery.models import Delivery
from acs.enrollment.constants import ON_BY_DEFAULT
from acs.enrollment.constants import Delivery as When
from acs.enrollment.models import MessagePreference, Phone
from acs.enrollment.selectors import enrollees_to_reach

INSERT_BATCH = 5000


def message_dates(message: Message) -> tuple[date, date]:
    """The first and last day (the post's calendar) on which the message is in effect."""
    zone = message.post.zone
    return (
        timezone.localdate(message.effective_from, timezone=zone),
        timezone.localdate(message.effective_until, timezone=zone),
    )


def message_region_ids(message: Message) -> list[int]:
    if message.whole_country:
        return list(message.post.regions.values_list("pk", flat=True))
    return list(message.regions.values_list("pk", flat=True))


def _reached(message: Message):
    starts, ends = message_dates(message)
    return enrollees_to_reach(
        post=message.post,
        region_ids=message_region_ids(message),
        starts=starts,
        ends=ends,
        kind=message.kind,
    )


def recipients_count(*, message: Message) -> int:
    """How many people the message would reach now (for the preview before sending)."""
    return _reached(message).count()


def _rows(message: Message) -> Iterator[Delivery]:
    """One row per person and channel. Email unless they switched email off for this kind;
    text message only where they asked for it and have a phone that takes texts. A person who
    chose the daily digest for this kind gets a row that the digest sends."""
    people = _reached(message)
    default_on = message.kind in ON_BY_DEFAULT
    choices = {
        (enrollee_id, channel): (enabled, when)
        for enrollee_id, channel, enabled, when in MessagePreference.objects.filter(
            kind=message.kind, enrollee__in=people.values("pk")
        ).values_list("enrollee_id", "channel", "enabled", "delivery")
    }
    texts = dict(
        Phone.objects.filter(sms_capable=True, enrollee__in=people.values("pk"))
        .order_by("enrollee_id", "-id")
        .values_list("enrollee_id", "number")
    )
    for pk, email, language in people.values_list("pk", "email", "language").iterator(
        chunk_size=INSERT_BATCH
    ):
        for channel, address in ((Channel.EMAIL, email), (Channel.SMS, texts.get(pk))):
            choice = choices.get((pk, channel))
            # No choice made for this channel: email for the kinds everyone gets until they
            # say otherwise; never a text message.
            wanted = choice[0] if choice else (channel == Channel.EMAIL and default_on)
            if not (wanted and address):
                continue
            digest = choice is not None and choice[1] == When.DIGEST
            yield Delivery(
                message=message,
                enrollee_id=pk,
                channel=channel,
                address=address,
                language=language,
                status=DeliveryStatus.DIGEST if digest else DeliveryStatus.QUEUED,
            )


def deliveries_create(*, message: Message) -> int:
    """Write the message's delivery rows, inside the caller's transaction (the one that
    publishes it), so that the decision to send and the work to do commit together.

    Running it again adds only rows that are missing (the unique constraint on message,
    recipient and channel), so nobody gets a second copy. Returns the message's row count.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("deliveries_create runs inside the publishing transaction")
    batch: list[Delivery] = []
    for row in _rows(message):
        batch.append(row)
        if len(batch) >= INSERT_BATCH:
            Delivery.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    if batch:
        Delivery.objects.bulk_create(batch, ignore_conflicts=True)
    return Delivery.objects.filter(message=message).count()
