"""The door: every outcome at its boundary second, on the post's clock (Lima, UTC−05:00 all
year; New York, across the 14 March 2027 change to daylight saving); the late refusal's
email, sent once; harmless repeats; overrides only with a reason and only by officers; served
and no-shows; and the pages by role through a real, second-factor sign-in."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from types import SimpleNamespace

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django_otp.oath import totp

from acs.appointments import tasks
from acs.appointments.constants import BookingStatus
from acs.appointments.models import Booking, BookingPerson
from acs.appointments.services import booking_cancel, booking_create
from acs.appointments.services.door import (
    CheckinRefused,
    booking_mark_served,
    checkin_override,
    checkin_perform,
    no_shows_mark,
    normalize_code,
)
from acs.celery import app as celery_app
from acs.core.models import AuditEntry
from acs.posts.models import Post
from acs.staff import roles
from acs.staff.services import roles_sync, staff_user_create
from tests.appointments.factories import make_service, person
from tests.core.outbox import booking_emails, hold_emails
from tests.staff.conftest import roles_give

pytestmark = pytest.mark.django_db

SITE = "https://acs.example.gov"
BOOKED_AT = datetime(2027, 1, 1, 12, 0, tzinfo=UTC)

# Lima (UTC−05:00, no daylight saving): Tuesday 12 January 2027 at 09:00 is 14:00 UTC.
LIMA_0900 = datetime(2027, 1, 12, 14, 0, tzinfo=UTC)

# New York moves from EST (UTC−05:00) to EDT (UTC−04:00) at 02:00 on Sunday 14 March 2027.
NY_BOOKED_AT = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
NY_MONDAY_0900 = datetime(2027, 3, 15, 13, 0, tzinfo=UTC)  # 09:00 EDT, the day after
NY_SUNDAY_0300 = datetime(2027, 3, 14, 7, 0, tzinfo=UTC)  # 03:00 EDT, just after the jump


def sec(seconds: int) -> timedelta:
    return timedelta(seconds=seconds)


def minutes(count: int) -> timedelta:
    return timedelta(minutes=count)


# Fixtures -------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _site(settings):
    settings.ACS_SITE_URL = SITE


@pytest.fixture
def sent(monkeypatch):
    """Booking emails are written to the outbox (docs/mail.md) and not sent."""
    hold_emails(monkeypatch)


@pytest.fixture
def desk(db):
    """Make bookings the way citizens do (through ``booking_create``), one person each."""
    numbers = iter(range(1, 1000))

    def book(post: Post, starts_at: datetime, *, language: str = "en", now=None) -> Booking:
        service = post.services.first() or make_service(
            post=post, seats=4, opens=time(0, 0), closes=time(23, 30)
        )
        number = next(numbers)
        return booking_create(
            service=service,
            starts_at=starts_at,
            people=[person(number)],
            email=f"person{number}@example.org",
            phone="+51 999 123 456",
            language=language,
            now=now or starts_at - timedelta(days=10),
        )

    return book


@pytest.fixture
def officer(db):
    roles_sync()
    user = staff_user_create(username="officer", email="officer@example.org").user
    roles_give(user, [roles.CONSULAR_OFFICER])
    return user


def status_of(booking: Booking) -> str:
    booking.refresh_from_db()
    return booking.status


def actions(booking: Booking) -> list[str]:
    """The booking's entries since it was made (the desk's own ``acs.booking.created`` left
    out), oldest first."""
    return list(
        AuditEntry.objects.filter(object_type="appointments.booking", object_id=str(booking.pk))
        .exclude(action="acs.booking.created")
        .order_by("id")
        .values_list("action", flat=True)
    )


# Codes ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "typed", ["K7MX-3QPA", "k7mx-3qpa", "k7mx 3qpa", "K7MX3QPA", " k7 mx–3q pa "]
)
def test_codes_are_read_the_way_people_type_them(typed):
    assert normalize_code(typed) == "K7MX-3QPA"


def test_a_typed_code_in_lower_case_without_dash_is_found(lima, desk, sent, officer):
    booking = desk(lima, LIMA_0900)
    typed = booking.code.replace("-", " ").lower()
    result = checkin_perform(post=lima, code=typed, actor=officer, now=LIMA_0900)
    assert (result.outcome, result.code) == ("admit", "admitted")


# Lima: every outcome at its boundary ----------------------------------------------------------
@pytest.mark.parametrize(
    ("at", "outcome", "code"),
    [
        (LIMA_0900 - minutes(30) - sec(1), "early", "early"),  # 08:29:59
        (LIMA_0900 - minutes(30), "admit", "admitted"),  # 08:30:00, exactly the window
        (LIMA_0900, "admit", "admitted"),
        (LIMA_0900 + minutes(15), "admit", "admitted"),  # exactly 15:00 late
        (LIMA_0900 + minutes(15) + sec(1), "refused", "late"),  # 15 minutes and 1 second
        (LIMA_0900 + minutes(16), "refused", "late"),  # 15:01
    ],
)
def test_lima_boundaries(lima, desk, sent, officer, at, outcome, code):
    booking = desk(lima, LIMA_0900)
    result = checkin_perform(post=lima, code=booking.code, actor=officer, now=at)
    assert (result.outcome, result.code) == (outcome, code)
    expected = {
        "admit": BookingStatus.CHECKED_IN,
        "early": BookingStatus.BOOKED,
        "refused": BookingStatus.LATE_REFUSED,
    }[outcome]
    assert status_of(booking) == expected


def test_early_says_when_to_come_back_on_the_posts_clock(lima, desk, sent, officer):
    booking = desk(lima, LIMA_0900)
    result = checkin_perform(
        post=lima, code=booking.code, actor=officer, now=LIMA_0900 - minutes(45)
    )
    assert result.outcome == "early"
    assert result.come_back_at.strftime("%H:%M") == "08:30"
    assert str(result.come_back_at.tzinfo) == "America/Lima"
    assert "come back at 08:30" in result.message.lower()
    # Nothing changes, yet the answer is in the booking's story.
    assert actions(booking) == ["acs.checkin.early"]
    assert status_of(booking) == BookingStatus.BOOKED


def test_admit_gives_the_place_in_todays_queue_by_check_in_time(lima, desk, sent, officer):
    nine = desk(lima, LIMA_0900)
    half_past = desk(lima, LIMA_0900 + minutes(30))
    # Someone admitted yesterday does not count in today's queue.
    yesterday = desk(lima, LIMA_0900 - timedelta(days=1))
    checkin_perform(post=lima, code=yesterday.code, actor=officer, now=LIMA_0900 - timedelta(1))

    first = checkin_perform(post=lima, code=half_past.code, actor=officer, now=LIMA_0900)
    second = checkin_perform(post=lima, code=nine.code, actor=officer, now=LIMA_0900 + minutes(5))
    assert (first.queue_position, second.queue_position) == (1, 2)
    assert actions(nine) == ["acs.checkin.admitted"]
    entry = AuditEntry.objects.get(object_id=str(nine.pk), action="acs.checkin.admitted")
    assert entry.actor == officer
    assert entry.changes["status"] == ["booked", "checked_in"]


def test_another_day_is_refused_by_the_posts_date_not_utcs(lima, desk, sent, officer):
    booking = desk(lima, LIMA_0900)
    # 04:30 UTC on the 12th is still 23:30 on Monday the 11th in Lima.
    result = checkin_perform(
        post=lima, code=booking.code, actor=officer, now=datetime(2027, 1, 12, 4, 30, tzinfo=UTC)
    )
    assert (result.outcome, result.code) == ("refused", "other_day")
    assert result.message == "This appointment is on Tuesday, January 12, 2027."
    assert result.overridable
    # And the day after, it "was" on that date.
    later = checkin_perform(
        post=lima, code=booking.code, actor=officer, now=LIMA_0900 + timedelta(days=1)
    )
    assert later.message == "This appointment was on Tuesday, January 12, 2027."
    assert status_of(booking) == BookingStatus.BOOKED


def test_unknown_code_and_another_posts_code_are_not_found(lima, new_york, desk, sent, officer):
    elsewhere = desk(new_york, NY_MONDAY_0900)
    for code in ("2345-6789", "nonsense", "", elsewhere.code):
        result = checkin_perform(post=lima, code=code, actor=officer, now=LIMA_0900)
        assert (result.outcome, result.code, result.booking) == ("refused", "not_found", None)
        assert not result.overridable
    assert status_of(elsewhere) == BookingStatus.BOOKED


def test_cancelled_is_refused(lima, desk, sent, officer):
    booking = desk(lima, LIMA_0900)
    booking_cancel(booking=booking, now=BOOKED_AT)
    result = checkin_perform(post=lima, code=booking.code, actor=officer, now=LIMA_0900)
    assert (result.outcome, result.code) == ("refused", "cancelled")
    assert "cancelled" in result.message
    assert not result.overridable


def test_a_second_scan_is_harmless(lima, desk, sent, officer):
    booking = desk(lima, LIMA_0900)
    first = checkin_perform(post=lima, code=booking.code, actor=officer, now=LIMA_0900)
    again = checkin_perform(post=lima, code=booking.code, actor=officer, now=LIMA_0900 + minutes(3))
    assert first.outcome == "admit"
    assert (again.outcome, again.code) == ("refused", "already_checked_in")
    assert again.message == "Already checked in at 09:00."
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CHECKED_IN
    assert booking.checked_in_at == LIMA_0900
    assert actions(booking) == ["acs.checkin.admitted", "acs.checkin.refused_already_checked_in"]


# The late refusal and its email ---------------------------------------------------------------
def test_late_refusal_emails_a_link_to_book_again_exactly_once(
    lima, desk, officer, django_capture_on_commit_callbacks
):
    booking = desk(lima, LIMA_0900, language="es")
    late = LIMA_0900 + minutes(15) + sec(1)
    with django_capture_on_commit_callbacks(execute=True):
        result = checkin_perform(post=lima, code=booking.code, actor=officer, now=late)
    with django_capture_on_commit_callbacks(execute=True):
        again = checkin_perform(post=lima, code=booking.code, actor=officer, now=late + minutes(1))

    assert (result.code, again.code) == ("late", "late")
    assert "15 minutes" in result.message
    (message,) = mail.outbox
    assert message.to == [booking.email]
    assert booking.code in message.subject
    assert f"{SITE}/es/lima/appointments/" in message.body
    assert "appointment.ics" not in str(message.message())
    assert status_of(booking) == BookingStatus.LATE_REFUSED
    # Both scans are in the story; only the first changed the status.
    assert actions(booking) == ["acs.checkin.refused_late", "acs.checkin.refused_late"]
    # They may book the same service again at once.
    assert not BookingPerson.objects.filter(booking=booking, active=True).exists()


# A post with daylight saving ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("at", "outcome", "code"),
    [
        (NY_MONDAY_0900 - minutes(30) - sec(1), "early", "early"),  # 08:29:59 EDT
        (NY_MONDAY_0900 - minutes(30), "admit", "admitted"),  # 08:30:00 EDT
        (NY_MONDAY_0900 + minutes(15), "admit", "admitted"),  # 09:15:00 EDT
        (NY_MONDAY_0900 + minutes(15) + sec(1), "refused", "late"),  # 09:15:01 EDT
        # 23:30 EDT on Sunday the 14th: the same UTC date, another day in New York.
        (datetime(2027, 3, 15, 3, 30, tzinfo=UTC), "refused", "other_day"),
        # 00:00 EDT on Monday: today in New York (an EST clock would still say Sunday).
        (datetime(2027, 3, 15, 4, 0, tzinfo=UTC), "early", "early"),
    ],
)
def test_new_york_the_day_after_the_change(new_york, desk, sent, officer, at, outcome, code):
    booking = desk(new_york, NY_MONDAY_0900, now=NY_BOOKED_AT)
    assert booking.starts_at.astimezone(new_york.zone).strftime("%H:%M %Z") == "09:00 EDT"
    result = checkin_perform(post=new_york, code=booking.code, actor=officer, now=at)
    assert (result.outcome, result.code) == (outcome, code)
    if code == "early":
        assert result.come_back_at.strftime("%H:%M %Z") == "08:30 EDT"
        assert "08:30" in result.message


def test_new_york_across_the_jump_itself(new_york, desk, sent, officer):
    """03:00 EDT on the 14th came 30 real minutes after 01:30 EST: the wall clock skipped
    02:00–03:00, so "30 minutes early" is 01:30, not 02:30 (which never happened)."""
    booking = desk(new_york, NY_SUNDAY_0300, now=NY_BOOKED_AT)
    too_early = checkin_perform(
        post=new_york, code=booking.code, actor=officer, now=NY_SUNDAY_0300 - minutes(31)
    )
    assert too_early.outcome == "early"
    assert too_early.come_back_at.strftime("%H:%M %Z") == "01:30 EST"
    assert "01:30" in too_early.message
    admitted = checkin_perform(
        post=new_york, code=booking.code, actor=officer, now=NY_SUNDAY_0300 - minutes(30)
    )
    assert admitted.outcome == "admit"
    assert admitted.booking.checked_in_at.astimezone(new_york.zone).strftime("%H:%M") == "01:30"
    assert admitted.queue_position == 1


# Overrides ------------------------------------------------------------------------------------
@pytest.mark.parametrize("reason", ["", "   ", "ok", "  too short  "])
def test_override_without_a_reason_is_refused_and_changes_nothing(
    lima, desk, sent, officer, reason
):
    booking = desk(lima, LIMA_0900)
    late = LIMA_0900 + minutes(20)
    checkin_perform(post=lima, code=booking.code, actor=officer, now=late)
    with pytest.raises(CheckinRefused) as refused:
        checkin_override(post=lima, code=booking.code, actor=officer, reason=reason, now=late)
    assert refused.value.code == "reason_required"
    assert refused.value.message
    assert status_of(booking) == BookingStatus.LATE_REFUSED
    assert actions(booking) == ["acs.checkin.refused_late"]


def test_override_with_a_reason_admits_and_is_audited(lima, desk, sent, officer):
    booking = desk(lima, LIMA_0900)
    late = LIMA_0900 + minutes(20)
    checkin_perform(post=lima, code=booking.code, actor=officer, now=late)
    reason = "Bus strike on Avenida Arequipa, arrived 20 minutes late."
    result = checkin_override(
        post=lima, code=booking.code, actor=officer, reason=f"  {reason} ", now=late
    )
    assert (result.outcome, result.code, result.queue_position) == ("admit", "overridden", 1)
    assert status_of(booking) == BookingStatus.CHECKED_IN
    assert actions(booking) == ["acs.checkin.refused_late", "acs.checkin.overridden"]
    entry = AuditEntry.objects.get(action="acs.checkin.overridden")
    assert entry.actor == officer
    assert reason in entry.summary
    assert entry.changes["override_reason"] == ["", reason]
    assert entry.changes["status"] == ["late_refused", "checked_in"]


def test_override_admits_early_and_other_day_but_not_cancelled_or_admitted(
    lima, desk, sent, officer
):
    reason = "Elderly citizen, cannot wait outside in the sun."
    early = desk(lima, LIMA_0900)
    result = checkin_override(
        post=lima, code=early.code, actor=officer, reason=reason, now=LIMA_0900 - minutes(60)
    )
    assert result.code == "overridden"

    tomorrow = desk(lima, LIMA_0900 + timedelta(days=1))
    result = checkin_override(
        post=lima, code=tomorrow.code, actor=officer, reason=reason, now=LIMA_0900
    )
    assert result.code == "overridden"

    for booking in (early, tomorrow):  # already in
        with pytest.raises(CheckinRefused) as refused:
            checkin_override(
                post=lima, code=booking.code, actor=officer, reason=reason, now=LIMA_0900
            )
        assert refused.value.code == "not_overridable"

    cancelled = desk(lima, LIMA_0900 + minutes(30))
    booking_cancel(booking=cancelled, now=BOOKED_AT)
    with pytest.raises(CheckinRefused):
        checkin_override(
            post=lima, code=cancelled.code, actor=officer, reason=reason, now=LIMA_0900
        )
    assert status_of(cancelled) == BookingStatus.CANCELLED


# Served and no-shows --------------------------------------------------------------------------
def test_mark_served_after_check_in_only(lima, desk, sent, officer):
    booking = desk(lima, LIMA_0900)
    with pytest.raises(CheckinRefused) as refused:
        booking_mark_served(booking=booking, actor=officer, now=LIMA_0900)
    assert refused.value.code == "not_checked_in"

    checkin_perform(post=lima, code=booking.code, actor=officer, now=LIMA_0900)
    booking_mark_served(booking=booking, actor=officer, now=LIMA_0900 + minutes(20))
    booking_mark_served(booking=booking, actor=officer, now=LIMA_0900 + minutes(25))  # again
    booking.refresh_from_db()
    assert booking.status == BookingStatus.SERVED
    assert booking.served_at == LIMA_0900 + minutes(20)
    assert actions(booking) == ["acs.checkin.admitted", "acs.booking.served"]
    # A served booking scanned again is "already checked in", not a second admission.
    again = checkin_perform(post=lima, code=booking.code, actor=officer, now=LIMA_0900)
    assert again.code == "already_checked_in"


def test_no_shows_are_marked_once_the_late_limit_has_passed(
    lima, desk, sent, officer, django_capture_on_commit_callbacks
):
    absent = desk(lima, LIMA_0900)
    present = desk(lima, LIMA_0900 + minutes(30))
    later = desk(lima, LIMA_0900 + minutes(60))
    checkin_perform(post=lima, code=present.code, actor=officer, now=LIMA_0900 + minutes(10))

    assert no_shows_mark(now=LIMA_0900 + minutes(15)) == 0  # exactly at the limit: not yet
    assert no_shows_mark(now=LIMA_0900 + minutes(15) + sec(1)) == 1
    assert no_shows_mark(now=LIMA_0900 + minutes(15) + sec(2)) == 0  # repeating is harmless

    assert status_of(absent) == BookingStatus.NO_SHOW
    assert status_of(present) == BookingStatus.CHECKED_IN
    assert status_of(later) == BookingStatus.BOOKED
    entry = AuditEntry.objects.get(action="acs.booking.no_show")
    assert (entry.object_id, entry.actor, entry.actor_name) == (str(absent.pk), None, "system")
    assert not BookingPerson.objects.filter(booking=absent, active=True).exists()

    # The no-show turns up after all, the same morning: refused as late, emailed once.
    with django_capture_on_commit_callbacks(execute=True):
        result = checkin_perform(
            post=lima, code=absent.code, actor=officer, now=LIMA_0900 + minutes(40)
        )
    assert result.code == "late"
    assert status_of(absent) == BookingStatus.LATE_REFUSED
    assert [email for email in booking_emails() if email[0] == absent.pk] == [
        (absent.pk, "confirmation"),
        (absent.pk, "late_refused"),
    ]


def test_the_no_show_task_is_scheduled_every_15_minutes_on_the_periodic_queue(monkeypatch):
    entry = django_settings.CELERY_BEAT_SCHEDULE["appointments.no-shows"]
    assert entry["task"] == "acs.appointments.tasks.mark_no_shows"
    assert entry["task"] in celery_app.tasks
    assert entry["options"] == {"queue": "periodic"}
    assert entry["schedule"].minute == {0, 15, 30, 45}
    monkeypatch.setattr(tasks, "no_shows_mark", lambda: 3)
    assert tasks.mark_no_shows() == 3


# The pages, by role ---------------------------------------------------------------------------
def sign_in(client, *, username: str, role: str | None):
    """A verified staff session through the real sign-in form and a current TOTP code."""
    roles_sync()
    creds = staff_user_create(username=username, email=f"{username}@example.org")
    if role:
        roles_give(creds.user, [role])
    device = creds.user.totpdevice_set.get()
    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    response = client.post(
        "/staff/admin/login/",
        {"username": username, "password": creds.password, "otp_token": code, "next": "/staff/"},
    )
    assert response.status_code == 302, response.content.decode()[:500]
    return creds.user


@pytest.fixture
def clock(monkeypatch):
    """The door's clock (only the door's) at 09:05 on the Lima booking's day."""
    at = LIMA_0900 + minutes(5)
    monkeypatch.setattr("acs.appointments.services.door.timezone", SimpleNamespace(now=lambda: at))
    return at


