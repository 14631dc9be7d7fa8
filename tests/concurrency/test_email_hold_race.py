"""Booking without JavaScript competes for the same seats: fifty people at once, half holding
a seat for the emailed link and half booking outright, for the last three seats of a slot.
Holds and bookings together never pass the slot's capacity, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from acs.appointments.constants import HoldStatus
from acs.appointments.models import SeatHold
from acs.appointments.services import BookingError
from acs.appointments.services.emailhold import email_hold_create
from tests.appointments.factories import person
from tests.concurrency.conftest import (
    ALREADY_BOOKED,
    BOOKERS,
    NOW,
    PHONE,
    SEATS,
    book_one,
    in_threads,
    people_in_slot,
)


@pytest.mark.django_db(transaction=True)
def test_holds_and_bookings_race_for_the_last_three_seats(service, starts_at):
    def attempt(number: int):
        if number % 2:
            return book_one(service, starts_at, 30_000 + number)
        return email_hold_create(
            service=service,
            starts_at=starts_at,
            people=[person(30_000 + number)],
            email=f"holder{number}@example.org",
            phone=PHONE,
            now=NOW,
        )

    results = in_threads(attempt, BOOKERS)
    refused = [result for result in results if isinstance(result, BookingError)]
    others = [
        result for result in results if isinstance(result, Exception) and result not in refused
    ]
    assert others == [], others
    assert {error.code for error in refused} == {"taken"}
    held = SeatHold.objects.filter(service=service, starts_at=starts_at, status=HoldStatus.HELD)
    booked = people_in_slot(service, starts_at) - ALREADY_BOOKED
    assert booked + held.count() == SEATS - ALREADY_BOOKED
    assert len(refused) == BOOKERS - (SEATS - ALREADY_BOOKED)
