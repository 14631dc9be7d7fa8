"""The waitlist of first-come services: joining, offers in order, holds that block everyone
else, expiry that passes the seat on, claims through the booking path, leaving."""

from __future__ import annotations

from datetime import timedelta

import pytest

from acs.appointments import availability
from acs.appointments.constants import HoldStatus, WaitlistStatus
from acs.appointments.models import Booking, SeatHold, WaitlistEntry, WaitlistPerson
from acs.appointments.services import BookingError, booking_cancel, booking_reschedule
from acs.appointments.services.holds import HoldError
from acs.appointments.services.waitlist import (
    WaitlistError,
    offer_claim,
    slot_offer,
    waitlist_confirm,
    waitlist_join,
    waitlist_leave,
    waitlist_sweep,
)
from acs.core.models import AuditEntry, OutgoingEmail
from tests.appointments.factories import person
from tests.appointments.waitlist_helpers import (
    NOW,
    PHONE,
    THURSDAY,
    WEDNESDAY,
    book,
    full_service,
    waiting,
    wednesday,
)
from tests.core.outbox import booking_emails, hold_emails

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_emails(monkeypatch):
    hold_emails(monkeypatch)


@pytest.fixture
def service(lima):
    return full_service(lima)


def free_first_seat(service) -> Booking:
    """Cancel the booking of Wednesday's first slot; return it."""
    first = wednesday(service)[0].starts_at
    booking = Booking.objects.get(service=service, starts_at=first)
    return booking_cancel(booking=booking, now=NOW)


def waitlist_emails() -> list[tuple[int, str]]:
    return [
        (row.arguments["entry_id"], row.arguments["kind"])
        for row in OutgoingEmail.objects.filter(kind="appointments.waitlist").order_by("pk")
    ]


def actions(entry: WaitlistEntry) -> list[str]:
    return list(
        AuditEntry.objects.filter(object_type="appointments.waitlistentry", object_id=entry.pk)
        .order_by("pk")
        .values_list("action", flat=True)
    )


# Joining ------------------------------------------------------------------------------------


def test_a_request_counts_only_once_its_email_is_confirmed(service):
    entry = waitlist_join(
        service=service,
        days=[WEDNESDAY],
        people=[person(1)],
        email="Ana@Example.org",
        phone=PHONE,
        now=NOW,
    )
    assert entry.status == WaitlistStatus.UNCONFIRMED
    assert waitlist_emails() == [(entry.pk, "confirm")]
    assert len(entry.token) >= 32 and entry.email == "ana@example.org"
    free_first_seat(service)
    assert slot_offer(service=service, starts_at=wednesday(service)[0].starts_at, now=NOW) == []

    waitlist_confirm(entry=entry, now=NOW)
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.WAITING and entry.confirmed_at == NOW
    assert actions(entry) == ["acs.waitlist.joined", "acs.waitlist.confirmed"]
    # Confirming again (a second click) is harmless.
    assert waitlist_confirm(entry=entry, now=NOW).status == WaitlistStatus.WAITING


def test_a_confirmation_link_expires(service):
    entry = waitlist_join(
        service=service,
        days=[WEDNESDAY],
        people=[person(1)],
        email="a@example.org",
        phone=PHONE,
        now=NOW - timedelta(days=3),
    )
    with pytest.raises(WaitlistError) as refused:
        waitlist_confirm(entry=entry, now=NOW)
    assert refused.value.code == "expired"
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.UNCONFIRMED


@pytest.mark.parametrize(
    ("days", "code"),
    [
        ([], "days"),
        ([WEDNESDAY + timedelta(days=n) for n in range(6)], "days"),
        ([WEDNESDAY + timedelta(days=400)], "days"),
        ([WEDNESDAY - timedelta(days=2)], "days"),
    ],
)
def test_days_must_be_a_few_open_days_within_the_horizon(service, days, code):
    with pytest.raises(WaitlistError) as refused:
        waitlist_join(
            service=service,
            days=days,
            people=[person(1)],
            email="a@example.org",
            phone=PHONE,
            now=NOW,
        )
    assert refused.value.code == code
    assert not WaitlistEntry.objects.exists()


