"""Reminders: "tomorrow" is the post's tomorrow, each reminder goes out once, and a failed
send is tried again by the outbox (docs/mail.md)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time

import pytest
from django.core import mail
from django.utils import timezone

from acs.appointments import selectors, services, tasks
from acs.appointments.models import Booking, Service
from acs.core import tasks as core_tasks
from acs.core.constants import EmailStatus
from acs.core.models import OutgoingEmail
from tests.appointments.factories import make_service, person
from tests.core.outbox import FlakyBackend

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


@pytest.fixture
def remind(django_capture_on_commit_callbacks):
    """The periodic task, then what its commits hand to the workers (the emails)."""

    def run() -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return tasks.send_reminders()

    return run


def reminders() -> list:
    return [m for m in mail.outbox if m.subject.startswith("Reminder:")]


@pytest.mark.django_db
def test_due_means_tomorrow_in_the_posts_zone(book, commit, service):
    monday = book(service, MONDAY_0900_LIMA)
    book(service, TUESDAY_0900_LIMA)

    assert selectors.reminders_due(now=LATE_EVENING_IN_LIMA) == [monday.pk]
    # Half an hour later it is Monday in Lima: Tuesday's booking is tomorrow's now.
    after_midnight = datetime(2027, 1, 11, 5, 30, tzinfo=UTC)
    tuesday = Booking.objects.get(starts_at=TUESDAY_0900_LIMA)
    assert selectors.reminders_due(now=after_midnight) == [tuesday.pk]


@pytest.mark.django_db
def test_each_reminder_is_sent_once_even_when_run_twice(book, commit, service, clock, remind):
    monday = book(service, MONDAY_0900_LIMA)
    book(service, TUESDAY_0900_LIMA)
    mail.outbox.clear()

    assert remind() == 1
    assert remind() == 0
    # A duplicated delivery of the same task finds the claim taken and queues nothing.
    assert tasks.send_reminder(monday.pk) is False

    (reminder,) = reminders()
    assert monday.code in reminder.subject
    assert reminder.to == [monday.email]
    monday.refresh_from_db()
    assert monday.reminder_sent_at == LATE_EVENING_IN_LIMA


@pytest.mark.django_db
def test_cancelled_booking_gets_no_reminder(book, commit, service, clock, remind):
    booking = book(service, MONDAY_0900_LIMA)
    commit(services.booking_cancel, booking=booking, now=BOOKED_AT)
    mail.outbox.clear()

    assert remind() == 0
    assert tasks.send_reminder(booking.pk) is False
    assert reminders() == []


@pytest.mark.django_db
def test_a_reminder_cancelled_before_the_worker_got_to_it_is_not_sent(
    book, commit, service, clock, monkeypatch
):
    booking = book(service, MONDAY_0900_LIMA)
    monkeypatch.setattr(core_tasks.email_send, "apply_async", lambda *args, **kwargs: None)
    assert tasks.send_reminders() == 1  # queued; the broker has not delivered it yet
    commit(services.booking_cancel, booking=booking, now=BOOKED_AT)
    mail.outbox.clear()
    monkeypatch.undo()

    row = OutgoingEmail.objects.get(arguments__kind="reminder")
    assert core_tasks.email_send(row.pk) == EmailStatus.SKIPPED
    assert reminders() == []


@pytest.mark.django_db
def test_rescheduled_booking_is_reminded_again(book, commit, service, clock, remind):
    booking = book(service, MONDAY_0900_LIMA)
    remind()
    commit(
        services.booking_reschedule,
        booking=booking,
        starts_at=datetime(2027, 1, 11, 15, 0, tzinfo=UTC),
        now=BOOKED_AT,
    )
    mail.outbox.clear()

    assert remind() == 1
    assert len(reminders()) == 1


@pytest.mark.django_db
def test_a_failed_send_keeps_the_claim_and_the_outbox_sends_it_later(
    book, service, clock, remind, settings, monkeypatch
):
    """The claim (``reminder_sent_at``) and the email commit together, so a failure of the
    relay loses nothing: the row retries after a pause, and the reminder goes out once."""
    booking = book(service, MONDAY_0900_LIMA)
    mail.outbox.clear()
    settings.EMAIL_BACKEND = "tests.core.outbox.FlakyBackend"
    monkeypatch.setattr(FlakyBackend, "failures", 1)

    assert remind() == 1
    row = OutgoingEmail.objects.get(arguments__kind="reminder")
    assert (row.status, row.attempts) == (EmailStatus.RETRYING, 1)
    assert "SMTP 421" in row.error
    assert reminders() == []
    booking.refresh_from_db()
    assert booking.reminder_sent_at is not None
    assert remind() == 0  # the next periodic run does not queue it again

    # The sweeper, once the pause is over, hands it over again.
    monkeypatch.setattr(timezone, "now", lambda: row.next_attempt_at)
    assert core_tasks.emails_sweep()["due"] == 1
    (reminder,) = reminders()
    row.refresh_from_db()
    assert row.status == EmailStatus.SENT
    assert reminder.extra_headers["Message-ID"] == row.message_id


@pytest.mark.django_db
def test_tomorrow_is_each_posts_own_across_the_spring_change(lima, new_york, commit):
    """One run of the task judges each booking by its own post's calendar, on the night New
    York's clocks jump forward (Sunday 14 March 2027: that day has 23 hours there)."""
    ny = make_service(post=new_york, slug="ny-night", opens=time(0, 0), closes=time(23, 30))
    peru = make_service(post=lima, slug="lima-night", opens=time(0, 0), closes=time(23, 30))
    booked_at = datetime(2027, 3, 1, tzinfo=UTC)

    def book_at(service, starts_at, number):
        return commit(
            services.booking_create,
            service=service,
            starts_at=starts_at,
            people=[person(number)],
            email=f"dst{number}@example.org",
            phone="+1 202 555 0100",
            now=booked_at,
        )

    # 23:30 on Saturday 13 March in New York (EST, UTC−05:00); 23:30 in Lima too.
    now = datetime(2027, 3, 14, 4, 30, tzinfo=UTC)
    sunday_late_ny = book_at(ny, datetime(2027, 3, 15, 3, 0, tzinfo=UTC), 1)  # 23:00 EDT Sun
    monday_ny = book_at(ny, datetime(2027, 3, 15, 4, 30, tzinfo=UTC), 2)  # 00:30 EDT Mon
    sunday_late_lima = book_at(peru, datetime(2027, 3, 15, 4, 0, tzinfo=UTC), 3)  # 23:00 Sun
    assert sorted(selectors.reminders_due(now=now)) == sorted(
        [sunday_late_ny.pk, sunday_late_lima.pk]
    )
    # At 00:30 EST on Sunday (05:30 UTC), Monday 00:30 EDT is New York's tomorrow.
    assert monday_ny.pk in selectors.reminders_due(now=datetime(2027, 3, 14, 5, 30, tzinfo=UTC))
