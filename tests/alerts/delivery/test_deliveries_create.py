"""Writing the rows twice (``services.deliveries_create``): on PostgreSQL through COPY into a
temporary table and ``INSERT … ON CONFLICT DO NOTHING``, on SQLite through ``bulk_create``."""

from __future__ import annotations

from collections import Counter

import pytest

from acs.alerts.constants import Channel, DeliveryStatus
from acs.alerts.models import Delivery, Message
from acs.alerts.services.outbox import deliveries_write_all
from acs.enrollment.services.profile import KindChoice, PhoneData, phones_set, preferences_set

pytestmark = pytest.mark.django_db


def test_publishing_twice_leaves_one_row_per_person_and_channel_each_with_its_token(
    lima, publish, in_cusco
):
    texter, digest, plain = in_cusco(language="es"), in_cusco(), in_cusco()
    phones_set(
        enrollee=texter,
        phones=[PhoneData(public_id=None, number="+51987654321", sms_capable=True)],
    )
    preferences_set(enrollee=texter, choices={"security": KindChoice(email=True, sms=True)})
    preferences_set(
        enrollee=digest, choices={"security": KindChoice(email=True, delivery="digest")}
    )
    message = publish()  # the first writing, by the fan-out's steps
    for _again in range(2):  # the fan-out run again from its start, twice
        Message.objects.filter(pk=message.pk).update(fanout_cursor=0, fanout_done_at=None)
        assert deliveries_write_all(message_id=message.pk) == 4

    rows = list(Delivery.objects.filter(message=message))
    per_channel = Counter((row.enrollee_id, row.channel) for row in rows)
    assert per_channel == {
        (texter.pk, Channel.EMAIL): 1,
        (texter.pk, Channel.SMS): 1,
        (digest.pk, Channel.EMAIL): 1,
        (plain.pk, Channel.EMAIL): 1,
    }
    assert len({row.token for row in rows}) == len(rows)
    assert {(row.enrollee_id, row.channel): row.status for row in rows} == {
        (texter.pk, Channel.EMAIL): DeliveryStatus.QUEUED,
        (texter.pk, Channel.SMS): DeliveryStatus.QUEUED,
        (digest.pk, Channel.EMAIL): DeliveryStatus.DIGEST,
        (plain.pk, Channel.EMAIL): DeliveryStatus.QUEUED,
    }
    # The model's defaults, as bulk_create would have set them.
    for row in rows:
        assert row.created_at is not None
        assert (row.attempts, row.claimed_by, row.provider_id, row.error) == (0, "", "", "")
        assert row.claimed_at is row.next_attempt_at is row.sent_at is None
        # Handed to the workers by the step that wrote it (never for a digest row).
        assert (row.enqueued_at is not None) == (row.status == DeliveryStatus.QUEUED)
