"""Every kind of link a person is sent names the post of the record it is about, however the
worker that builds it was started (acs/posts/routing.py ``post_override``)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from django.contrib.auth.models import User

from acs.alerts import letters
from acs.alerts.services import messages as message_services
from acs.appointments import services as booking_services
from acs.appointments.emails import booking_message, priority_url
from acs.appointments.models import Service
from acs.enrollment.emails import enrollee_message
from tests.enrollment.factories import verified_enrollee
from tests.staff.conftest import permissions_give

SITE = "https://acs.example.gov"
TOKEN = "0f0e0d0c-0b0a-4909-8807-060504030201"  # noqa: S105 — a made-up link token
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # a Tuesday
LINK = re.compile(r"https://acs\.example\.gov(/[^\s\"<>]*)")


@pytest.fixture(autouse=True)
def _site(settings):
    settings.ACS_SITE_URL = SITE


def site_links(*texts: str) -> set[str]:
    return {path for text in texts for path in LINK.findall(text)}


def bodies(email) -> list[str]:
    return [email.body, *(content for content, _type in email.alternatives)]


@pytest.mark.parametrize("language", ["en", "es"])
def test_booking_emails_link_to_the_bookings_post(quito, language):
    service = Service.objects.get(post=quito, slug="quito-notarial")
    booking = booking_services.booking_create(
        service=service,
        starts_at=datetime(2026, 12, 2, 14, 0, tzinfo=UTC),  # 09:00 in Quito
        people=[booking_services.PersonData(full_name="Ana", date_of_birth=date(1980, 5, 1))],
        email="ana@example.org",
        phone="+593 99 123 4567",
        language=language,
        now=NOW,
    )
    links = site_links(*bodies(booking_message(booking, "confirmation")))
    links |= site_links(priority_url(booking, "a-token"))
    assert f"/{language}/quito/appointments/manage/{booking.token}/" in links
    assert all(link.startswith(f"/{language}/quito/") for link in links), links


@pytest.mark.parametrize(
    "kind", ["verify", "sign_in_link", "password_reset", "already_enrolled", "idle_warning"]
)
def test_account_emails_link_to_the_enrollees_post(quito, kind):
    person = verified_enrollee(quito, language="es")
    links = site_links(*bodies(enrollee_message(person, kind)))
    assert links, kind
    assert all(link.startswith("/es/quito/enroll/") for link in links), links


def test_a_messages_email_and_text_link_to_its_post(quito):
    author = User.objects.create_user(username="drafter")
    permissions_give(author, ["alerts.draft_message", "alerts.approve_message"], quito)
    message = message_services.message_draft_create(
        post=quito,
        actor=User.objects.get(pk=author.pk),
        kind="emergency",
        title_en="Ash fall",
        title_es="Caída de ceniza",
        event_en="Ash fall in Quito.",
        event_es="Caída de ceniza en Quito.",
        regions=[quito.regions.order_by("code").first()],
        effective_from=NOW,
        effective_until=NOW.replace(day=3),
    )
    email = letters.letter(message, "en").email(to="a@example.org", token=TOKEN, message_id="<x@y>")
    links = site_links(*bodies(email), letters.sms_text(message, token=TOKEN, language="es"))
    assert f"/en/quito/m/unsubscribe/{TOKEN}/" in links
    assert f"/es/quito/m/welfare/{TOKEN}/safe/" in links
    assert f"/es/quito/m/welfare/{TOKEN}/help/" in links
    assert f"/en/quito/messages/{message.public_id}/" in links
    assert all("/quito/" in link for link in links), links
