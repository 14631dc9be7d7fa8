"""The waitlist's holds under real concurrency: threads, each with its own connection, that
commit for real (on the configured database: PostgreSQL with DATABASE_URL, else SQLite).

- a claim against strangers booking the held seat: only the claim gets it (and the control:
  with held seats not counted, a stranger takes it);
- the hold race: two freed seats, one person, many tabs claiming and booking: one seat;
- offers made by many workers at once: a seat is never held twice, an entry never holds two;
- a claim racing the expiry of its offer: booked or passed on, never both.
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

from acs.appointments import availability
from acs.appointments.constants import HoldStatus, WaitlistStatus
from acs.appointments.models import Booking, BookingPerson, SeatHold, WaitlistEntry
from acs.appointments.services import BookingError, booking_cancel, booking_create
from acs.appointments.services import booking as booking_module
from acs.appointments.services.holds import HoldError
from acs.appointments.services.waitlist import (
    offer_claim,
    offer_expire,
    slot_offer,
    waitlist_sweep,
)
from tests.appointments.factories import person
from tests.appointments.waitlist_helpers import NOW, PHONE, book, full_service, waiting, wednesday
from tests.concurrency.conftest import in_threads

pytestmark = pytest.mark.django_db(transaction=True)

STRANGERS = 12


@pytest.fixture(autouse=True)
def _nothing_after_commit(monkeypatch):
    """Emails are written but not handed over, and the after-commit triggers (a cancellation
    asking the waitlist, a confirmation asking for a sweep) do not run: each test makes its
    offers itself, at its own ``NOW``."""
    monkeypatch.setattr("acs.core.tasks.email_send.apply_async", lambda *args, **kwargs: None)
    monkeypatch.setattr("acs.appointments.services.holds.task_send", lambda *a, **k: None)
    monkeypatch.setattr("acs.appointments.services.waitlist.task_send", lambda *a, **k: None)


@pytest.fixture
def service(lima):
    return full_service(lima)


def held_offer(service, number: int = 1) -> SeatHold:
    """Person ``number`` waits for Wednesday; the first slot's seat is freed and offered."""
    waiting(service, number)
    first = wednesday(service)[0].starts_at
    booking_cancel(booking=Booking.objects.get(service=service, starts_at=first), now=NOW)
    [hold] = slot_offer(service=service, starts_at=first, now=NOW)
    return hold


def booked_in(service, starts_at) -> int:
    return BookingPerson.objects.filter(
        service=service, booking__starts_at=starts_at, active=True
    ).count()


def claim_or_book(hold: SeatHold, service):
    def attempt(number: int):
        if number == 0:
            return offer_claim(hold=SeatHold.objects.get(pk=hold.pk), now=NOW)
        return book(service, hold.starts_at, 5000 + number)

    return attempt


def test_a_claim_against_strangers_booking_the_held_seat(service):
    hold = held_offer(service)
    results = in_threads(claim_or_book(hold, service), STRANGERS + 1)

    assert isinstance(results[0], Booking), results[0]
    assert all(
        isinstance(result, BookingError) and result.code == "taken" for result in results[1:]
    ), results
    assert booked_in(service, hold.starts_at) == 1
    assert SeatHold.objects.get(pk=hold.pk).status == HoldStatus.CLAIMED


def test_control_held_seats_not_counted_let_a_stranger_take_it(service, monkeypatch):
    """Without counting held seats under the lock, the seat offered to the waiting person is
    booked by whoever comes first: the count, not luck, keeps it for them."""
    hold = held_offer(service)
    # The booking's one query then counts holds of a status that never exists.
    no_hold = SimpleNamespace(HELD=SimpleNamespace(value="counted by nobody"))
    monkeypatch.setattr(booking_module, "HoldStatus", no_hold)
    results = in_threads(lambda n: book(service, hold.starts_at, 5000 + n), STRANGERS)
    assert any(isinstance(result, Booking) for result in results)


def test_two_freed_seats_two_tabs_one_person_one_seat(service):
    """One person waits; both of Wednesday's seats are freed. The first is held for them,
    the second is free for anyone. Their tabs claim the offer and book the free seat the
    ordinary way, all at once: they end with one appointment."""
    hold = held_offer(service)
    second = wednesday(service)[1].starts_at
    booking_cancel(booking=Booking.objects.get(service=service, starts_at=second), now=NOW)
    assert slot_offer(service=service, starts_at=second, now=NOW) == []  # one offer per entry
    entry = WaitlistEntry.objects.get(pk=hold.entry_id)

    def tab(number: int):
        if number % 2:
            return offer_claim(hold=SeatHold.objects.get(pk=hold.pk), now=NOW)
        return booking_create(
            service=service,
            starts_at=second,
            people=[person(1)],
            email=entry.email,
            phone=PHONE,
            now=NOW,
        )

    results = in_threads(tab, 10)

    booked = [result for result in results if isinstance(result, Booking)]
    refused = [result for result in results if isinstance(result, BookingError | HoldError)]
    assert len(booked) == 1 and len(refused) == 9, results
    keys = entry.people.values_list("identity_key", flat=True)
    assert (
        BookingPerson.objects.filter(service=service, identity_key__in=keys, active=True).count()
        == 1
    )
    for slot in wednesday(service):
        assert booked_in(service, slot.starts_at) <= service.seats_per_slot


def test_offers_made_by_many_workers_at_once(service):
    """Three people wait, two seats free: however many sweeps and triggers run at once, two
    different people hold one seat each, and no seat is both held and free."""
    entries = [
        waiting(service, number, now=NOW + timedelta(minutes=number)) for number in (1, 2, 3)
    ]
    slots = [slot.starts_at for slot in wednesday(service)]
    for starts_at in slots:
        booking_cancel(booking=Booking.objects.get(service=service, starts_at=starts_at), now=NOW)

    def worker(number: int):
        if number % 3 == 0:
            return waitlist_sweep(now=NOW)
        return slot_offer(service=service, starts_at=slots[number % 2], now=NOW)

    results = in_threads(worker, 12)

    assert not [r for r in results if isinstance(r, Exception)], results
    held = list(SeatHold.objects.filter(status=HoldStatus.HELD))
    assert sorted(hold.entry_id for hold in held) == [entries[0].pk, entries[1].pk]
    assert sorted(hold.starts_at for hold in held) == slots
    assert WaitlistEntry.objects.get(pk=entries[2].pk).status == WaitlistStatus.WAITING
    for slot in wednesday(service):
        assert slot.free == 0


def test_a_claim_racing_its_expiry_is_booked_or_passed_on_never_both(service):
    hold = held_offer(service)
    waiting(service, 2, now=NOW + timedelta(minutes=1))
    deadline = hold.expires_at

    def attempt(number: int):
        if number == 0:
            # The citizen clicks a moment before the deadline; the sweep runs a moment after.
            return offer_claim(
                hold=SeatHold.objects.get(pk=hold.pk), now=deadline - timedelta(seconds=1)
            )
        return offer_expire(hold_id=hold.pk, now=deadline + timedelta(seconds=1))

    results = in_threads(attempt, 4)

    claimed = isinstance(results[0], Booking)
    expired = any(result is True for result in results[1:])
    assert claimed != expired, results
    held = SeatHold.objects.filter(starts_at=hold.starts_at, status=HoldStatus.HELD).count()
    assert booked_in(service, hold.starts_at) + held == 1
    assert availability.slot_offered(service, hold.starts_at, now=NOW).free == 0
