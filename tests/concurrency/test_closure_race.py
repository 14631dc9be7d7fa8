"""A closure confirmed ten times at once (a double click, several officers on one page) makes
one closure and emails each person once.

Each confirm is a thread with its own connection; the test commits for real. A pause between
the repeat check and the insert makes the confirms overlap for sure. On PostgreSQL a control
switches the post's row lock off and shows the twin closures it prevents (on SQLite the
``IMMEDIATE`` transaction serializes the confirms by itself).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from time import sleep

import pytest
from django.db import connection
from django.utils import timezone

from acs.appointments import availability
from acs.appointments.constants import BookingStatus
from acs.appointments.models import Booking, Closure
from acs.appointments.services import booking_create
from acs.appointments.services import closures as services
from acs.appointments.services.closures import ClosureResult, closure_create_and_cancel
from acs.appointments.services.mail import CLOSURE_EMAIL
from acs.core.models import OutgoingEmail
from acs.staff.services import staff_user_create
from tests.appointments.factories import make_service, person
from tests.concurrency.conftest import in_threads

OFFICERS = 10
WINDOW_SECONDS = 0.05


@pytest.fixture
def world(lima):
    """Three bookings on a day ahead, 09:00–10:30 in Lima, by two people."""
    service = make_service(post=lima, slug="race-closure", seats=4)
    day = timezone.now().astimezone(lima.zone).date() + timedelta(days=3)
    while availability.holiday_name(lima.country_code, day):
        day += timedelta(days=1)
    bookings = [
        booking_create(
            service=service,
            starts_at=datetime.combine(day, time(hour, minute), tzinfo=lima.zone),
            people=[person(number)],
            email=email,
            phone="+51987654321",
        )
        for number, (hour, minute, email) in enumerate(
            [(9, 0, "ana@example.org"), (9, 30, "ana@example.org"), (10, 0, "luis@example.org")]
        )
    ]
    officer = staff_user_create(username="officer").user
    return {"post": lima, "day": day, "bookings": bookings, "officer": officer}


@pytest.fixture
def widened_window(monkeypatch) -> None:
    """Pause after the repeat check, before the insert: confirms nothing queues overlap."""
    check = services._repeat_of

    def check_then_wait(**kwargs):
        found = check(**kwargs)
        sleep(WINDOW_SECONDS)
        return found

    monkeypatch.setattr(services, "_repeat_of", check_then_wait)


def emailed() -> list[str]:
    """Whom the closure emails, as written to the outbox (the rows are the emails)."""
    return sorted(OutgoingEmail.objects.filter(kind=CLOSURE_EMAIL).values_list("to", flat=True))


def confirm_at_once(world) -> list[object]:
    post, day = world["post"], world["day"]

    def confirm(_number: int) -> ClosureResult:
        return closure_create_and_cancel(
            post=post,
            service=None,
            starts_at=datetime.combine(day, time(8), tzinfo=post.zone),
            ends_at=datetime.combine(day, time(12), tzinfo=post.zone),
            reason_en="A demonstration blocks the street.",
            reason_es="Una manifestación bloquea la calle.",
            actor=world["officer"],
            nonce="the-same-confirmation-page",
        )

    return in_threads(confirm, OFFICERS)


@pytest.mark.django_db(transaction=True)
def test_ten_confirms_at_once_make_one_closure_and_one_email_each(world, widened_window):
    results = confirm_at_once(world)

    assert [r for r in results if not isinstance(r, ClosureResult)] == []
    assert sum(result.created for result in results) == 1
    assert Closure.objects.count() == 1
    assert set(Booking.objects.values_list("status", flat=True)) == {BookingStatus.CANCELLED}
    assert emailed() == [
        "ana@example.org",
        "luis@example.org",
    ]


def on_postgresql_only(test):
    """The control needs row locks to switch off; SQLite has none (see the module's notes)."""
    return test if connection.vendor == "postgresql" else None


@on_postgresql_only
@pytest.mark.django_db(transaction=True)
def test_control_without_the_post_lock_confirms_make_twin_closures(world, widened_window, settings):
    settings.ACS_LOCKS_ENABLED = False
    results = confirm_at_once(world)

    assert Closure.objects.count() > 1, "the race did not happen: the control proves nothing"
    assert sum(isinstance(r, ClosureResult) and r.created for r in results) > 1
    # The bookings' own row locks still cancel (and email) each booking once.
    assert emailed() == [
        "ana@example.org",
        "luis@example.org",
    ]
