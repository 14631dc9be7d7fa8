"""POST /api/v1/bookings: the happy path, every refusal by its code, and capacity."""

from __future__ import annotations

import base64
import json
from datetime import date, timedelta

import pytest
from django.db.models import Sum
from django.test import Client
from django.utils import timezone

from acs.appointments.models import Booking, BookingPerson
from tests.api.helpers import (
    ANA,
    API,
    booking_body,
    error_of,
    post_json,
    service_create,
    slot_keys,
    solved_challenge,
)
from tests.core.outbox import booking_emails, hold_emails

pytestmark = pytest.mark.django_db

BRUNO = {"full_name": "Bruno Díaz", "date_of_birth": "1990-01-31", "passport_number": "A12345678"}
CARLA = {"full_name": "Carla Rojas", "date_of_birth": "2015-07-02"}


@pytest.fixture(autouse=True)
def queued_emails(monkeypatch):
    """Booking emails are written to the outbox (docs/mail.md) and not sent."""
    hold_emails(monkeypatch)


def book(client: Client, start: str, *, slug: str = "passport-renewal", **fields):
    return post_json(client, booking_body(client, service=slug, start=start, **fields))


# The happy path ---------------------------------------------------------------------------


def test_a_booking_is_made_and_answers_only_with_what_the_caller_sent(
    client, service, queued_emails, django_capture_on_commit_callbacks
):
    start = slot_keys(client, service.slug)[0]
    with django_capture_on_commit_callbacks(execute=True):
        response = book(client, start, people=[ANA, CARLA], phone="987 654 321")
    assert response.status_code == 201, response.content
    assert "no-cache" in response["Cache-Control"]
    data = response.json()
    assert set(data) == {"code", "manage_token", "service", "start", "local", "people"}
    assert data["start"] == start
    assert data["local"].endswith("-05:00")
    assert data["people"] == [{"full_name": "Ana Quispe"}, {"full_name": "Carla Rojas"}]

    booking = Booking.objects.get(code=data["code"])
    assert booking.token == data["manage_token"]
    assert booking.people_count == 2
    assert booking.phone == "+51987654321"  # the national form, read as Peruvian
    assert booking.email == "ana@example.org"
    assert booking_emails() == [(booking.pk, "confirmation")]


def test_booking_needs_no_csrf_token_and_sets_no_cookie(service):
    strict = Client(enforce_csrf_checks=True)
    response = book(strict, slot_keys(strict, service.slug)[0])
    assert response.status_code == 201, response.content
    assert not response.cookies


def test_passport_numbers_are_normalised(client, service):
    start = slot_keys(client, service.slug)[0]
    person = {**ANA, "passport_number": " a1234-5678 "}
    assert book(client, start, people=[person]).status_code == 201
    assert BookingPerson.objects.get().passport_number == "A12345678"


def test_a_service_that_needs_the_benefits_notice_needs_it_acknowledged(client, lima):
    service_create(lima, slug="federal-benefits", seats=1, requires_benefits_ack=True)
    start = slot_keys(client, "federal-benefits")[0]
    error = error_of(book(client, start, slug="federal-benefits"), 400)
    assert error["fields"]["benefits_ack"]["code"] == "benefits_ack_required"
    response = book(client, start, slug="federal-benefits", benefits_ack=True)
    assert response.status_code == 201


# Field validation -------------------------------------------------------------------------

FUTURE = (timezone.now() + timedelta(days=3)).date().isoformat()


def ana(**changes) -> list[dict]:
    return [{**ANA, **changes}]