def test_people_already_booked_or_listed_twice_are_refused(service):
    for people, code in [
        ([person(1000)], "already_booked"),  # has Wednesday's first seat
        ([person(1), person(1)], "duplicate_person"),
        ([person(n) for n in range(4)], "people_count"),
    ]:
        with pytest.raises(WaitlistError) as refused:
            waitlist_join(
                service=service,
                days=[WEDNESDAY],
                people=people,
                email="a@example.org",
                phone=PHONE,
                now=NOW,
            )
        assert refused.value.code == code
    assert not WaitlistEntry.objects.exists()


def test_a_second_request_of_the_same_person_replaces_the_first(service):
    first = waiting(service, 1)
    second = waiting(service, 1, days=(THURSDAY,))
    first.refresh_from_db()
    assert first.status == WaitlistStatus.REPLACED
    assert second.status == WaitlistStatus.WAITING
    assert WaitlistPerson.objects.filter(service=service, active=True).count() == 1
    assert "acs.waitlist.replaced" in actions(first)


def test_an_unconfirmed_second_request_takes_nobodys_place(service):
    first = waiting(service, 1)
    waitlist_join(
        service=service,
        days=[THURSDAY],
        people=[person(1)],
        email="stranger@example.org",
        phone=PHONE,
        now=NOW,
    )
    first.refresh_from_db()
    assert first.status == WaitlistStatus.WAITING


# Offers -------------------------------------------------------------------------------------


def test_a_freed_seat_is_offered_to_the_first_in_line_whose_days_fit(service):
    thursday_only = waiting(service, 1, days=(THURSDAY,))
    first = waiting(service, 2, now=NOW + timedelta(minutes=1))
    second = waiting(service, 3, now=NOW + timedelta(minutes=2))
    freed = free_first_seat(service)

    [hold] = slot_offer(service=service, starts_at=freed.starts_at, now=NOW)

    assert hold.entry == first and hold.people_count == 1
    assert hold.expires_at == NOW + timedelta(minutes=120)
    assert len(hold.token) >= 32
    for entry, status in [
        (thursday_only, WaitlistStatus.WAITING),
        (first, WaitlistStatus.OFFERED),
        (second, WaitlistStatus.WAITING),
    ]:
        entry.refresh_from_db()
        assert entry.status == status
    assert (first.pk, "offer") in waitlist_emails()
    assert "acs.waitlist.offered" in actions(first)
    # Offering again offers nothing: the seat is held.
    assert slot_offer(service=service, starts_at=freed.starts_at, now=NOW) == []


def test_a_party_that_does_not_fit_is_passed_over(service):
    family = waiting(service, 1, people=2)
    single = waiting(service, 5, now=NOW + timedelta(minutes=1))
    freed = free_first_seat(service)
    [hold] = slot_offer(service=service, starts_at=freed.starts_at, now=NOW)
    assert hold.entry == single
    family.refresh_from_db()
    assert family.status == WaitlistStatus.WAITING


def test_a_held_seat_is_taken_for_everyone_else(service):
    waiting(service, 1)
    freed = free_first_seat(service)
    slot_offer(service=service, starts_at=freed.starts_at, now=NOW)

    [first, _second] = wednesday(service)
    assert first.starts_at == freed.starts_at and first.free == 0
    with pytest.raises(BookingError) as refused:
        book(service, freed.starts_at, 77)
    assert refused.value.code == "taken"
    # Moving into it is refused too.
    other = book(service, freed.starts_at + timedelta(days=1), 78)
    with pytest.raises(BookingError):
        booking_reschedule(booking=other, starts_at=freed.starts_at, now=NOW)


