"""The request-round pages as a citizen uses them, in both languages, without JavaScript."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from acs.appointments.constants import RequestStatus
from acs.appointments.models import RoundRequest
from acs.appointments.services import rounds
from acs.core.models import OutgoingEmail
from tests.appointments.rounds import open_round, round_service
from tests.core.outbox import hold_emails

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _held(monkeypatch, settings):
    hold_emails(monkeypatch)
    settings.ACS_POW_ENABLED = False


@pytest.fixture
def service(lima):
    return round_service(lima)


@pytest.fixture
def round_(service):
    """A round opened an hour ago (the pages run on the real clock)."""
    return open_round(service, timezone.now() - timedelta(hours=1))


def url(name: str, language: str = "en", **kwargs) -> str:
    with translation.override(language):
        return reverse(f"appointments:{name}", kwargs=kwargs)


def form_data(round_, **change) -> dict:
    day = round_.first_day.isoformat()
    data = {
        "people": "1",
        "person-TOTAL_FORMS": "1",
        "person-INITIAL_FORMS": "0",
        "person-MIN_NUM_FORMS": "1",
        "person-MAX_NUM_FORMS": "1",
        "person-0-full_name": "Ana Pérez",
        "person-0-date_of_birth_day": "19",
        "person-0-date_of_birth_month": "1",
        "person-0-date_of_birth_year": "1990",
        "person-0-passport_number": "A12345678",
        "contact-email": "Ana@Example.org",
        "contact-phone": "987 654 321",
        "choice-TOTAL_FORMS": "5",
        "choice-INITIAL_FORMS": "0",
        "choice-MIN_NUM_FORMS": "0",
        "choice-MAX_NUM_FORMS": "5",
        "choice-0-day": day,
        "choice-0-part": "am",
    }
    data.update(change)
    return data


@pytest.mark.parametrize("language", ["en", "es"])
def test_request_confirm_and_see_it(client, service, round_, language):
    page = client.get(url("request", language, service=service.slug))
    assert page.status_code == 200
    assert round_.commitment not in page.content.decode()  # on the round's own page

    sent = client.post(url("request", language, service=service.slug), form_data(round_))
    assert sent.status_code == 200, re.findall(
        r"usa-alert__text\">(.*?)</", sent.content.decode(), re.S
    )
    assert "ana@example.org" in sent.content.decode()
    made = RoundRequest.objects.get()
    assert made.status == RequestStatus.UNCONFIRMED and made.language == language
    row = OutgoingEmail.objects.get(kind="appointments.round")
    assert row.arguments == {"request_id": made.pk, "kind": "confirm"}

    confirm_url = url("request-confirm", language, token=made.token)
    assert client.get(confirm_url).status_code == 200  # a mail scanner confirms nothing
    assert RoundRequest.objects.get().status == RequestStatus.UNCONFIRMED
    done = client.post(confirm_url)
    assert done.status_code == 302
    status = client.get(done["Location"])
    assert status.status_code == 200 and RoundRequest.objects.get().status == "confirmed"


def test_the_confirmation_email_carries_the_link(service, round_, mailoutbox, monkeypatch):
    from acs.appointments.round_emails import round_email_build

    made = rounds.request_create(
        round_=round_,
        people=[rounds.PersonData("Ana Pérez", timezone.now().date().replace(year=1990), "")],
        email="ana@example.org",
        phone="+51987654321",
        choices=[f"{round_.first_day}/any"],
        language="es",
    )
    message = round_email_build(request_id=made.pk, kind="confirm")
    assert made.token in message.body and message.to == ["ana@example.org"]
    rounds.request_confirm(token=made.token)
    assert round_email_build(request_id=made.pk, kind="confirm") is None


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"choice-0-day": ""}, "Choose at least one day"),
        ({"choice-0-day": "2001-01-01"}, "Choose a day from the list"),
        ({"person-0-full_name": ""}, "full name"),
        ({"contact-email": "not-an-email"}, "email address like"),
        ({"person-0-date_of_birth_day": "31", "person-0-date_of_birth_month": "2"}, "date"),
    ],
)
def test_bad_input_gets_plain_words_and_changes_nothing(client, service, round_, change, words):
    page = client.post(url("request", service=service.slug), form_data(round_, **change))
    assert page.status_code == 400
    assert words.lower() in page.content.decode().lower()
    assert not RoundRequest.objects.exists() and not OutgoingEmail.objects.exists()


def test_the_proof_of_work_and_rate_limits_apply(client, service, round_, settings):
    settings.ACS_POW_ENABLED = True
    page = client.post(url("request", service=service.slug), form_data(round_))
    assert page.status_code == 400 and "anti-robot" in page.content.decode()
    settings.ACS_POW_ENABLED = False
    settings.ACS_BOOKING_RATE_PER_ADDRESS = 2  # the refused attempt above counted too
    client.post(url("request", service=service.slug), form_data(round_))
    assert client.post(url("request", service=service.slug), form_data(round_)).status_code == 429
    assert RoundRequest.objects.count() == 1


def test_no_open_round_says_when_the_next_opens(client, service):
    page = client.get(url("request", service=service.slug))
    assert page.status_code == 200 and "next round opens" in page.content.decode()
    assert client.post(url("request", service=service.slug), {}).status_code == 400


def test_the_booking_pages_send_a_round_service_to_its_request_form(client, service):
    for name in ("service", "when", "review"):
        page = client.get(url(name, service=service.slug), follow=True)
        assert page.redirect_chain[-1][0] == url("request", service=service.slug)
        assert "not first come" in page.content.decode()
    start = client.get(url("start")).content.decode()
    assert url("request", service=service.slug) in start


def test_the_api_refuses_first_come_booking_in_plain_words(client, service, round_, settings):
    settings.ACS_POW_ENABLED = False
    response = client.post(
        "/api/v1/bookings",
        {
            "service": service.slug,
            "start": f"{round_.first_day}T14:00Z",
            "email": "ana@example.org",
            "phone": "+51987654321",
            "people": [{"full_name": "Ana Pérez", "date_of_birth": "1990-01-19"}],
        },
        content_type="application/json",
    )
    body = response.json()["error"]
    assert response.status_code == 400 and body["code"] == "by_request"
    assert "request" in body["message"] and body["request_url"].endswith("/request/")


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_round_page_shows_the_commitment_then_the_draw(client, service, round_, language):
    made = rounds.request_create(
        round_=round_,
        people=[rounds.PersonData("Ana Pérez", timezone.now().date().replace(year=1990), "")],
        email="ana@example.org",
        phone="+51987654321",
        choices=[f"{round_.first_day}/any"],
    )
    rounds.request_confirm(token=made.token)
    page = client.get(url("round", language, token=round_.token)).content.decode()
    assert round_.commitment in page and round_.seed not in page
    assert client.get(url("round-json", language, token=round_.token)).json()["seed"] is None

    rounds.round_draw(round_id=round_.pk, now=round_.closes_at)
    page = client.get(url("round", language, token=round_.token)).content.decode()
    assert round_.seed in page and round_.commitment in page
    published = client.get(url("round-json", language, token=round_.token))
    assert "attachment" in published["Content-Disposition"]
    assert published.json()["seed"] == round_.seed and published.json()["requests_count"] == 1
    assert "ana@example.org" not in published.content.decode()
    status = client.get(url("request-status", language, token=made.token)).content.decode()
    pseudonym = published.json()["requests"][0]["id"]
    assert pseudonym in status
    assert re.search(r"<title>[^<]+</title>", page)
    assert client.get(url("round", token="nope")).status_code == 404