@pytest.fixture
def front_desk_client(client, lima):
    sign_in(client, username="desk", role=roles.FRONT_DESK)
    return client


@pytest.fixture
def officer_client(client, lima):
    sign_in(client, username="officer2", role=roles.CONSULAR_OFFICER)
    return client


def test_the_door_page_is_a_form_that_works_without_javascript(front_desk_client):
    response = front_desk_client.get("/staff/door/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'action="/staff/door/check/"' in html
    assert re.search(r'<input[^>]*name="code"[^>]*autofocus', html)
    assert 'src="/static/acs/door.js"' in html


def test_front_desk_checks_in_and_sees_the_admit_screen(front_desk_client, lima, desk, sent, clock):
    booking = desk(lima, LIMA_0900)
    response = front_desk_client.post("/staff/door/check/", {"code": booking.code.lower()})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-outcome="admit"' in html
    assert "ADMIT" in html
    assert "Person Number" in html  # the names
    assert "Lima time" in html
    assert "No phones or other electronic devices inside." in html
    assert 'href="/staff/door/"' in html  # Next
    entry = AuditEntry.objects.get(action="acs.checkin.admitted")
    assert entry.actor.username == "desk"

    again = front_desk_client.post("/staff/door/check/", {"code": booking.code})
    html = again.content.decode()
    assert 'data-code="already_checked_in"' in html
    assert "Already checked in at 09:05." in html
    assert 'role="alert"' in html


def test_front_desk_sees_no_override_and_cannot_post_one(
    front_desk_client, lima, desk, sent, clock
):
    booking = desk(lima, LIMA_0900 + timedelta(days=1))
    response = front_desk_client.post("/staff/door/check/", {"code": booking.code})
    html = response.content.decode()
    assert 'data-code="other_day"' in html
    assert "NOT ADMITTED" in html
    assert "Person Number" not in html  # a refusal shows no names
    assert "/staff/door/override/" not in html
    forced = front_desk_client.post(
        "/staff/door/override/",
        {"code": booking.code, "reason": "I would like to let them in anyway."},
    )
    assert forced.status_code == 403
    assert status_of(booking) == BookingStatus.BOOKED


def test_officer_overrides_with_a_reason_only(officer_client, lima, desk, sent, clock):
    booking = desk(lima, LIMA_0900 - minutes(30))  # 08:30; it is 09:05: 35 minutes late
    response = officer_client.post("/staff/door/check/", {"code": booking.code})
    html = response.content.decode()
    assert 'data-code="late"' in html
    assert 'action="/staff/door/override/"' in html

    refused = officer_client.post("/staff/door/override/", {"code": booking.code, "reason": " "})
    assert refused.status_code == 200
    assert "at least 10 characters" in refused.content.decode()
    assert status_of(booking) == BookingStatus.LATE_REFUSED

    admitted = officer_client.post(
        "/staff/door/override/",
        {"code": booking.code, "reason": "Hospital appointment ran late, letter shown."},
    )
    html = admitted.content.decode()
    assert 'data-code="overridden"' in html
    assert "Person Number" in html
    assert status_of(booking) == BookingStatus.CHECKED_IN
    entry = AuditEntry.objects.get(action="acs.checkin.overridden")
    assert entry.actor.username == "officer2"
    assert "Hospital appointment ran late" in entry.summary


def test_early_is_amber_with_the_time_to_come_back(front_desk_client, lima, desk, sent, clock):
    booking = desk(lima, LIMA_0900 + minutes(60))  # 10:00; it is 09:05
    html = front_desk_client.post("/staff/door/check/", {"code": booking.code}).content.decode()
    assert 'data-outcome="early"' in html
    assert "EARLY" in html
    assert "Come back at 09:30." in html


def test_unknown_code_and_empty_form(front_desk_client, clock):
    html = front_desk_client.post("/staff/door/check/", {"code": "zzzz zzzz"}).content.decode()
    assert 'data-code="not_found"' in html
    empty = front_desk_client.post("/staff/door/check/", {"code": ""})
    assert empty.status_code == 200
    assert "usa-error-message" in empty.content.decode()
    assert front_desk_client.get("/staff/door/check/").status_code == 302


def test_marking_served_needs_the_permission(front_desk_client, lima, desk, sent, clock, client):
    booking = desk(lima, LIMA_0900)
    front_desk_client.post("/staff/door/check/", {"code": booking.code})
    denied = front_desk_client.post(f"/staff/bookings/{booking.pk}/served/")
    assert denied.status_code == 403
    assert status_of(booking) == BookingStatus.CHECKED_IN

    client.logout()
    sign_in(client, username="officer3", role=roles.CONSULAR_OFFICER)
    done = client.post(f"/staff/bookings/{booking.pk}/served/")
    assert done.status_code == 302
    assert done["Location"] == f"/staff/bookings/{booking.pk}/"
    assert status_of(booking) == BookingStatus.SERVED
    assert AuditEntry.objects.get(action="acs.booking.served").actor.username == "officer3"
    # ``next`` back to the day page is followed; another site is not.
    elsewhere = client.post(
        f"/staff/bookings/{booking.pk}/served/", {"next": "https://evil.example/"}
    )
    assert elsewhere["Location"] == f"/staff/bookings/{booking.pk}/"
    day = client.post(f"/staff/bookings/{booking.pk}/served/", {"next": "/staff/day/"})
    assert day["Location"] == "/staff/day/"


def test_staff_without_the_door_role_are_refused(client, lima):
    sign_in(client, username="comms", role=roles.COMMUNICATIONS)
    assert client.get("/staff/door/").status_code == 403
    assert client.post("/staff/door/check/", {"code": "2345-6789"}).status_code == 403