@pytest.mark.parametrize(
    ("fields", "path", "code"),
    [
        ({"service": None}, "service", "required"),
        ({"service": "visas"}, "service", "unknown_service"),
        ({"start": "tomorrow at nine"}, "start", "invalid_start"),
        ({"start": 1700000000}, "start", "invalid"),
        ({"people": []}, "people", "required"),
        ({"people": {"full_name": "Ana"}}, "people", "required"),
        ({"people": [ANA, BRUNO, CARLA, {**CARLA, "full_name": "Dora"}]}, "people", "people_count"),
        ({"people": ["Ana Quispe"]}, "people[0]", "invalid"),
        ({"people": ana(full_name="  ")}, "people[0].full_name", "required"),
        ({"people": ana(full_name="x" * 151)}, "people[0].full_name", "too_long"),
        ({"people": ana(date_of_birth="12/04/1985")}, "people[0].date_of_birth", "invalid_date"),
        ({"people": ana(date_of_birth="1899-12-31")}, "people[0].date_of_birth", "invalid_date"),
        ({"people": ana(date_of_birth=FUTURE)}, "people[0].date_of_birth", "future_date"),
        (
            {"people": [ANA, {**CARLA, "date_of_birth": None}]},
            "people[1].date_of_birth",
            "required",
        ),
        (
            {"people": ana(passport_number="12345678")},
            "people[0].passport_number",
            "invalid_passport",
        ),
        (
            {"people": ana(passport_number="AB1234567")},
            "people[0].passport_number",
            "invalid_passport",
        ),
        ({"email": ""}, "email", "required"),
        ({"email": "ana@"}, "email", "invalid_email"),
        ({"phone": "12"}, "phone", "invalid_phone"),
        ({"phone": "call me"}, "phone", "invalid_phone"),
        ({"phone": 51987654321}, "phone", "invalid"),
        ({"language": "fr"}, "language", "invalid_language"),
    ],
)
def test_each_wrong_field_is_named_with_its_code(client, service, fields, path, code):
    body = booking_body(client, service=service.slug, start=slot_keys(client, service.slug)[0])
    error = error_of(post_json(client, {**body, **fields}), 400)
    assert error["code"] == "invalid_fields"
    assert error["fields"][path]["code"] == code
    assert error["fields"][path]["message"]
    assert not Booking.objects.exists()


def test_all_wrong_fields_are_reported_at_once_and_the_proof_of_work_is_kept(client, service):
    start = slot_keys(client, service.slug)[0]
    body = booking_body(client, service=service.slug, start=start, email="x", phone="1")
    error = error_of(post_json(client, body), 400)
    assert set(error["fields"]) == {"email", "phone"}
    fixed = {**body, "email": "ana@example.org", "phone": "+51 987 654 321"}
    assert post_json(client, fixed).status_code == 201  # the same solution, not yet spent


def test_messages_follow_the_booking_language(client, service):
    start = slot_keys(client, service.slug)[0]
    error = error_of(book(client, start, language="es", email="ana@"), 400)
    assert error["fields"]["email"]["message"] != "Enter a valid email address."


@pytest.mark.parametrize("body", ["not json", "[1, 2]", ""])
def test_a_body_that_is_not_a_json_object_is_refused(client, service, body):
    assert error_of(post_json(client, body), 400)["code"] == "invalid_json"


def test_bookings_take_only_post(client, service):
    response = client.get(f"{API}/bookings")
    assert error_of(response, 405)["code"] == "method_not_allowed"
    assert response["Allow"] == "POST"


# Proof of work ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("altcha", "code"),
    [
        (None, "pow_missing"),
        ("", "pow_missing"),
        (7, "pow_missing"),
        ("bm90IGpzb24=", "pow_invalid"),
    ],
)
def test_a_missing_or_wrong_proof_of_work_is_refused(client, service, altcha, code):
    start = slot_keys(client, service.slug)[0]
    assert error_of(book(client, start, altcha=altcha), 400)["code"] == code
    assert not Booking.objects.exists()


def test_a_forged_solution_is_refused(client, service):
    start = slot_keys(client, service.slug)[0]
    solution = json.loads(base64.b64decode(solved_challenge(client)))
    solution["number"] += 1
    forged = base64.b64encode(json.dumps(solution).encode()).decode()
    assert error_of(book(client, start, altcha=forged), 400)["code"] == "pow_invalid"


def test_a_solution_works_once(client, service):
    first, second = slot_keys(client, service.slug)[:2]
    body = booking_body(client, service=service.slug, start=first)
    assert post_json(client, body).status_code == 201
    again = {**body, "start": second, "people": [BRUNO], "email": "bruno@example.org"}
    assert error_of(post_json(client, again), 400)["code"] == "pow_replayed"


# Rate limits ------------------------------------------------------------------------------


def test_too_many_attempts_from_one_address_are_refused(client, service, settings):
    settings.ACS_BOOKING_RATE_PER_ADDRESS = 2
    assert post_json(client, {}).status_code == 400
    assert post_json(client, {}).status_code == 400
    response = post_json(client, {})
    assert error_of(response, 429)["code"] == "rate_limited"
    assert 0 < int(response["Retry-After"]) <= 3601


