"""Reminders: "tomorrow" is the post's tomorrow, each reminder goes out once, and a failed
send gives its claim back."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

import pytest
from celery.exceptions import Retry
from django.core import mail
from django.utils import timezone

from acs.appointments import emails, services, tasks
from acs.appointments.models import Booking, Service

BOOKED_AT = datetime(2027, 1, 1, 12, 0, tzinfo=UTC)
# 23:30 on Sunday 10 January in Lima (UTC−05:00), already Monday 11 January in UTC.
LATE_EVENING_IN_LIMA = datetime(2027, 1, 11, 4, 30, tzinfo=UTC)
MONDAY_0900_LIMA = datetime(2027, 1, 11, 14, 0, tzinfo=UTC)  # tomorrow for Lima
TUESDAY_0900_LIMA = datetime(2027, 1, 12, 14, 0, tzinfo=UTC)  # tomorrow for UTC only


@pytest.fixture
def service(lima) -> Service:
    services.services_seed(
        post=lima,
        entries=[
            {
                "slug": "notarials",
                "order": 1,
                "duration_minutes": 15,
                "seats_per_slot": 4,
                "max_people": 4,
                "horizon_days": 60,
                "min_notice_hours": 0,
                "requires_benefits_ack": False,
                "hours": [[day, "08:00", "12:00"] for day in range(7)],
                "name": {"en": "Notarial services", "es": "Servicios notariales"},
                "description": {"en": "", "es": ""},
                "checklist": {"en": ["The unsigned document"], "es": ["El documento sin firmar"]},
            }
        ],
    )
    return Service.objects.get(post=lima, slug="notarials")


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run a service and then its on-commit work (the email task), as a real commit would."""

    def run(service_function, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service_function(**kwargs)

    return run


@pytest.fixture
def book(commit):
    people = itertools.count(1)

    def create(service, starts_at) -> Booking:
        return commit(
            services.booking_create,
            service=service,
            starts_at=starts_at,
            people=[services.PersonData(full_name="Ana Torres", date_of_birth=date(1980, 1, 1))],
            email=f"person{next(people)}@example.org",  # a different person each time
            phone="+51 999 123 456",
            now=BOOKED_AT,
        )

    return create


@pytest.fixture
def clock(monkeypatch):
    """Stop the clock at 23:30 in Lima for the code that asks ``timezone.now()``."""
    monkeypatch.setattr(timezone, "now", lambda: LATE_EVENING_IN_LIMA)
    return LATE_EVENING_IN_LIMA


def reminders() -> list:
    return [m for m in mail.outbox if m.subject.startswith("Reminder:")]


@pytest.mark.django_db
def test_due_means_tomorrow_in_the_posts_zone(book, commit, service):
    monday = book(service, MONDAY_0900_LIMA)
    book(service, TUESDAY_0900_LIMA)

    assert services.reminders_due(now=LATE_EVENING_IN_LIMA) == [monday.pk]
    # Half an hour later it is Monday in Lima: Tuesday's booking is tomorrow's now.
    after_midnight = datetime(2027, 1, 11, 5, 30, tzinfo=UTC)
    tuesday = Booking.objects.get(starts_at=TUESDAY_0900_LIMA)
    assert services.reminders_due(now=after_midnight) == [tuesday.pk]


@pytest.mark.django_db
def test_each_reminder_is_sent_once_even_when_run_twice(book, commit, service, clock):
    monday = book(service, MONDAY_0900_LIMA)
    book(service, TUESDAY_0900_LIMA)
    mail.outbox.clear()

    assert tasks.send_reminders() == 1
    assert tasks.send_reminders() == 0
    # A duplicated delivery of the same task finds the claim taken and sends nothing.
    assert tasks.send_reminder(monday.pk) is False

    (reminder,) = reminders()
    assert monday.code in reminder.subject
    assert reminder.to == [monday.email]
    monday.refresh_from_db()
    assert monday.reminder_sent_at == LATE_EVENING_IN_LIMA


@pytest.mark.django_db
def test_cancelled_booking_gets_no_reminder(book, commit, service, clock):
    booking = book(service, MONDAY_0900_LIMA)
    commit(services.booking_cancel, booking=booking, now=BOOKED_AT)
    mail.outbox.clear()

    assert tasks.send_reminders() == 0
    assert tasks.send_reminder(booking.pk) is False
    assert reminders() == []


@pytest.mark.django_db
def test_rescheduled_booking_is_reminded_again(book, commit, service, clock):
    booking = book(service, MONDAY_0900_LIMA)
    tasks.send_reminders()
    commit(
        services.booking_reschedule,
        booking=booking,
        starts_at=datetime(2027, 1, 11, 15, 0, tzinfo=UTC),
        now=BOOKED_AT,
    )
    mail.outbox.clear()

    assert tasks.send_reminders() == 1
    assert len(reminders()) == 1


def _fail_once(monkeypatch):
    real = emails.booking_message
    calls = []

    def flaky(booking, kind):
        calls.append(kind)
        if len(calls) == 1:
            raise OSError("SMTP relay refused the connection")
        return real(booking, kind)

    monkeypatch.setattr(emails, "booking_message", flaky)
    return calls


@pytest.mark.django_db
def test_failed_send_gives_the_claim_back(book, commit, service, monkeypatch):
    booking = book(service, MONDAY_0900_LIMA)
    mail.outbox.clear()
    calls = _fail_once(monkeypatch)

    # Called in-process (no worker request), retry re-raises the error.
    with pytest.raises(OSError, match="refused"):
        tasks.send_reminder(booking.pk)
    booking.refresh_from_db()
    assert booking.reminder_sent_at is None
    assert reminders() == []

    # The retry takes the claim again and sends.
    assert tasks.send_reminder(booking.pk) is True
    assert calls == ["reminder", "reminder"]
    assert len(reminders()) == 1
    booking.refresh_from_db()
    assert booking.reminder_sent_at is not None


@pytest.mark.django_db
def test_eager_retry_after_a_failure_gives_the_claim_back(
    book, commit, service, clock, monkeypatch
):
    booking = book(service, MONDAY_0900_LIMA)
    mail.outbox.clear()
    calls = _fail_once(monkeypatch)

    # Run eagerly, the task's retry surfaces as Retry instead of being scheduled.
    with pytest.raises(Retry):
        tasks.send_reminders()
    booking.refresh_from_db()
    assert booking.reminder_sent_at is None
    assert reminders() == []

    # The next periodic run finds the booking due again and sends it, once.
    assert tasks.send_reminders() == 1
    assert tasks.send_reminders() == 0
    assert calls == ["reminder", "reminder"]
    assert len(reminders()) == 1
