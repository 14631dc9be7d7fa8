"""Booking without JavaScript: the seat held for the emailed link, counted as taken, booked
once from the link, freed when nobody follows it; the one-per-person rule and the booking's
rate limits hold on this path too."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from acs.appointments import availability
from acs.appointments.constants import BookingStatus, HoldStatus
from acs.appointments.models import Booking, EmailHold, SeatHold
from acs.appointments.services import BookingError, booking_create
from acs.appointments.services.emailhold import (
    email_hold_confirm,
    email_hold_create,
    email_hold_expire,
    email_holds_expire,
)
from acs.appointments.services.holds import HoldError
from acs.appointments.services.waitlist import offer_expire, waitlist_sweep
from acs.core.models import AuditEntry, OutgoingEmail
from tests.appointments.factories import make_service, person
from tests.appointments.test_booking_pages import at_review, reach_review, seed_service  # noqa: F401
from tests.appointments.test_booking_pages import free_slots as free_page_slots
from tests.appointments.test_booking_pages import person as page_person
from tests.appointments.waitlist_helpers import NOW, PHONE, WEDNESDAY, wednesday
from tests.core.outbox import booking_emails, hold_emails

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_emails(monkeypatch):
    hold_emails(monkeypatch)


@pytest.fixture
def service(lima):
    """Two seats a half hour, 09:00–10:00 every day, nothing booked."""
    return make_service(post=lima, slug="nojs", seats=2, max_people=3)


def first_slot(service):
    return wednesday(service)[0].starts_at


def hold(service, *numbers, starts_at=None, email="holder@example.org", now=NOW) -> EmailHold:
    return email_hold_create(
        service=service,
        starts_at=starts_at or first_slot(service),
        people=[person(number) for number in numbers],
        email=email,
        phone=PHONE,
        now=now,
    )


def free(service, starts_at) -> int:
    slot = availability.slot_offered(service, starts_at, now=NOW)
    return 0 if slot is None else slot.free


def test_a_held_seat_counts_as_taken_for_everyone_else(service):
    starts_at = first_slot(service)
    held = hold(service, 1)
    assert held.hold.status == HoldStatus.HELD
    assert held.hold.expires_at == NOW + timedelta(minutes=15)
    assert not Booking.objects.exists()
    assert free(service, starts_at) == 1
    # The booking path's count under the lock sees it: two more people do not fit.
    with pytest.raises(BookingError) as refused:
        booking_create(
            service=service,
            starts_at=starts_at,
            people=[person(2), person(3)],
            email="other@example.org",
            phone=PHONE,
            now=NOW,
        )
    assert refused.value.code == "taken"
    # Nor does a second hold of two.
    with pytest.raises(BookingError) as refused:
        hold(service, 4, 5, email="third@example.org")
    assert refused.value.code == "taken"


def test_the_link_is_emailed_and_is_unguessable(service):
    held = hold(service, 1)
    [row] = OutgoingEmail.objects.filter(kind="appointments.email_hold")
    assert row.to == "holder@example.org"
    assert row.arguments == {"email_hold_id": held.pk}
    assert len(held.hold.token) >= 32 and not held.hold.token.isdigit()  # 192 random bits
    assert AuditEntry.objects.filter(action="acs.email_hold.created").count() == 1


def test_confirming_books_once_and_sends_the_ordinary_confirmation(service):
    held = hold(service, 1, 2)
    booking = email_hold_confirm(hold=held.hold, now=NOW + timedelta(minutes=5))
    assert booking.status == BookingStatus.BOOKED
    assert booking.people_count == 2 and booking.email == "holder@example.org"
    assert booking_emails() == [(booking.pk, "confirmation")]
    held.refresh_from_db()
    held.hold.refresh_from_db()
    assert held.booking == booking and held.hold.status == HoldStatus.CLAIMED
    assert not held.people.filter(active=True).exists()
    # The seats moved from the hold to the booking: still two taken, not four.
    assert free(service, booking.starts_at) == 0
    # Again (a second click, the link opened twice): the same booking, nothing new.
    again = email_hold_confirm(hold=held.hold, now=NOW + timedelta(minutes=6))
    assert again == booking
    assert Booking.objects.count() == 1
    assert booking_emails() == [(booking.pk, "confirmation")]


def test_an_unfollowed_hold_expires_and_frees_the_seat(service):
    starts_at = first_slot(service)
    held = hold(service, 1, 2)
    assert free(service, starts_at) == 0
    later = NOW + timedelta(minutes=16)
    assert email_holds_expire(now=NOW + timedelta(minutes=14)) == 0  # not yet
    assert email_holds_expire(now=later) == 1
    assert email_holds_expire(now=later) == 0  # repeating it changes nothing
    held.hold.refresh_from_db()
    assert held.hold.status == HoldStatus.EXPIRED
    assert free(service, starts_at) == 2
    assert AuditEntry.objects.filter(action="acs.email_hold.expired").count() == 1
    # The link now says so, and books nothing.
    with pytest.raises(HoldError) as refused:
        email_hold_confirm(hold=held.hold, now=later)
    assert refused.value.code == "expired"
    assert not Booking.objects.exists()
    # Someone else books the freed seats.
    booking_create(
        service=service,
        starts_at=starts_at,
        people=[person(7), person(8)],
        email="next@example.org",
        phone=PHONE,
        now=later,
    )


def test_a_link_followed_too_late_books_nothing_even_before_the_sweep(service):
    held = hold(service, 1)
    with pytest.raises(HoldError) as refused:
        email_hold_confirm(hold=held.hold, now=NOW + timedelta(minutes=15))
    assert refused.value.code == "expired"
    assert not Booking.objects.exists()


def test_one_person_cannot_hold_two_seats_of_a_service(service):
    hold(service, 1)
    other_time = wednesday(service)[1].starts_at
    with pytest.raises(BookingError) as refused:
        hold(service, 1, starts_at=other_time, email="someone-else@example.org")
    assert refused.value.code == "already_held"
    # Nothing about the first hold is told to another address.
    assert "already held" in refused.value.message
    assert SeatHold.objects.filter(status=HoldStatus.HELD).count() == 1


def test_once_a_hold_lapsed_its_people_can_hold_again_at_once(service):
    hold(service, 1)
    later = NOW + timedelta(minutes=20)  # lapsed, and the sweep has not run yet
    again = hold(service, 1, starts_at=wednesday(service)[1].starts_at, now=later)
    assert again.hold.status == HoldStatus.HELD
    assert SeatHold.objects.filter(status=HoldStatus.HELD).count() == 1


def test_someone_already_booked_cannot_hold(service):
    booking_create(
        service=service,
        starts_at=first_slot(service),
        people=[person(1)],
        email="holder@example.org",
        phone=PHONE,
        now=NOW,
    )
    with pytest.raises(BookingError) as refused:
        hold(service, 1, starts_at=wednesday(service)[1].starts_at)
    assert refused.value.code == "already_booked"


def test_a_person_holding_a_seat_cannot_book_another_the_usual_way(service):
    """One seat per person: while the hold waits for its link, the JavaScript path (pages
    and API alike) refuses the same person another time, without naming the hold's."""
    held = hold(service, 1)
    with pytest.raises(BookingError) as refused:
        booking_create(
            service=service,
            starts_at=wednesday(service)[1].starts_at,
            people=[person(1)],
            email="someone-else@example.org",
            phone=PHONE,
            now=NOW,
        )
    assert refused.value.code == "already_held" and "link we emailed" in refused.value.message
    assert not Booking.objects.exists()
    # The hold's own link still books it; then the person is booked, as any other.
    email_hold_confirm(hold=held.hold, now=NOW + timedelta(minutes=1))
    assert Booking.objects.get().starts_at == first_slot(service)
    # Once the hold lapses, nothing of it stands in the way.
    other = hold(service, 2, email="other@example.org")
    email_hold_expire(hold_id=other.hold.pk, now=NOW + timedelta(minutes=16))
    booking_create(
        service=service,
        starts_at=wednesday(service)[1].starts_at,
        people=[person(2)],
        email="other@example.org",
        phone=PHONE,
        now=NOW + timedelta(minutes=16),
    )