def test_too_many_attempts_for_one_email_are_refused(client, service, settings):
    settings.ACS_BOOKING_RATE_PER_EMAIL = 1
    first, second = slot_keys(client, service.slug)[:2]
    assert book(client, first).status_code == 201
    response = book(client, second, people=[BRUNO], email=" ANA@example.org")
    assert error_of(response, 429)["code"] == "rate_limited"
    other = book(client, second, people=[BRUNO], email="bruno@example.org")
    assert other.status_code == 201


# Refusals from the booking service --------------------------------------------------------


def test_a_time_the_service_does_not_offer_is_refused(client, service):
    day = slot_keys(client, service.slug)[0][:10]
    error = error_of(book(client, f"{day}T05:00Z"), 400)  # midnight in Lima
    assert error["code"] == "not_offered"


def test_a_full_slot_is_taken_and_the_nearest_free_times_are_offered(client, service):
    keys = slot_keys(client, service.slug)
    assert book(client, keys[3], people=[ANA, BRUNO]).status_code == 201
    error = error_of(book(client, keys[3], people=[CARLA], email="carla@example.org"), 409)
    assert error["code"] == "taken"
    assert error["nearest"]
    assert keys[3] not in error["nearest"]
    assert set(error["nearest"]) & {keys[2], keys[4]}


def test_a_person_with_a_booking_cannot_book_again_and_learns_nothing_of_it(client, service):
    first, second = slot_keys(client, service.slug)[:2]
    assert book(client, first).status_code == 201
    stranger = {**ANA, "full_name": "Mallory Someone"}  # knows Ana's passport number only
    response = book(client, second, people=[stranger], email="mallory@example.org")
    error = error_of(response, 400)
    assert error["code"] == "already_booked"
    text = response.content.decode()
    assert "Ana" not in text
    assert first[:10] not in text


def test_a_person_whose_seat_waits_for_its_emailed_link_cannot_book_again(client, service):
    from acs.appointments.availability import parse_slot_key
    from acs.appointments.services.booking import PersonData
    from acs.appointments.services.emailhold import email_hold_create

    first, second = slot_keys(client, service.slug)[:2]
    email_hold_create(
        service=service,
        starts_at=parse_slot_key(first),
        people=[PersonData("Ana Quispe", date(1985, 4, 12), "123456789")],
        email="ana@example.org",
        phone="",
    )
    error = error_of(book(client, second), 400)
    assert error["code"] == "already_held" and "link we emailed" in error["message"]
    assert not Booking.objects.exists()


def test_the_same_person_twice_in_one_booking_is_refused(client, service):
    start = slot_keys(client, service.slug)[0]
    twin = {**ANA, "full_name": "ANA  QUISPE"}
    error = error_of(book(client, start, people=[ANA, twin]), 400)
    assert error["code"] == "duplicate_person"


# Capacity ---------------------------------------------------------------------------------


def test_capacity_is_never_exceeded_through_the_api(client, lima):
    service = service_create(lima, slug="notarial", seats=3, max_people=3)
    start = slot_keys(client, "notarial")[2]
    people = [
        {"full_name": f"Person {n}", "date_of_birth": "1980-01-01", "passport_number": f"{n:09d}"}
        for n in range(1, 8)
    ]
    statuses = [
        book(client, start, slug="notarial", people=[p], email=f"p{i}@example.org").status_code
        for i, p in enumerate(people[:2])
    ]
    too_many = book(client, start, slug="notarial", people=people[2:4], email="q@example.org")
    last_seat = book(client, start, slug="notarial", people=[people[4]], email="r@example.org")
    after = book(client, start, slug="notarial", people=[people[5]], email="s@example.org")

    assert statuses == [201, 201]
    assert error_of(too_many, 409)["code"] == "taken"
    assert last_seat.status_code == 201
    assert error_of(after, 409)["code"] == "taken"
    taken = Booking.objects.filter(service=service, status="booked").aggregate(
        n=Sum("people_count")
    )
    assert taken["n"] == 3
    days = client.get(f"{API}/services/notarial/availability").json()["days"]
    free = {slot["start"]: slot["free"] for day in days for slot in day["slots"]}
    assert free[start] == 0
