"""POST /api/v1/posts/<post>/services/<slug>/requests: a request for a round's draw, as an
app sends it: taken unconfirmed, confirmed from its email, and every refusal by its code."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from acs.appointments.constants import RequestStatus
from acs.appointments.models import RoundRequest
from acs.appointments.services import rounds
from acs.core.models import OutgoingEmail
from tests.api.helpers import ANA, API, error_of, solved_challenge
from tests.appointments.rounds import open_round, round_service
from tests.core.outbox import hold_emails

pytestmark = pytest.mark.django_db

CARLA = {"full_name": "Carla Rojas", "date_of_birth": "2015-07-02"}


@pytest.fixture(autouse=True)
def _held(monkeypatch):
    hold_emails(monkeypatch)


@pytest.fixture
def service(lima):
    return round_service(lima)


@pytest.fixture
def round_(service):
    return open_round(service, timezone.now() - timedelta(hours=1))


def path(service, post: str = "lima") -> str:
    return f"{API}/posts/{post}/services/{service.slug}/requests"


def body(client: Client, round_, **change) -> dict:
    data = {
        "people": [ANA, CARLA],
        "email": "Ana@Example.org",
        "phone": "987 654 321",
        "language": "en",
        "choices": [{"day": round_.first_day.isoformat(), "part": "am"}] if round_ else [],
        "altcha": solved_challenge(client),
    }
    data.update(change)
    return data


def send(client: Client, service, data, **kwargs):
    return client.post(path(service, **kwargs), data, content_type="application/json")


def test_a_request_is_taken_unconfirmed_and_confirmed_from_its_email(client, service, round_):
    second = round_.first_day + timedelta(days=1)
    choices = [
        {"day": second.isoformat(), "part": "pm"},
        {"day": round_.first_day.isoformat()},
    ]
    response = send(client, service, body(client, round_, choices=choices))
    assert response.status_code == 202, response.content
    assert "no-cache" in response["Cache-Control"] and not response.cookies
    data = response.json()
    assert data["status"] == "unconfirmed" and data["email"] == "ana@example.org"
    assert [person["full_name"] for person in data["people"]] == ["Ana Quispe", "Carla Rojas"]
    assert data["choices"] == [
        {"day": second.isoformat(), "part": "pm"},
        {"day": round_.first_day.isoformat(), "part": "any"},
    ]
    assert data["round"]["commitment"] == round_.commitment
    assert data["round"]["url"].endswith(f"/rounds/{round_.token}/")
    made = RoundRequest.objects.get()
    # Only the emailed link carries the token: the address is proven by reading the email.
    assert made.token not in response.content.decode()
    assert made.status == RequestStatus.UNCONFIRMED and made.people.count() == 2
    email = OutgoingEmail.objects.get()
    assert email.to == "ana@example.org" and email.arguments["request_id"] == made.pk
    rounds.request_confirm(token=made.token)
    made.refresh_from_db()
    assert made.status == RequestStatus.CONFIRMED


def test_the_request_is_told_in_its_language(client, service, round_):
    response = send(client, service, body(client, round_, language="es", email="nope"))
    error = error_of(response, 400)
    assert error["fields"]["email"]["message"] == "Ingrese un correo electrónico válido."


def test_the_same_people_may_ask_again_and_the_confirmed_one_counts(client, service, round_):
    first = send(client, service, body(client, round_))
    second = send(client, service, body(client, round_, email="other@example.org"))
    assert (first.status_code, second.status_code) == (202, 202)
    for made in RoundRequest.objects.order_by("pk"):
        rounds.request_confirm(token=made.token)
    statuses = list(RoundRequest.objects.order_by("pk").values_list("status", flat=True))
    assert statuses == [RequestStatus.REPLACED, RequestStatus.CONFIRMED]


# Refusals ----------------------------------------------------------------------------------


def day_after(round_) -> str:
    return (round_.last_day + timedelta(days=1)).isoformat()


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"people": []}, "people", "required"),
        ({"people": [ANA] * 5}, "people", "people_count"),
        ({"people": [{"full_name": "Ana"}]}, "people[0].date_of_birth", "required"),
        ({"email": "ana"}, "email", "invalid_email"),
        ({"phone": "12"}, "phone", "invalid_phone"),
        ({"language": "fr"}, "language", "invalid_language"),
        ({"choices": []}, "choices", "required"),
        ({"choices": "monday"}, "choices", "required"),
        ({"choices": [{"day": "2027-01-01"}] * 6}, "choices", "too_many_choices"),
        ({"choices": [7]}, "choices[0]", "invalid"),
        ({"choices": [{"day": "Monday"}]}, "choices[0].day", "invalid_day"),
        ({"choices": [{"day": None}]}, "choices[0].day", "invalid_day"),
        ({"choices": [{"day": "9999-12-31"}]}, "choices[0].day", "invalid_day"),
        ({"choices": [{"day": "2027-01-14", "part": "night"}]}, "choices[0]", None),
    ],
)
def test_each_wrong_field_is_named_and_nothing_is_spent(
    client, service, round_, change, field, code
):
    data = body(client, round_, **change)
    error = error_of(send(client, service, data), 400)
    assert error["code"] == "invalid_fields"
    if code is None:  # a day outside the round, or a wrong part: one of the two is named
        assert any(name.startswith(field) for name in error["fields"])
    else:
        assert error["fields"][field]["code"] == code
    assert not RoundRequest.objects.exists()
    # The proof of work was not spent on a correctable mistake.
    fixed = {**body(client, round_), "altcha": data["altcha"]}
    assert send(client, service, fixed).status_code == 202


def test_a_day_outside_the_round_is_refused(client, service, round_):
    data = body(client, round_, choices=[{"day": day_after(round_)}])
    error = error_of(send(client, service, data), 400)
    assert error["fields"]["choices[0].day"]["code"] == "invalid_day"


@pytest.mark.parametrize("raw", [b"[1, 2]", b"not json", b"\xff\xfe", b'"text"'])
def test_a_body_that_is_not_a_json_object_is_refused(client, service, round_, raw):
    response = client.post(path(service), raw, content_type="application/json")
    assert error_of(response, 400)["code"] == "invalid_json"


@pytest.mark.parametrize(
    ("altcha", "code"),
    [
        (None, "pow_missing"),
        ("", "pow_missing"),
        ("bm90IGpzb24=", "pow_invalid"),
        (7, "pow_missing"),
    ],
)
def test_a_missing_or_wrong_proof_of_work_is_refused(client, service, round_, altcha, code):
    error = error_of(send(client, service, body(client, round_, altcha=altcha)), 400)
    assert error["code"] == code and not RoundRequest.objects.exists()


def test_a_solution_works_once(client, service, round_):
    data = body(client, round_)
    assert send(client, service, data).status_code == 202
    again = {**data, "email": "else@example.org", "people": [CARLA]}
    assert error_of(send(client, service, again), 400)["code"] == "pow_replayed"


def test_an_attempt_over_the_limit_is_told_so_first_whatever_its_proof_of_work(
    client, service, round_, settings
):
    settings.ACS_BOOKING_RATE_PER_ADDRESS = 2
    data = body(client, round_)
    assert send(client, service, data).status_code == 202
    # A wrong proof of work counts as an attempt too.
    wrong = error_of(send(client, service, body(client, round_, altcha="bm90aGluZw==")), 400)
    assert wrong["code"] == "pow_invalid"
    # Third attempt: the used solution would be refused, but the limit is what is told.
    again = {**data, "email": "else@example.org", "people": [CARLA]}
    assert error_of(send(client, service, again), 429)["code"] == "rate_limited"
    assert RoundRequest.objects.count() == 1


def test_a_forged_solution_is_refused(client, service, round_):
    payload = json.loads(base64.b64decode(solved_challenge(client)))
    payload["number"] += 1
    forged = base64.b64encode(json.dumps(payload).encode()).decode()
    assert error_of(send(client, service, body(client, round_, altcha=forged)), 400)["code"] in {
        "pow_invalid"
    }


def test_the_request_pages_limits_apply_per_address_and_per_email(
    client, service, round_, settings
):
    settings.ACS_BOOKING_RATE_PER_ADDRESS = 2
    for _ in range(2):
        assert send(client, service, body(client, round_, email="x")).status_code == 400
    response = send(client, service, body(client, round_))
    assert error_of(response, 429)["code"] == "rate_limited" and response["Retry-After"]
    settings.ACS_BOOKING_RATE_PER_ADDRESS = 100
    settings.ACS_BOOKING_RATE_PER_EMAIL = 1
    other = Client(REMOTE_ADDR="198.51.100.7")
    assert send(other, service, body(other, round_, email="b@example.org")).status_code == 202
    again = send(other, service, body(other, round_, email="B@example.org", people=[CARLA]))
    assert error_of(again, 429)["code"] == "rate_limited"


def test_an_ipv6_network_counts_as_one_address(service, round_, settings):
    settings.ACS_BOOKING_RATE_PER_ADDRESS = 1
    first = Client(REMOTE_ADDR="2001:db8:1:2::1")
    assert send(first, service, body(first, round_)).status_code == 202
    neighbour = Client(REMOTE_ADDR="2001:db8:1:2:ffff::9")
    data = body(neighbour, round_, email="n@example.org", people=[CARLA])
    assert error_of(send(neighbour, service, data), 429)["code"] == "rate_limited"


def test_an_unknown_or_first_come_service_or_post_is_a_json_404(client, service, round_, lima):
    from tests.api.helpers import service_create

    first_come = service_create(lima, slug="notarials")
    assert error_of(send(client, first_come, {}), 404)["code"] == "unknown_service"
    assert error_of(send(client, service, {}, post="atlantis"), 404)["code"] == "unknown_post"


def test_with_no_open_round_the_next_opening_is_named(client, service):
    error = error_of(send(client, service, body(client, None, choices=[])), 409)
    assert error["code"] == "no_open_round" and error["next_opens"].startswith("20")


def test_only_post_is_allowed(client, service, round_):
    response = client.get(path(service))
    assert error_of(response, 405)["code"] == "method_not_allowed"
    assert response["Allow"] == "POST"