def test_a_cancellation_asks_the_waitlist_after_it_commits(
    service, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(
        "acs.appointments.services.holds.task_send",
        lambda name, *, args, queue, **options: sent.append((name, args)),
    )
    with django_capture_on_commit_callbacks(execute=True):
        freed = free_first_seat(service)
    assert sent == [
        ("acs.appointments.tasks.waitlist_offer", [service.pk, freed.starts_at.isoformat()])
    ]


def test_the_sweep_offers_seats_that_more_capacity_opened(service):
    entry = waiting(service, 1)
    service.seats_per_slot = 2
    service.save(update_fields=["seats_per_slot"])
    assert waitlist_sweep(now=NOW) == (0, 1)
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.OFFERED
    assert waitlist_sweep(now=NOW) == (0, 0)  # repeating it offers nothing more


def test_someone_who_booked_the_ordinary_way_is_not_offered(service):
    entry = waiting(service, 1, days=(WEDNESDAY, THURSDAY))
    booking = book(service, wednesday(service)[0].starts_at + timedelta(days=1), 1)
    freed = free_first_seat(service)
    assert slot_offer(service=service, starts_at=freed.starts_at, now=NOW) == []
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.BOOKED and entry.booking == booking


# Expiry -------------------------------------------------------------------------------------


def test_an_unclaimed_offer_passes_to_the_next_in_line(service):
    first = waiting(service, 1)
    second = waiting(service, 2, now=NOW + timedelta(minutes=1))
    freed = free_first_seat(service)
    [hold] = slot_offer(service=service, starts_at=freed.starts_at, now=NOW)

    assert waitlist_sweep(now=NOW + timedelta(minutes=119)) == (0, 0)
    assert waitlist_sweep(now=NOW + timedelta(minutes=120)) == (1, 0)

    hold.refresh_from_db()
    first.refresh_from_db()
    second.refresh_from_db()
    assert hold.status == HoldStatus.EXPIRED
    assert first.status == WaitlistStatus.LAPSED
    assert second.status == WaitlistStatus.OFFERED
    [passed_on] = SeatHold.objects.filter(status=HoldStatus.HELD)
    assert passed_on.entry == second and passed_on.starts_at == freed.starts_at
    assert (first.pk, "lapsed") in waitlist_emails()
    assert "acs.waitlist.offer_expired" in actions(first)
    # Never held for two at once, and still not bookable by others.
    assert wednesday(service)[0].free == 0


def test_a_seat_nobody_waits_for_any_more_is_free_again(service):
    waiting(service, 1)
    freed = free_first_seat(service)
    slot_offer(service=service, starts_at=freed.starts_at, now=NOW)
    waitlist_sweep(now=NOW + timedelta(hours=3))
    assert wednesday(service)[0].free == 1
    assert book(service, freed.starts_at, 77, now=NOW + timedelta(hours=3)).pk


def test_a_hold_never_outlasts_the_last_moment_to_book(lima):
    service = full_service(lima)
    service.min_notice_hours = 26  # the last moment to book is then an hour after NOW
    service.save(update_fields=["min_notice_hours"])
    waiting(service, 1)
    freed = free_first_seat(service)
    [hold] = slot_offer(service=service, starts_at=freed.starts_at, now=NOW)
    assert hold.expires_at == freed.starts_at - timedelta(hours=26) == NOW + timedelta(hours=1)


# Claims -------------------------------------------------------------------------------------


def test_a_claim_books_the_held_seat_through_the_booking_path(service):
    entry = waiting(service, 1, people=1)
    freed = free_first_seat(service)
    [hold] = slot_offer(service=service, starts_at=freed.starts_at, now=NOW)

    booking = offer_claim(hold=hold, now=NOW + timedelta(minutes=5))

    assert booking.starts_at == freed.starts_at and booking.email == "waiting1@example.org"
    assert [p.full_name for p in booking.people.all()] == ["Person Number1"]
    assert (booking.pk, "confirmation") in booking_emails()
    hold.refresh_from_db()
    entry.refresh_from_db()
    assert hold.status == HoldStatus.CLAIMED
    assert entry.status == WaitlistStatus.BOOKED and entry.booking == booking
    assert "acs.waitlist.claimed" in actions(entry)
    assert wednesday(service)[0].free == 0


def test_a_second_claim_is_refused_in_plain_words(service):
    waiting(service, 1)
    freed = free_first_seat(service)
    [hold] = slot_offer(service=service, starts_at=freed.starts_at, now=NOW)
    offer_claim(hold=hold, now=NOW)
    stale = SeatHold.objects.get(pk=hold.pk)
    with pytest.raises(HoldError) as refused:
        offer_claim(hold=stale, now=NOW)
    assert refused.value.code == "claimed"
    assert "already been booked" in refused.value.message
    assert Booking.objects.filter(starts_at=freed.starts_at, status="booked").count() == 1


def test_a_claim_after_the_hold_ended_is_refused_and_changes_nothing(service):
    waiting(service, 1)
    freed = free_first_seat(service)
    [hold] = slot_offer(service=service, starts_at=freed.starts_at, now=NOW)
    late = NOW + timedelta(minutes=121)
    with pytest.raises(HoldError) as refused:
        offer_claim(hold=hold, now=late)  # before the sweep ran
    assert refused.value.code == "expired"
    hold.refresh_from_db()
    assert hold.status == HoldStatus.HELD
    assert not Booking.objects.filter(starts_at=freed.starts_at, status="booked").exists()


def test_the_held_seat_cannot_be_claimed_with_another_offers_id(service):
    """booking_create re-checks the hold under the slot lock: its slot and party must match."""
    waiting(service, 1)
    freed = free_first_seat(service)
    [hold] = slot_offer(service=service, starts_at=freed.starts_at, now=NOW)
    with pytest.raises(HoldError):
        book(service, freed.starts_at + timedelta(minutes=30), 77, hold_id=hold.pk)
    with pytest.raises(HoldError):
        book(service, freed.starts_at, 77, hold_id=hold.pk + 1000)


# The hold race: two freed seats, two tabs, one person -----------------------------------------


def test_two_freed_seats_one_person_two_tabs_one_seat(service):
    entry = waiting(service, 1)
    later = waiting(service, 2, now=NOW + timedelta(minutes=1))
    [first, second] = wednesday(service)
    for slot in (first, second):
        booking_cancel(booking=Booking.objects.get(starts_at=slot.starts_at), now=NOW)

    offers = [
        *slot_offer(service=service, starts_at=first.starts_at, now=NOW),
        *slot_offer(service=service, starts_at=second.starts_at, now=NOW),
    ]
    # One offer per entry: the second seat goes to the next in line, not to the same person.
    assert [hold.entry for hold in offers] == [entry, later]

    # Tab 1 claims the offer; tab 2 tries the same offer, then the ordinary booking path.
    offer_claim(hold=offers[0], now=NOW)
    with pytest.raises(HoldError):
        offer_claim(hold=SeatHold.objects.get(pk=offers[0].pk), now=NOW)
    with pytest.raises(BookingError) as refused:
        book(service, second.starts_at, 1)
    assert refused.value.code in {"already_booked", "taken"}
    assert (
        Booking.objects.filter(
            people__identity_key__in=entry.people.values("identity_key"), status="booked"
        ).count()
        == 1
    )


# Leaving ------------------------------------------------------------------------------------


def test_leaving_with_an_offer_passes_the_seat_on(service):
    first = waiting(service, 1)
    second = waiting(service, 2, now=NOW + timedelta(minutes=1))
    freed = free_first_seat(service)
    [hold] = slot_offer(service=service, starts_at=freed.starts_at, now=NOW)

    waitlist_leave(entry=first, now=NOW)

    hold.refresh_from_db()
    first.refresh_from_db()
    second.refresh_from_db()
    assert hold.status == HoldStatus.RELEASED
    assert first.status == WaitlistStatus.LEFT
    assert second.status == WaitlistStatus.OFFERED
    assert actions(first)[-2:] == ["acs.waitlist.offer_released", "acs.waitlist.left"]
    # Leaving twice changes nothing.
    assert waitlist_leave(entry=first, now=NOW).status == WaitlistStatus.LEFT


def test_availability_counts_held_seats_in_the_same_query(service, django_assert_num_queries):
    waiting(service, 1)
    freed = free_first_seat(service)
    slot_offer(service=service, starts_at=freed.starts_at, now=NOW)
    service = type(service).objects.select_related("post").get(pk=service.pk)
    with django_assert_num_queries(3):  # rules, closures, seats booked or held
        days = availability.slots_between(service, WEDNESDAY, THURSDAY, now=NOW)
    assert [slot.free for slot in days[WEDNESDAY]] == [0, 0]
