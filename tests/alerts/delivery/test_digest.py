"""The daily digest: each person's waiting messages in one email, each row claimed once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from acs.alerts import sending, tasks
from acs.alerts.constants import DeliveryStatus
from acs.alerts.models import Delivery
from acs.alerts.services import outbox as services
from acs.enrollment.services.profile import KindChoice, preferences_set

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader(in_cusco):
    """Someone who takes security and weather messages in the daily digest, in Spanish."""
    person = in_cusco(language="es")
    preferences_set(
        enrollee=person,
        choices={
            "security": KindChoice(email=True, delivery="digest"),
            "weather": KindChoice(email=True, delivery="digest"),
        },
    )
    return person


def test_one_email_carries_every_waiting_message_and_each_row_is_sent_once(
    publish, reader, in_cusco
):
    other = in_cusco()  # takes security at once, as everyone does by default
    first = publish(kind="security", title_es="Bloqueo uno")
    second = publish(kind="weather", title_es="Lluvias fuertes")
    assert set(Delivery.objects.filter(enrollee=reader).values_list("status", flat=True)) == {
        DeliveryStatus.DIGEST
    }
    assert tasks.send_digests() == 1  # only the reader has a digest; ``other`` has none
    [digest] = mail.outbox
    assert digest.to == [reader.email]
    assert "Bloqueo uno" in digest.body and "Lluvias fuertes" in digest.body
    assert digest.body.index("Bloqueo uno") < digest.body.index("Lluvias fuertes")
    rows = list(Delivery.objects.filter(enrollee=reader))
    assert {row.status for row in rows} == {DeliveryStatus.SENT}
    assert {row.provider_id for row in rows} == {digest.extra_headers["Message-ID"]}
    assert digest.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # The next run finds nothing waiting.
    assert tasks.send_digests() == 0
    assert sending.digest_send(enrollee_id=reader.pk, channel="email") == 0
    assert len(mail.outbox) == 1
    assert Delivery.objects.get(message=first, enrollee=other).status == DeliveryStatus.QUEUED
    assert second.deliveries.count() == 1


def test_its_unsubscribe_link_turns_off_every_kind_it_carried(client, publish, reader):
    publish(kind="security")
    publish(kind="weather")
    tasks.send_digests()
    token = Delivery.objects.filter(enrollee=reader).order_by("pk").first().token
    client.post(f"/es/lima/m/unsubscribe/{token}/")
    choices = set(reader.message_preferences.filter(channel="email").values_list("kind", "enabled"))
    assert choices == {("security", False), ("weather", False)}


def test_a_claimed_digest_is_not_sent_by_a_second_worker(publish, reader):
    publish(kind="security")
    held = services.digest_claim(enrollee_id=reader.pk, channel="email", worker="first:1:a")
    assert services.digest_claimed(held).count() == 1
    assert sending.digest_send(enrollee_id=reader.pk, channel="email") == 0
    assert mail.outbox == []
    assert services.digest_recipients() == []  # claimed, and the claim is fresh


def test_a_dead_workers_digest_claim_expires(publish, reader, settings):
    publish(kind="security")
    services.digest_claim(
        enrollee_id=reader.pk,
        channel="email",
        worker="dead:1:a",
        now=timezone.now() - timedelta(hours=1),
    )
    assert services.digest_recipients() == [(reader.pk, "email")]
    assert sending.digest_send(enrollee_id=reader.pk, channel="email") == 1
    assert len(mail.outbox) == 1


def test_a_refused_digest_waits_for_the_next_run(publish, reader, smtp):
    smtp.answers[reader.email] = (452, "4.2.2 Mailbox full")
    publish(kind="security")
    assert sending.digest_send(enrollee_id=reader.pk, channel="email") == 0
    row = Delivery.objects.get(enrollee=reader)
    assert (row.status, row.claimed_by) == (DeliveryStatus.DIGEST, "")
    assert row.error == "SMTP 452: 4.2.2 Mailbox full"
    del smtp.answers[reader.email]
    assert sending.digest_send(enrollee_id=reader.pk, channel="email") == 1
    assert smtp.counts() == {reader.email: 1}


def test_a_text_digest_is_one_text(publish, in_cusco, texts):
    from acs.enrollment.services.profile import PhoneData, phones_set

    person = in_cusco()
    phones_set(
        enrollee=person,
        phones=[PhoneData(public_id=None, number="+51987654321", sms_capable=True)],
    )
    preferences_set(
        enrollee=person,
        choices={"weather": KindChoice(email=False, sms=True, delivery="digest")},
    )
    publish(kind="weather", title_en="Heavy rain")
    publish(kind="weather", title_en="Floods")
    assert tasks.send_digests() == 1
    [(to, body, _reference)] = texts
    assert to == "+51987654321"
    assert "2 new messages" in body and "- Heavy rain" in body and "- Floods" in body
    assert set(Delivery.objects.filter(enrollee=person).values_list("status", flat=True)) == {
        DeliveryStatus.SENT
    }
