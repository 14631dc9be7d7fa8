"""The booking journey as a citizen walks it: service, requirements, time, people, review.

State is built through the services; times are picked from ``availability.slots_between``
for a service open every day with no minimum notice, so the tests do not depend on the day
they run.
"""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from acs.appointments import availability, services
from acs.appointments.models import Booking, BookingPerson, Closure, Service
from acs.core import pow as proof_of_work
from acs.core.clock import long_date
from tests.core.outbox import hold_emails

pytestmark = pytest.mark.django_db

EMAIL = "ana@example.org"
PHONE = "987 654 321"


@pytest.fixture(autouse=True)
def _no_booking_emails(monkeypatch):
    """The booking emails are tested on their own; here they are written and not sent."""
    hold_emails(monkeypatch)


@pytest.fixture(autouse=True)
def _pow_off(settings):
    settings.ACS_POW_ENABLED = False


def seed_service(post, *, slug="passport-renewal", benefits=False, seats=2, most=3) -> Service:
    services.services_seed(
        post=post,
        entries=[
            {
                "slug": slug,
                "order": 1,
                "duration_minutes": 30,
                "seats_per_slot": seats,
                "max_people": most,
                "horizon_days": 30,
                "min_notice_hours": 0,
                "requires_benefits_ack": benefits,
                "hours": [[day, "08:00", "12:00"] for day in range(7)],
                "name": {"en": "Adult passport renewal", "es": "Renovación de pasaporte"},
                "description": {"en": "For adults.", "es": "Para adultos."},
                "checklist": {
                    "en": ["Your current passport", "Form DS-82"],
                    "es": ["Su pasaporte actual", "El formulario DS-82"],
                },
            }
        ],
    )
    return Service.objects.select_related("post").get(post=post, slug=slug)


@pytest.fixture
def service(lima) -> Service:
    return seed_service(lima)


def free_slots(service: Service, *, people: int = 1) -> list[availability.Slot]:
    """Slots from the day after tomorrow on: far enough that none passes during a test."""
    today = timezone.now().astimezone(service.post.zone).date()
    days = availability.slots_between(
        service, today + timedelta(days=2), today + timedelta(days=20)
    )
    return [slot for slots in days.values() for slot in slots if slot.free >= people]


def url(name: str, language: str = "en", **kwargs) -> str:
    with translation.override(language):
        return reverse(f"appointments:{name}", kwargs=kwargs)


def person(name="Ana Torres", born="1980-05-01", passport=""):
    return {"full_name": name, "born": born, "passport": passport}


def people_form(people, *, email=EMAIL, phone=PHONE) -> dict[str, str]:
    data = {
        "person-TOTAL_FORMS": str(len(people)),
        "person-INITIAL_FORMS": "0",
        "person-MIN_NUM_FORMS": str(len(people)),
        "person-MAX_NUM_FORMS": str(len(people)),
        "contact-email": email,
        "contact-phone": phone,
    }
    for index, entry in enumerate(people):
        year, month, day = entry["born"].split("-")
        data |= {
            f"person-{index}-full_name": entry["full_name"],
            f"person-{index}-date_of_birth_day": day,
            f"person-{index}-date_of_birth_month": str(int(month)),
            f"person-{index}-date_of_birth_year": year,
            f"person-{index}-passport_number": entry["passport"],
        }
    return data


def reach_review(client, service, slot, people, *, language="en", **contact):
    """Walk the steps up to the review page; return its response."""
    slug = service.slug
    response = client.post(url("service", language, service=slug), {"policy": "on"})
    assert response.status_code == 302, response.content.decode()
    assert response["Location"] == url("when", language, service=slug)
    response = client.post(
        url("when", language, service=slug), {"people": len(people), "slot": slot.key}
    )
    assert response.status_code == 302, response.content.decode()
    assert response["Location"] == url("people", language, service=slug)
    response = client.post(url("people", language, service=slug), people_form(people, **contact))
    assert response.status_code == 302, response.content.decode()
    assert response["Location"] == url("review", language, service=slug)
    response = client.get(url("review", language, service=slug))
    assert response.status_code == 200
    return response


def challenge_in(response) -> proof_of_work.Challenge:
    match = re.search(r'challengejson="([^"]+)"', response.content.decode())
    assert match, "no proof-of-work widget on the page"
    return proof_of_work.Challenge(json=html.unescape(match.group(1)))