def test_the_hold_never_outlasts_the_last_moment_to_book(lima):
    service = make_service(post=lima, slug="notice", min_notice_hours=24)
    starts_at = availability.slots_between(service, WEDNESDAY, WEDNESDAY, now=NOW)[WEDNESDAY][0]
    close = starts_at.starts_at - timedelta(hours=24, minutes=5)
    held = hold(service, 1, starts_at=starts_at.starts_at, now=close)
    assert held.hold.expires_at == starts_at.starts_at - timedelta(hours=24)


def test_the_waitlist_leaves_these_holds_alone(service):
    held = hold(service, 1)
    later = NOW + timedelta(minutes=30)
    assert offer_expire(hold_id=held.hold_id, now=later) is False
    waitlist_sweep(now=later)
    held.hold.refresh_from_db()
    assert held.hold.status == HoldStatus.HELD  # ended by email_holds_expire, not the waitlist
    assert email_hold_expire(hold_id=held.hold_id, now=later) is True


# The pages ----------------------------------------------------------------------------------


def url(name: str, language: str = "en", **kwargs) -> str:
    with translation.override(language):
        return reverse(f"appointments:{name}", kwargs=kwargs)


@pytest.fixture
def page_service(lima):
    return seed_service(lima)


@pytest.fixture
def pow_on(settings):
    settings.ACS_POW_ENABLED = True


