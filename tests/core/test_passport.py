"""The one passport rule (``acs.core.forms.passport``): the same number, typed however a
person types it, is stored the same through the booking pages, the enrollment profile and
the API, and is one person for the one-booking rule."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from acs.appointments.models import BookingPerson
from acs.appointments.services import PersonData, identity_key
from acs.core.forms.passport import (
    PassportField,
    is_other_passport,
    is_us_passport,
    normalize_passport,
)
from tests.api.helpers import ANA, booking_body, post_json, service_create, slot_keys
from tests.core.outbox import hold_emails
from tests.enrollment.factories import verified_enrollee
from tests.enrollment.selfservice import ACCOUNT, signed_in

# One number as people type it: lower case, grouped by spaces, a hyphen, an en dash.
TYPED = [" a1234-5678 ", "a1234 5678", "A1234–5678", "a12345678"]
STORED = "A12345678"


@pytest.fixture(autouse=True)
def _quiet(monkeypatch, settings):
    hold_emails(monkeypatch)
    settings.ACS_POW_ENABLED = False


# The rule itself ---------------------------------------------------------------------------


@pytest.mark.parametrize("typed", TYPED)
def test_separators_and_case_are_normalised(typed):
    assert normalize_passport(typed) == STORED


def test_other_characters_are_kept_so_that_the_check_shows_them():
    assert normalize_passport("123.456.789") == "123.456.789"
    assert not is_us_passport(normalize_passport("123.456.789"))


@pytest.mark.parametrize(
    ("number", "us", "other"),
    [
        ("123456789", True, True),
        ("A12345678", True, True),
        ("12345678", False, True),
        ("AB1234567", False, True),
        ("X1234", False, True),
        ("X123", False, False),
        ("123.456.789", False, False),
    ],
)
def test_what_a_us_and_another_passport_look_like(number, us, other):
    assert (is_us_passport(number), is_other_passport(number)) == (us, other)


def test_the_field_normalises_and_refuses_a_number_that_is_not_a_us_one():
    field = PassportField()
    assert field.clean(" a1234-5678 ") == STORED
    assert field.clean("") == ""
    with pytest.raises(ValidationError) as refused:
        field.clean("12")
    assert refused.value.code == "passport"
    assert PassportField(us_only=False).clean("x 1234") == "X1234"


def test_the_service_counts_a_typed_number_as_the_stored_one():
    born = ANA["date_of_birth"]
    keys = {identity_key(PersonData("Ana", born, typed), email="a@example.org") for typed in TYPED}
    assert keys == {identity_key(PersonData("Ana", born, STORED), email="b@example.org")}


# The same number through each way in -------------------------------------------------------


def _booked_through_the_pages(client, service, typed: str) -> str:
    slug = service.slug
    base = f"/en/lima/appointments/{slug}/"
    assert client.post(base, {"policy": "on"}).status_code == 302
    start = slot_keys(client, slug)[0]
    assert client.post(base + "when/", {"people": 1, "slot": start}).status_code == 302
    people = {
        "person-TOTAL_FORMS": "1",
        "person-INITIAL_FORMS": "0",
        "person-MIN_NUM_FORMS": "1",
        "person-MAX_NUM_FORMS": "1",
        "person-0-full_name": "Ana Quispe",
        "person-0-date_of_birth_day": "12",
        "person-0-date_of_birth_month": "4",
        "person-0-date_of_birth_year": "1985",
        "person-0-passport_number": typed,
        "contact-email": "ana@example.org",
        "contact-phone": "987 654 321",
    }
    response = client.post(base + "people/", people)
    assert response.status_code == 302, response.content.decode()
    assert client.post(base + "review/").status_code == 302
    return BookingPerson.objects.get(service=service).passport_number


def _booked_through_the_api(client, service, typed: str) -> str:
    start = slot_keys(client, service.slug)[0]
    body = booking_body(
        client,
        service=service.slug,
        start=start,
        people=[{**ANA, "passport_number": typed}],
    )
    assert post_json(client, body).status_code == 201
    return BookingPerson.objects.get(service=service).passport_number


def _saved_in_the_profile(post, typed: str) -> str:
    person = verified_enrollee(post, full_name="Ana Quispe", email="ana@example.org")
    browser = signed_in(person)
    form = browser.get(ACCOUNT + "profile/").context["form"]
    data = {
        "full_name": "Ana Quispe",
        "date_of_birth_day": "12",
        "date_of_birth_month": "4",
        "date_of_birth_year": "1985",
        "status": form.initial["status"],
        "email": person.email,
        "language": "en",
        "passport_number": typed,
    }
    response = browser.post(ACCOUNT + "profile/", data)
    assert response.status_code == 302, response.content.decode()
    person.refresh_from_db()
    return person.passport_number


@pytest.mark.parametrize("typed", TYPED)
def test_the_same_typing_is_stored_the_same_everywhere(client, lima, typed):
    # Two services: one person may hold one booking of each.
    pages, api = service_create(lima), service_create(lima, slug="notarial")
    assert _booked_through_the_pages(client, pages, typed) == STORED
    assert _booked_through_the_api(client, api, typed) == STORED
    assert _saved_in_the_profile(lima, typed) == STORED