# The whole journey ---------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "es"])
def test_whole_journey_for_two_people(client, service, settings, language):
    settings.ACS_POW_ENABLED = True
    slug = service.slug

    start = client.get(url("start", language))
    assert start.status_code == 200
    page = start.content.decode()
    assert f'lang="{language}"' in page
    assert url("service", language, service=slug) in page
    assert url("find", language) in page
    assert ("Renovación de pasaporte" if language == "es" else "Adult passport renewal") in page

    requirements = client.get(url("service", language, service=slug))
    page = requirements.content.decode()
    assert requirements.status_code == 200
    assert ("Su pasaporte actual" if language == "es" else "Your current passport") in page
    assert f'href="/{language}/lima/access-policy/"' in page
    assert 'name="policy"' in page
    assert "usa-step-indicator" in page

    slot = free_slots(service, people=2)[0]
    client.post(url("service", language, service=slug), {"policy": "on"})
    times = client.get(url("when", language, service=slug), {"people": 2})
    page = times.content.decode()
    assert times.status_code == 200
    assert "UTC−05:00" in page
    assert "usa-radio__input--tile" in page
    local_day = slot.local.date().isoformat()
    times = client.get(url("when", language, service=slug), {"people": 2, "day": local_day})
    assert f'value="{slot.key}"' in times.content.decode()
    assert slot.local.strftime("%H:%M") in times.content.decode()

    review = reach_review(
        client,
        service,
        slot,
        [person("Ana Torres", "1980-05-01", "123456789"), person("Luis Torres", "2015-02-03")],
        language=language,
    )
    page = review.content.decode()
    assert "Ana Torres" in page and "Luis Torres" in page
    assert "Avenida La Encalada" in page
    assert EMAIL in page
    assert "+51 987 654 321" in page
    assert "altcha-widget" in page and "vendor/altcha/altcha.js" in page
    assert 'type="module"' in page
    assert "tel:+5116182000" in page  # the no-JavaScript way: call the post

    payload = proof_of_work.solve_for_tests(challenge_in(review))
    done = client.post(url("review", language, service=slug), {"altcha": payload})
    assert done.status_code == 302
    booking = Booking.objects.get()
    assert done["Location"] == url("manage", language, token=booking.token) + "?new=1"
    assert booking.starts_at == slot.starts_at
    assert booking.people_count == 2
    assert booking.language == language
    assert booking.phone == "+51987654321"
    assert booking.email == EMAIL
    people = list(BookingPerson.objects.filter(booking=booking).order_by("id"))
    assert [p.full_name for p in people] == ["Ana Torres", "Luis Torres"]
    assert people[0].passport_number == "123456789"
    assert people[1].date_of_birth == date(2015, 2, 3)

    manage = client.get(done["Location"])
    page = manage.content.decode()
    assert manage.status_code == 200
    assert booking.code in page
    if language == "en":
        assert f"Your appointment is booked. We sent a confirmation to {EMAIL}." in page
    else:
        assert EMAIL in page
    # The draft is gone: the review page now sends the citizen back to the start of the steps.
    assert client.get(url("review", language, service=slug)).status_code == 302


def test_start_lists_services_with_duration(client, service):
    page = client.get(url("start")).content.decode()
    assert "Adult passport renewal" in page
    assert "For adults." in page
    assert "About 30 minutes" in page
    assert "Already booked? Change or cancel" in page


def test_unknown_service_is_404(client, service):
    assert client.get(url("service", service="no-such-service")).status_code == 404


# Acknowledgements and the order of the steps ---------------------------------------------


def test_acknowledgement_required(client, service):
    response = client.post(url("service", service=service.slug), {})
    assert response.status_code == 400
    assert "Confirm that you have read the access policy." in response.content.decode()
    assert client.get(url("when", service=service.slug)).status_code == 302


def test_benefits_acknowledgement_required_when_the_service_asks(client, lima):
    benefits = seed_service(lima, slug="federal-benefits", benefits=True)
    page = client.get(url("service", service=benefits.slug)).content.decode()
    assert 'href="/en/lima/federal-benefits/"' in page
    assert "I have read the federal benefits information" in page

    response = client.post(url("service", service=benefits.slug), {"policy": "on"})
    assert response.status_code == 400
    assert "Confirm that you have read the federal benefits information." in (
        response.content.decode()
    )
    response = client.post(
        url("service", service=benefits.slug), {"policy": "on", "benefits": "on"}
    )
    assert response.status_code == 302