def test_the_review_offers_the_email_path_only_without_script(client, page_service, pow_on):
    slot = free_page_slots(page_service)[0]
    review = reach_review(client, page_service, slot, [page_person()]).content.decode()
    noscript = review.split("<noscript>")[1].split("</noscript>")[0]
    assert 'name="nojs"' in noscript
    assert "email a link to ana@example.org" in noscript
    assert "altcha-widget" in review.split("<noscript>")[0]


def test_without_script_the_review_holds_and_says_check_your_email(client, page_service, pow_on):
    slot = free_page_slots(page_service)[0]
    reach_review(client, page_service, slot, [page_person(passport="123456789")])
    response = client.post(url("review", service=page_service.slug), {"nojs": "1"})
    assert response.status_code == 302
    assert response["Location"] == url("email_hold_sent", service=page_service.slug)
    assert not Booking.objects.exists()
    held = EmailHold.objects.get()
    assert held.hold.starts_at == slot.starts_at
    page = client.get(response["Location"]).content.decode()
    assert "Check your email" in page and "ana@example.org" in page
    # The link: a page to confirm, then the booking.
    link = url("email_hold", token=held.hold.token)
    assert "Confirm the appointment" in client.get(link).content.decode()
    confirmed = client.post(link)
    booking = Booking.objects.get()
    assert confirmed["Location"].endswith("?new=1") and booking.token in confirmed["Location"]
    # Used again: plainly said, with the way to the appointment, and nothing new.
    again = client.get(link)
    assert again.status_code == 200
    assert "already been used" in again.content.decode()
    assert client.post(link).status_code == 302
    assert Booking.objects.count() == 1


def test_over_the_cap_the_review_says_to_try_again_or_call(client, page_service, pow_on, settings):
    settings.ACS_BOOKING_HOLDS_MOST = 0
    reach_review(client, page_service, free_page_slots(page_service)[0], [page_person()])
    response = client.post(url("review", service=page_service.slug), {"nojs": "1"})
    assert response.status_code == 400
    assert "try again in a few minutes" in response.content.decode()
    assert not EmailHold.objects.exists() and not SeatHold.objects.exists()


def test_a_review_without_script_or_solution_is_still_refused(client, page_service, pow_on):
    """The JavaScript path is unchanged: a form with neither is told to wait for the check."""
    reach_review(client, page_service, free_page_slots(page_service)[0], [page_person()])
    response = client.post(url("review", service=page_service.slug), {})
    assert response.status_code == 400
    assert "anti-robot check" in response.content.decode()
    assert not EmailHold.objects.exists()


def test_the_email_path_counts_against_the_booking_rate_limit(
    client, page_service, pow_on, settings
):
    settings.ACS_BOOKING_RATE_PER_EMAIL = 1
    slots = free_page_slots(page_service)
    reach_review(client, page_service, slots[0], [page_person(passport="123456789")])
    assert client.post(url("review", service=page_service.slug), {}).status_code == 400
    response = client.post(url("review", service=page_service.slug), {"nojs": "1"})
    assert response.status_code == 429
    assert not EmailHold.objects.exists()


@pytest.mark.parametrize("language", ["en", "es"])
def test_an_expired_link_says_so_in_plain_words(client, service, language):
    held = hold(service, 1)
    held.hold.expires_at = timezone.now() - timedelta(minutes=1)  # the pages read the clock
    held.hold.save(update_fields=["expires_at"])
    response = client.get(url("email_hold", language, token=held.hold.token))
    assert response.status_code == 410
    words = {"en": "This link has expired", "es": "Este enlace ha vencido"}[language]
    assert words in response.content.decode()
    assert client.post(url("email_hold", language, token=held.hold.token)).status_code == 410
    assert not Booking.objects.exists()


def test_an_unknown_link_shows_nothing(client, service):
    hold(service, 1)
    assert client.get(url("email_hold", token="not-a-token")).status_code == 404


def test_no_more_people_of_a_service_are_held_than_the_cap(service, settings):
    """The path skips the proof of work: a robot from many addresses can hold no more."""
    settings.ACS_BOOKING_HOLDS_MOST = 3
    slots = wednesday(service)
    hold(service, 1, 2, starts_at=slots[0].starts_at, email="a@example.org")
    with pytest.raises(BookingError) as refused:
        hold(service, 3, 4, starts_at=slots[1].starts_at, email="b@example.org")
    assert refused.value.code == "holds_full" and "call us" in refused.value.message
    assert SeatHold.objects.count() == 1 and free(service, slots[1].starts_at) == 2
    hold(service, 3, starts_at=slots[1].starts_at, email="b@example.org")  # room for one
    # Holds that lapsed leave room under the cap, even before the sweep ends them.
    later = NOW + timedelta(minutes=16)
    hold(service, 5, 6, starts_at=slots[2].starts_at, email="c@example.org", now=later)
