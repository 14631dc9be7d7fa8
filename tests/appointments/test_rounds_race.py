"""Request rounds under real concurrency: threads with their own connections, committing for
real, on whichever database the suite runs (SQLite by default, PostgreSQL with DATABASE_URL),
as in tests/concurrency/.

- Two workers (and more) draw the same round at once: one draws, the others find it drawn;
  the seats are never exceeded and each person holds at most one seat.
- Many confirmations at once, with people shared between requests: each person ends in at
  most one confirmed request, and the draw counts them once.
- The control: without the round's row lock, two draws both run (PostgreSQL).
"""

from __future__ import annotations

from collections import Counter
from time import sleep

import pytest
from django.db import connection

from acs.appointments.constants import ACTIVE, RequestStatus
from acs.appointments.models import Booking, BookingPerson, Round, RoundRequest, RoundRequestPerson
from acs.appointments.services import rounds
from tests.appointments.rounds import AFTER_CLOSE, NOW, open_round, request, round_service
from tests.concurrency.conftest import in_threads

pytestmark = pytest.mark.django_db(transaction=True)

WORKERS = 6


@pytest.fixture(autouse=True)
def _no_emails(monkeypatch):
    monkeypatch.setattr("acs.core.tasks.email_send.apply_async", lambda *args, **kwargs: None)
    # The settling task the draw queues runs in the tests' own threads below, not eagerly.
    monkeypatch.setattr("acs.appointments.tasks.round_settle.apply_async", lambda *a, **k: None)


@pytest.fixture
def crowded_round(lima):
    """Sixty requests (families of 1 to 3) for the eight seats of one Monday."""
    service = round_service(lima, slug="race-rounds")
    round_ = open_round(service)
    for number in range(60):
        request(round_, [1000 * number + k for k in range(1 + number % 3)])
    return service, round_


def assert_within_capacity(service) -> None:
    seats = Counter()
    for booking in Booking.objects.filter(service=service, status__in=ACTIVE):
        seats[booking.starts_at] += booking.people_count
    assert seats and max(seats.values()) <= service.seats_per_slot, seats
    keys = BookingPerson.objects.filter(service=service, active=True).values_list(
        "identity_key", flat=True
    )
    assert len(keys) == len(set(keys))  # each person one seat at most


def test_workers_drawing_at_once_draw_once(crowded_round):
    service, round_ = crowded_round
    results = in_threads(lambda n: rounds.round_draw(round_id=round_.pk, now=AFTER_CLOSE), WORKERS)
    drawn = [result for result in results if isinstance(result, Round)]
    assert len(drawn) == 1 and results.count(None) == WORKERS - 1, results
    settled = in_threads(lambda n: rounds.round_settle(round_id=round_.pk, now=AFTER_CLOSE), 3)
    assert all(isinstance(result, dict) for result in settled), settled
    assert sum(result["booked"] for result in settled) == drawn[0].served_requests
    assert sum(result["notified"] for result in settled) == 60 - drawn[0].served_requests
    assert_within_capacity(service)
    booked = RoundRequest.objects.filter(round=round_, status=RequestStatus.BOOKED).count()
    assert booked == drawn[0].served_requests == Booking.objects.filter(service=service).count()


def test_concurrent_confirmations_keep_each_person_once(lima):
    """Thirty requests, each sharing a person with the next, confirmed all at once."""
    service = round_service(lima, slug="confirm-race")
    round_ = open_round(service)
    made = [
        request(round_, [n, n + 1], email=f"r{n}@example.org", confirm=False) for n in range(30)
    ]
    results = in_threads(lambda n: rounds.request_confirm(token=made[n].token, now=NOW), 30)
    assert all(isinstance(result, RoundRequest) for result in results), results
    active = RoundRequestPerson.objects.filter(round=round_, active=True)
    keys = list(active.values_list("identity_key", flat=True))
    assert len(keys) == len(set(keys))
    confirmed = RoundRequest.objects.filter(round=round_, status=RequestStatus.CONFIRMED)
    assert all(r.people.filter(active=True).count() == r.people_count for r in confirmed)
    drawn = rounds.round_draw(round_id=round_.pk, now=AFTER_CLOSE)
    assert drawn.people_count == len(keys)


def test_control_without_the_round_lock_two_workers_draw(crowded_round, settings, monkeypatch):
    """The lock is what makes the draw happen once: with ``select_for_update`` switched off
    and a pause after reading the state, several workers draw (PostgreSQL). SQLite's
    IMMEDIATE transactions still queue them, so there it stays once."""
    _service, round_ = crowded_round
    real = rounds.round_slots

    def slow_slots(*args, **kwargs):
        sleep(0.2)
        return real(*args, **kwargs)

    monkeypatch.setattr(rounds, "round_slots", slow_slots)
    monkeypatch.setattr(
        rounds.Round.objects, "select_for_update", lambda *a, **k: rounds.Round.objects.all()
    )
    results = in_threads(lambda n: rounds.round_draw(round_id=round_.pk, now=AFTER_CLOSE), 3)
    drawn = [result for result in results if isinstance(result, Round)]
    if connection.vendor == "postgresql":
        assert len(drawn) > 1, results
    else:
        assert len(drawn) == 1, results