def test_skipping_steps_redirects_back_with_a_message(client, service):
    slug = service.slug
    for step in ("when", "people", "review"):
        response = client.get(url(step, service=slug))
        assert response.status_code == 302
        assert response["Location"] == url("service", service=slug)
    followed = client.get(url("review", service=slug), follow=True)
    assert "Please read the requirements and confirm them first." in followed.content.decode()

    client.post(url("service", service=slug), {"policy": "on"})
    assert client.get(url("people", service=slug))["Location"] == url("when", service=slug)
    slot = free_slots(service)[0]
    client.post(url("when", service=slug), {"people": 1, "slot": slot.key})
    assert client.get(url("review", service=slug))["Location"] == url("people", service=slug)
    # Posting the review directly books nothing either.
    assert client.post(url("review", service=slug), {}).status_code == 302
    assert not Booking.objects.exists()


def test_drafts_are_per_service(client, lima, service):
    other = seed_service(lima, slug="notarial")
    client.post(url("service", service=service.slug), {"policy": "on"})
    assert client.get(url("when", service=service.slug)).status_code == 200
    assert client.get(url("when", service=other.slug)).status_code == 302


# The times page ---------------------------------------------------------------------------


@pytest.fixture
def acknowledged(client, service):
    client.post(url("service", service=service.slug), {"policy": "on"})
    return client


def test_too_many_people_refused(acknowledged, service):
    slot = free_slots(service)[0]
    response = acknowledged.post(
        url("when", service=service.slug), {"people": service.max_people + 1, "slot": slot.key}
    )
    assert response.status_code == 400
    assert "Choose a number of people from the list." in response.content.decode()
    response = acknowledged.get(url("when", service=service.slug), {"people": 99})
    assert response.status_code == 400


def test_only_slots_with_room_for_everyone_are_offered(acknowledged, service):
    slot = free_slots(service)[0]
    services.booking_create(
        service=service,
        starts_at=slot.starts_at,
        people=[services.PersonData(full_name="Eva Ríos", date_of_birth=date(1970, 1, 1))],
        email="eva@example.org",
        phone="+51987000111",
    )
    day = slot.local.date().isoformat()
    for_one = acknowledged.get(url("when", service=service.slug), {"people": 1, "day": day})
    for_two = acknowledged.get(url("when", service=service.slug), {"people": 2, "day": day})
    assert f'value="{slot.key}"' in for_one.content.decode()
    assert f'value="{slot.key}"' not in for_two.content.decode()
    response = acknowledged.post(url("when", service=service.slug), {"people": 2, "slot": slot.key})
    assert response.status_code == 400
    assert "no longer has room for 2" in response.content.decode()


@pytest.mark.parametrize("when", ["past", "not_offered", "garbage"])
def test_past_or_non_offered_slot_refused(acknowledged, service, when):
    first = free_slots(service)[0]
    keys = {
        "past": (first.starts_at - timedelta(days=7)).strftime("%Y-%m-%dT%H:%MZ"),
        "not_offered": first.starts_at.replace(minute=17).strftime("%Y-%m-%dT%H:%MZ"),
        "garbage": "tomorrow at nine",
    }
    response = acknowledged.post(
        url("when", service=service.slug), {"people": 1, "slot": keys[when]}
    )
    assert response.status_code == 400
    assert "That time is not open for booking." in response.content.decode()
    assert acknowledged.get(url("people", service=service.slug)).status_code == 302


def test_a_closed_day_is_not_shown(acknowledged, service, lima):
    slot = free_slots(service)[0]
    closed_day = slot.local.date()
    opening = slot.local.replace(hour=0, minute=0)
    Closure.objects.create(
        post=lima,
        starts_at=opening,
        ends_at=opening + timedelta(days=1),
        reason_en="Staff training",
    )
    page = acknowledged.get(url("when", service=service.slug)).content.decode()
    assert f"day={closed_day.isoformat()}" not in page
    assert f"day={(closed_day + timedelta(days=1)).isoformat()}" in page
    asked = acknowledged.get(url("when", service=service.slug), {"day": closed_day.isoformat()})
    assert f'value="{slot.key}"' not in asked.content.decode()
    response = acknowledged.post(url("when", service=service.slug), {"people": 1, "slot": slot.key})
    assert response.status_code == 400


# The people page --------------------------------------------------------------------------


@pytest.fixture
def timed(acknowledged, service):
    slot = free_slots(service)[0]
    acknowledged.post(url("when", service=service.slug), {"people": 2, "slot": slot.key})
    return acknowledged


def test_people_page_has_one_form_per_person(timed, service):
    page = timed.get(url("people", service=service.slug)).content.decode()
    assert 'name="person-0-full_name"' in page
    assert 'name="person-1-full_name"' in page
    assert 'name="person-2-full_name"' not in page
    assert 'name="person-0-date_of_birth_day"' in page
    assert '<label class="usa-label" for="id_person-1-date_of_birth_year">' in page
    assert page.count('name="contact-email"') == 1


