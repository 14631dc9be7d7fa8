"""Request rounds under real concurrency: threads with their own connections, committing for
real, on whichever database the suite runs (SQLite by default, PostgreSQL with DATABASE_URL),
as in tests/concurrency/.

- Two workers (and more) draw the same round at once: one draws, the others find it drawn;
  the seats are never exceeded and each person holds at most one seat.
- Many confirmations at once, with people shared between requests: each person ends in at
  most one confirmed request, and the draw counts them once.
- The control: without the round's row lock, two draws both run (PostgreSQL).
- Forty requests taken at once are written together (services/intake.py), each stored once
  with its own people; a failed write fails each request of its batch, and none hangs.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from time import sleep

import pytest
from django.db import OperationalError, connection

from acs.appointments.constants import ACTIVE, RequestStatus
from acs.appointments.models import Booking, BookingPerson, Round, RoundRequest, RoundRequestPerson
from acs.appointments.services import intake, rounds
from acs.core.models import OutgoingEmail
from tests.appointments.factories import person
from tests.appointments.rounds import (
    AFTER_CLOSE,
    MONDAY,
    NOW,
    open_round,
    request,
    round_service,
)
from tests.concurrency.conftest import in_threads

pytestmark = pytest.mark.django_db(transaction=True)

WORKERS = 6
MONDAY_NEXT = (date.fromisoformat(MONDAY) + timedelta(days=7)).isoformat()


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


# Taking requests at a round's busiest moment (services/intake.py) --------------------------


@pytest.fixture
def second_round(lima):
    """A round a week after one whose draw booked person 1: person 1 may not ask again."""
    service = round_service(lima, slug="intake-race")
    first = open_round(service)
    request(first, [1])
    rounds.round_draw(round_id=first.pk, now=AFTER_CLOSE)
    rounds.round_settle(round_id=first.pk, now=AFTER_CLOSE)
    return open_round(service, first.opens_at + timedelta(days=7))


def ask(round_, number: int):
    """Request ``number`` of the crowd: people ``number`` and ``number + 500``, except that
    every tenth holds person 1, who is already booked."""
    first = 1 if number % 10 == 0 else 100 + number
    return rounds.request_create(
        round_=round_,
        people=[person(first), person(first + 500)],
        email=f"crowd{number}@example.org",
        phone="+51987654321",
        choices=[f"{MONDAY_NEXT}/any"],
        now=NOW + timedelta(days=7),
    )


def test_requests_taken_at_once_are_stored_once_each_with_their_own_people(
    second_round, monkeypatch
):
    """Forty at once, while a slow first write makes the others queue: they are written
    together, each request is answered with its own row, and the already booked are refused
    alone without failing the rest of their batch."""
    batches: list[int] = []
    real = intake._rows_create

    def slow_rows_create(batch):
        batches.append(len(batch))
        sleep(0.2 if len(batches) == 1 else 0)
        real(batch)

    monkeypatch.setattr(intake, "_rows_create", slow_rows_create)
    results = in_threads(lambda n: ask(second_round, n), 40)
    refused = [n for n, result in enumerate(results) if isinstance(result, rounds.RoundError)]
    assert refused == list(range(0, 40, 10))
    assert {results[n].code for n in refused} == {"already_booked"}
    taken = {n: result for n, result in enumerate(results) if n not in refused}
    assert all(isinstance(result, RoundRequest) for result in taken.values()), results
    assert len(batches) < len(taken) and max(batches) > 1, batches
    stored = RoundRequest.objects.filter(round=second_round)
    assert stored.count() == len(taken) == len({result.pk for result in taken.values()})
    for number, result in taken.items():
        row = stored.get(pk=result.pk)
        assert row.email == f"crowd{number}@example.org"
        names = sorted(row.people.values_list("full_name", flat=True))
        assert names == sorted([person(100 + number).full_name, person(600 + number).full_name])
    assert OutgoingEmail.objects.filter(to__startswith="crowd").count() == len(taken)


def test_a_failed_write_fails_every_request_of_its_batch_and_leaves_nothing(
    second_round, monkeypatch
):
    """The database refuses the write: each waiting request gets the error (none hangs,
    none is told it was taken), nothing is stored, and the next request is written."""
    real = intake._rows_create

    def failing(batch):
        sleep(0.2)
        raise OperationalError("the database went away")

    monkeypatch.setattr(intake, "_rows_create", failing)
    results = in_threads(lambda n: ask(second_round, 10 * n + 1), 12)
    assert all(isinstance(result, OperationalError) for result in results), results
    assert not RoundRequest.objects.filter(round=second_round).exists()
    assert not OutgoingEmail.objects.filter(to__startswith="crowd").exists()
    monkeypatch.setattr(intake, "_rows_create", real)
    [after] = in_threads(lambda n: ask(second_round, 3), 1)
    assert isinstance(after, RoundRequest), after