def test_malformed_passport_and_phone_refused_beside_the_fields(timed, service):
    data = people_form(
        [person(passport="12-345"), person("Luis Torres", passport="AB1234567")], phone="12"
    )
    response = timed.post(url("people", service=service.slug), data)
    page = response.content.decode()
    assert response.status_code == 400
    for field in ("person-0-passport_number", "person-1-passport_number", "contact-phone"):
        assert f'id="id_{field}-error"' in page
        assert f'href="#id_{field}"' in page  # the summary links to the field
    assert "A U.S. passport number has 9 characters" in page
    assert "Enter a phone number we can call." in page
    assert timed.get(url("review", service=service.slug)).status_code == 302
    assert not Booking.objects.exists()


def test_passport_and_phone_are_normalized(timed, service):
    data = people_form(
        [person(passport="a12 345-678"), person("Luis Torres", passport="987 654 321")],
        phone="+1 (202) 555-0143",
    )
    assert timed.post(url("people", service=service.slug), data).status_code == 302
    page = timed.get(url("review", service=service.slug)).content.decode()
    assert "A12345678" in page
    assert "987654321" in page
    assert "+1 202-555-0143" in page


@pytest.mark.parametrize(
    ("born", "message"),
    [
        ((date.today() + timedelta(days=2)).isoformat(), "cannot be in the future"),  # noqa: DTZ011
        ("1890-01-01", "more than 120 years ago"),
        ("1990-02-30", "That day does not exist."),
    ],
)
def test_bad_date_of_birth_refused(timed, service, born, message):
    data = people_form([person(born=born), person("Luis Torres")])
    response = timed.post(url("people", service=service.slug), data)
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert 'id="id_person-0-date_of_birth-error"' in page


def test_incomplete_date_of_birth_refused(timed, service):
    data = people_form([person(), person("Luis Torres")])
    data["person-1-date_of_birth_year"] = ""
    response = timed.post(url("people", service=service.slug), data)
    assert response.status_code == 400
    assert "Enter the full date of birth" in response.content.decode()


def test_more_person_forms_than_people_refused(timed, service):
    data = people_form([person(), person("Luis Torres"), person("Rosa Torres")])
    response = timed.post(url("people", service=service.slug), data)
    assert response.status_code == 400


# The review page: rate limits, proof of work, refusals -----------------------------------


@pytest.fixture
def at_review(client, service):
    slot = free_slots(service, people=2)[0]
    review = reach_review(client, service, slot, [person(passport="123456789")])
    return {"client": client, "slot": slot, "review": review}


@pytest.mark.parametrize("payload", [None, "", "bm90IGpzb24=", "!!!"])
def test_missing_or_malformed_proof_of_work_refused(at_review, service, settings, payload):
    settings.ACS_POW_ENABLED = True
    data = {} if payload is None else {"altcha": payload}
    response = at_review["client"].post(url("review", service=service.slug), data)
    assert response.status_code == 400
    assert "anti-robot check" in response.content.decode()
    assert "altcha-widget" in response.content.decode()  # a fresh challenge to solve
    assert not Booking.objects.exists()


def test_forged_proof_of_work_refused(client, service, settings):
    settings.ACS_POW_ENABLED = True
    review = reach_review(client, service, free_slots(service)[0], [person()])
    challenge = challenge_in(review)
    forged = proof_of_work.Challenge(
        json=challenge.json.replace('"signature": "', '"signature": "0')
    )
    response = client.post(
        url("review", service=service.slug), {"altcha": proof_of_work.solve_for_tests(forged)}
    )
    assert response.status_code == 400
    assert not Booking.objects.exists()


def test_replayed_proof_of_work_refused(client, service, settings):
    settings.ACS_POW_ENABLED = True
    slots = free_slots(service)
    review = reach_review(client, service, slots[0], [person()])
    payload = proof_of_work.solve_for_tests(challenge_in(review))
    first = client.post(url("review", service=service.slug), {"altcha": payload})
    assert first.status_code == 302

    reach_review(client, service, slots[1], [person("Rosa Díaz")], email="rosa@example.org")
    again = client.post(url("review", service=service.slug), {"altcha": payload})
    assert again.status_code == 400
    assert "already used" in again.content.decode()
    assert Booking.objects.count() == 1


def test_no_widget_when_proof_of_work_is_off(at_review):
    assert "altcha-widget" not in at_review["review"].content.decode()


def test_rate_limit_per_email_returns_429_and_books_nothing(at_review, service, settings):
    settings.ACS_POW_ENABLED = True
    settings.ACS_BOOKING_RATE_PER_EMAIL = 1
    client = at_review["client"]
    assert client.post(url("review", service=service.slug), {}).status_code == 400  # no PoW
    payload = proof_of_work.solve_for_tests(proof_of_work.challenge_create())
    response = client.post(url("review", service=service.slug), {"altcha": payload})
    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    assert not Booking.objects.exists()


def test_rate_limit_per_address_returns_429(at_review, service, settings):
    settings.ACS_BOOKING_RATE_PER_ADDRESS = 0
    response = at_review["client"].post(url("review", service=service.slug), {})
    assert response.status_code == 429
    assert not Booking.objects.exists()


def test_second_booking_for_the_same_passport_refused_naming_the_date(at_review, service):
    other = free_slots(service)[-1]
    existing = services.booking_create(
        service=service,
        starts_at=other.starts_at,
        people=[
            services.PersonData(
                full_name="Ana M. Torres",
                date_of_birth=date(1980, 5, 1),
                passport_number="123456789",
            )
        ],
        email=EMAIL,
        phone="+51987000111",
    )
    response = at_review["client"].post(url("review", service=service.slug), {})
    assert response.status_code == 400
    with translation.override("en"):
        day = long_date(existing.starts_at.astimezone(service.post.zone))
    assert "already has an appointment for this service on" in response.content.decode()
    assert day in response.content.decode()
    assert Booking.objects.count() == 1


def test_taken_slot_offers_the_nearest_times_with_409(at_review, service):
    slot = at_review["slot"]
    services.booking_create(
        service=service,
        starts_at=slot.starts_at,
        people=[
            services.PersonData(full_name=name, date_of_birth=date(1975, 3, 3))
            for name in ("Eva Ríos", "Juan Ríos")
        ],
        email="eva@example.org",
        phone="+51987000111",
    )
    client = at_review["client"]
    response = client.post(url("review", service=service.slug), {})
    page = response.content.decode()
    assert response.status_code == 409
    assert "that time was just taken" in page
    nearest = re.findall(r'name="slot" value="([^"]+)"', page)
    assert nearest and slot.key not in nearest
    assert f'action="{url("when", service=service.slug)}"' in page
    assert Booking.objects.count() == 1

    # Choosing one of them goes straight back to the review, people kept.
    chosen = client.post(url("when", service=service.slug), {"people": 1, "slot": nearest[0]})
    assert chosen["Location"] == url("review", service=service.slug)
    assert client.post(url("review", service=service.slug), {}).status_code == 302
    mine = Booking.objects.get(email=EMAIL)
    assert mine.starts_at == availability.parse_slot_key(nearest[0])


def test_pages_of_the_journey_have_titles_and_one_h1(client, service):
    slot = free_slots(service)[0]
    review = reach_review(client, service, slot, [person()])
    for response in (
        client.get(url("start")),
        client.get(url("service", service=service.slug)),
        client.get(url("when", service=service.slug)),
        client.get(url("people", service=service.slug)),
        review,
    ):
        assert response.content.decode().count("<h1") == 1
        assert 'style="' not in response.content.decode()


def test_fewer_person_forms_than_people_refused(timed, service):
    data = people_form([person(), person("Luis Torres")])
    data["person-TOTAL_FORMS"] = "1"
    response = timed.post(url("people", service=service.slug), data)
    assert response.status_code == 400
    assert "Please fill in the details of every person." in response.content.decode()


def test_times_page_query_count_is_pinned(acknowledged, service, django_assert_max_num_queries):
    with django_assert_max_num_queries(10):
        assert acknowledged.get(url("when", service=service.slug)).status_code == 200


def test_widget_markup(client, service, settings):
    settings.ACS_POW_ENABLED = True
    page = reach_review(client, service, free_slots(service)[0], [person()]).content.decode()
    widget = re.search(r"<altcha-widget [^>]*>", page).group(0)
    assert 'name="altcha"' in widget
    assert 'auto="onload"' in widget
    assert 'workerurl="/static/vendor/altcha/worker.js"' in widget
    strings = re.search(r'strings="([^"]+)"', widget).group(1)
    assert "I am not a robot" in html.unescape(strings)
    assert "<noscript>" in page
    # Without JavaScript the booking is confirmed by email (tests/appointments/test_email_hold.py).
    assert "We will confirm by email" in page.split("<noscript>")[1]
