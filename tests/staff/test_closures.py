"""Unplanned closures: the two-step page cancels exactly the bookings the range covers, emails
each person once (and never again on a repeated confirm), leaves people already inside
alone, audits it all; the public notice in both languages; the priority link that lets a
cancelled citizen book beyond the horizon (and a forged or expired one that does not); the
front desk cannot close the unit."""

from __future__ import annotations

import re
import time as clock
from datetime import date, datetime, time, timedelta
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.core import mail, signing
from django.test import Client
from django.utils import timezone

from acs.appointments import availability
from acs.appointments.constants import (
    AUDIT_BOOKING_CANCELLED_BY_CLOSURE,
    AUDIT_CLOSURE_CREATED,
    BookingStatus,
)
from acs.appointments.forms import local_instant
from acs.appointments.models import Booking, Closure
from acs.appointments.services import BookingError, booking_create
from acs.appointments.services.closures import (
    ClosureError,
    closure_create_and_cancel,
    priority_horizon,
    priority_token,
)
from acs.core.models import AuditEntry
from acs.staff import roles
from acs.staff.services import roles_sync
from tests.appointments.factories import make_service, person
from tests.appointments.test_booking_pages import people_form

pytestmark = pytest.mark.django_db

SITE = "https://acs.example.gov"
REASON_EN = "A demonstration blocks the street."
REASON_ES = "Una manifestación bloquea la calle."


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.ACS_SITE_URL = SITE
    settings.ACS_POW_ENABLED = False


def open_day(post, after: int) -> date:
    """The first day at least ``after`` days ahead in the post's zone that is no holiday."""
    day = timezone.now().astimezone(post.zone).date() + timedelta(days=after)
    while availability.holiday_name(post.country_code, day):
        day += timedelta(days=1)
    return day


@pytest.fixture
def day(lima) -> date:
    """Three days ahead or so: inside every horizon, and no slot passes during a test."""
    return open_day(lima, 3)


def at(post, day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=post.zone)


_numbers = iter(range(1, 10_000))


def book(service, starts_at: datetime, email: str) -> Booking:
    return booking_create(
        service=service,
        starts_at=starts_at,
        people=[person(next(_numbers))],
        email=email,
        phone="+51 1 618 2000",
    )


@pytest.fixture
def world(lima, day):
    """Passports (30 minutes) and notarials (60 minutes), both 09:00–11:00 every day, with a
    booking before, two inside, one after 09:30–10:30, and a notarial from 09:00 (so still
    going on at 09:30)."""
    passports = make_service(post=lima, slug="passports", duration=30, seats=2)
    notarials = make_service(post=lima, slug="notarials", duration=60, seats=2)
    return {
        "passports": passports,
        "notarials": notarials,
        "before": book(passports, at(lima, day, 9, 0), "before@example.org"),
        "inside": book(passports, at(lima, day, 9, 30), "inside@example.org"),
        "inside_too": book(passports, at(lima, day, 10, 0), "twice@example.org"),
        "after": book(passports, at(lima, day, 10, 30), "after@example.org"),
        "notarial": book(notarials, at(lima, day, 9, 0), "twice@example.org"),
    }


@pytest.fixture
def officer(staff_member, verified_client):
    roles_sync()
    return verified_client(staff_member("officer", groups=[roles.CONSULAR_OFFICER]))


def form_data(day: date, *, service=None, starts="09:30", ends="10:30") -> dict[str, str]:
    return {
        "service": str(service.pk) if service else "",
        "starts_date": day.isoformat(),
        "starts_time": starts,
        "ends_date": day.isoformat(),
        "ends_time": ends,
        "reason_en": REASON_EN,
        "reason_es": REASON_ES,
        "step": "review",
    }


def review_and_confirm(client, data, capture):
    """Step 1 → step 2 (returns its page) → confirm, with on-commit work run."""
    review = client.post("/staff/closures/new/", data)
    assert review.status_code == 200, review.content.decode()
    nonce = re.search(r'name="nonce" value="([^"]+)"', review.content.decode()).group(1)
    with capture(execute=True):
        done = client.post("/staff/closures/new/", {**data, "nonce": nonce, "step": "confirm"})
    assert done.status_code == 302
    assert done["Location"] == "/staff/closures/"
    return review, {**data, "nonce": nonce, "step": "confirm"}


def statuses(world) -> dict[str, str]:
    return {
        name: Booking.objects.get(pk=booking.pk).status
        for name, booking in world.items()
        if isinstance(booking, Booking)
    }


# The closure, end to end -------------------------------------------------------------------


def test_closing_one_service_cancels_exactly_its_bookings_in_the_range(
    officer, world, day, django_capture_on_commit_callbacks
):
    data = form_data(day, service=world["passports"])
    review, confirm = review_and_confirm(officer, data, django_capture_on_commit_callbacks)

    page = review.content.decode()
    assert "This cancels 2 appointments" in page
    assert world["inside"].code in page and world["inside_too"].code in page
    assert world["before"].code not in page and world["after"].code not in page
    assert world["notarial"].code not in page
    assert "09:30, Lima time (UTC−05:00)" in page
    assert "inside@example.org" not in page  # no contact details on the confirmation

    assert statuses(world) == {
        "before": BookingStatus.BOOKED,
        "inside": BookingStatus.CANCELLED,
        "inside_too": BookingStatus.CANCELLED,
        "after": BookingStatus.BOOKED,
        "notarial": BookingStatus.BOOKED,
    }
    cancelled = Booking.objects.get(pk=world["inside"].pk)
    assert cancelled.cancelled_late is False  # the post cancelled, not the citizen
    assert not cancelled.people.filter(active=True).exists()  # free to book again
    closure = Closure.objects.get()
    assert closure.service == world["passports"]
    assert closure.starts_at == at(world["passports"].post, day, 9, 30)
    assert closure.reason_es == REASON_ES
    assert sorted(message.to[0] for message in mail.outbox) == [
        "inside@example.org",
        "twice@example.org",
    ]

    # The same confirm again (a double click, a resent form): no second closure, no email.
    with django_capture_on_commit_callbacks(execute=True):
        again = officer.post("/staff/closures/new/", confirm)
    assert again.status_code == 302
    assert Closure.objects.count() == 1
    assert len(mail.outbox) == 2
    listing = officer.get("/staff/closures/").content.decode()
    assert "had already been made" in listing
    assert REASON_EN in listing and "officer" in listing


def test_closing_the_unit_covers_every_service_and_leaves_people_inside(
    officer, world, day, django_capture_on_commit_callbacks
):
    Booking.objects.filter(pk=world["inside_too"].pk).update(status=BookingStatus.CHECKED_IN)
    review, _confirm = review_and_confirm(
        officer, form_data(day), django_capture_on_commit_callbacks
    )

    page = review.content.decode()
    assert "This cancels 2 appointments" in page
    assert "1 appointment is already inside" in page
    assert statuses(world) == {
        "before": BookingStatus.BOOKED,
        "inside": BookingStatus.CANCELLED,
        "inside_too": BookingStatus.CHECKED_IN,
        "after": BookingStatus.BOOKED,
        # From 09:00 for an hour: still going on when the closure starts at 09:30.
        "notarial": BookingStatus.CANCELLED,
    }
    assert sorted(message.to[0] for message in mail.outbox) == [
        "inside@example.org",
        "twice@example.org",
    ]


def test_each_person_is_emailed_once_for_all_their_bookings(
    officer, world, day, django_capture_on_commit_callbacks
):
    review_and_confirm(officer, form_data(day), django_capture_on_commit_callbacks)

    (message,) = [m for m in mail.outbox if m.to == ["twice@example.org"]]
    assert len(mail.outbox) == 2  # inside@, and twice@ once for its two bookings
    body = message.body
    assert world["inside_too"].code in body and world["notarial"].code in body
    assert REASON_EN in body
    assert "Closed from" in body and "UTC−05:00" in body
    assert body.count(f"{SITE}/en/lima/appointments/") == 2  # one priority link per booking
    calendars = [a for a in message.attachments if "calendar" in str(a.get_content_type())]
    assert len(calendars) == 2


def test_the_closure_and_each_cancellation_are_audited(
    officer, world, day, django_capture_on_commit_callbacks
):
    review_and_confirm(
        officer, form_data(day, service=world["passports"]), django_capture_on_commit_callbacks
    )
    closure = Closure.objects.get()
    (entry,) = AuditEntry.objects.filter(action=AUDIT_CLOSURE_CREATED)
    assert entry.actor.username == "officer"
    assert entry.object_id == str(closure.pk)
    assert entry.changes["cancelled"] == [None, 2]
    assert set(entry.changes["cancelled_codes"][1].split()) == {
        world["inside"].code,
        world["inside_too"].code,
    }
    assert entry.changes["reason_en"] == [None, REASON_EN]
    per_booking = AuditEntry.objects.filter(action=AUDIT_BOOKING_CANCELLED_BY_CLOSURE)
    assert {e.object_id for e in per_booking} == {
        str(world["inside"].pk),
        str(world["inside_too"].pk),
    }
    assert all(e.changes["status"] == ["booked", "cancelled"] for e in per_booking)


def test_a_repeated_or_identical_confirm_changes_nothing(
    lima, world, day, staff_member, django_capture_on_commit_callbacks
):
    actor = staff_member("officer").user
    values = {
        "post": lima,
        "service": None,
        "starts_at": at(lima, day, 9, 30),
        "ends_at": at(lima, day, 10, 30),
        "reason_en": REASON_EN,
        "reason_es": REASON_ES,
        "actor": actor,
    }
    with django_capture_on_commit_callbacks(execute=True):
        first = closure_create_and_cancel(**values, nonce="n-1")
        same_nonce = closure_create_and_cancel(**values, nonce="n-1")
        same_closure = closure_create_and_cancel(**values, nonce="n-2")
    assert first.created and len(first.cancelled) == 3
    assert not same_nonce.created and same_nonce.closure == first.closure
    assert not same_closure.created and same_closure.cancelled == []
    assert Closure.objects.count() == 1
    assert len(mail.outbox) == 2
    assert AuditEntry.objects.filter(action=AUDIT_CLOSURE_CREATED).count() == 1


def test_the_form_refuses_a_range_that_ends_first_and_says_why(officer, world, day):
    response = officer.post("/staff/closures/new/", form_data(day, starts="10:30", ends="09:30"))
    assert response.status_code == 400
    page = response.content.decode()
    assert "The closure must end after it starts." in page
    assert 'role="alert"' in page and 'aria-invalid="true"' in page
    assert not Closure.objects.exists()


def test_a_closure_already_over_is_refused(lima, staff_member):
    past = timezone.now() - timedelta(days=1)
    with pytest.raises(ClosureError) as refused:
        closure_create_and_cancel(
            post=lima,
            service=None,
            starts_at=past,
            ends_at=past + timedelta(hours=1),
            reason_en=REASON_EN,
            reason_es=REASON_ES,
            actor=staff_member("officer").user,
            nonce="x",
        )
    assert refused.value.code == "past"


def test_a_wall_time_the_clock_skips_is_not_a_time():
    new_york = ZoneInfo("America/New_York")
    # At 02:00 on 14 March 2027 New York clocks jump to 03:00.
    assert local_instant(date(2027, 3, 14), time(2, 30), new_york) is None
    instant = local_instant(date(2027, 3, 14), time(3, 30), new_york)
    assert instant is not None and instant.utcoffset() == timedelta(hours=-4)


def test_the_front_desk_cannot_close_the_unit(staff_member, verified_client, world, day):
    roles_sync()
    desk = verified_client(staff_member("desk", groups=[roles.FRONT_DESK]))
    assert desk.get("/staff/closures/").status_code == 403
    assert desk.get("/staff/closures/new/").status_code == 403
    confirm = {**form_data(day), "nonce": "n", "step": "confirm"}
    assert desk.post("/staff/closures/new/", confirm).status_code == 403
    assert not Closure.objects.exists()
    assert statuses(world)["inside"] == BookingStatus.BOOKED


def test_the_closures_page_needs_a_verified_sign_in(client, lima):
    response = client.get("/staff/closures/new/")
    assert response.status_code == 302
    assert response["Location"].startswith("/staff/admin/login/")


# The public notice ---------------------------------------------------------------------------


def close(post, starts_at: datetime, hours: int = 2, *, nonce: str = "n", service=None, who):
    return closure_create_and_cancel(
        post=post,
        service=service,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=hours),
        reason_en=REASON_EN,
        reason_es=REASON_ES,
        actor=who,
        nonce=nonce,
    ).closure


def test_the_notice_shows_in_each_language_while_current_or_near(lima, day, client, staff_member):
    close(lima, at(lima, day, 9, 30), who=staff_member("officer").user)

    english = client.get("/en/lima/").content.decode()
    assert REASON_EN in english and REASON_ES not in english
    assert "The consular section will be closed" in english
    assert "09:30, Lima time (UTC−05:00)" in english
    spanish = client.get("/es/lima/").content.decode()
    assert REASON_ES in spanish and REASON_EN not in spanish
    assert "UTC−05:00" in spanish
    start = client.get("/en/lima/appointments/").content.decode()
    assert REASON_EN in start


def test_no_notice_for_a_closure_far_ahead_or_over(lima, client, staff_member):
    who = staff_member("officer").user
    close(lima, timezone.now() + timedelta(days=20), who=who, nonce="far")
    Closure.objects.create(
        post=lima,
        starts_at=timezone.now() - timedelta(days=2),
        ends_at=timezone.now() - timedelta(days=1),
        reason_en="Over already",
    )
    page = client.get("/en/lima/").content.decode()
    assert REASON_EN not in page and "Over already" not in page


def test_a_current_closure_says_closed_now(lima, client, staff_member):
    close(lima, timezone.now() - timedelta(hours=1), who=staff_member("officer").user)
    assert "The consular section is closed" in client.get("/en/lima/").content.decode()


# The priority link ------------------------------------------------------------------------


@pytest.fixture
def short(lima, day, staff_member, django_capture_on_commit_callbacks):
    """A service bookable 5 days ahead, and a citizen whose booking a closure cancelled;
    returns the service, the booking and the link from the email."""
    service = make_service(post=lima, slug="short", horizon_days=5, seats=1)
    booking = book(service, at(lima, day, 9, 0), "ana@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        close(lima, at(lima, day, 8, 0), hours=4, who=staff_member("officer").user)
    (message,) = mail.outbox
    link = re.search(r"https://\S+priority=\S+", message.body).group(0)
    return {"service": service, "booking": booking, "link": link}


def far_day(service) -> tuple[date, availability.Slot]:
    """A day past the normal horizon but inside the priority one, and its first slot."""
    wanted = open_day(service.post, service.horizon_days + 10)
    days = availability.slots_between(service, wanted, wanted, horizon_days=60)
    return wanted, days[wanted][0]


def times_page(client, service, wanted: date) -> str:
    client.post(f"/en/lima/appointments/{service.slug}/", {"policy": "on"})
    response = client.get(
        f"/en/lima/appointments/{service.slug}/when/", {"day": wanted.isoformat()}
    )
    assert response.status_code == 200
    return response.content.decode()


def test_the_priority_link_opens_days_beyond_the_horizon(client, short):
    service = short["service"]
    wanted, slot = far_day(service)
    assert short["link"].startswith(f"{SITE}/en/lima/appointments/short/?priority=")

    path = urlsplit(short["link"])
    arrived = client.get(f"{path.path}?{path.query}", follow=True)
    assert "Priority booking" in arrived.content.decode()
    assert "priority=" not in arrived.redirect_chain[-1][0]  # the token leaves the address
    page = times_page(client, service, wanted)
    assert f'value="{slot.key}"' in page
    assert "up to 35 days ahead" in page

    # And the booking goes through at that time.
    client.post(f"/en/lima/appointments/{service.slug}/when/", {"people": 1, "slot": slot.key})
    client.post(
        f"/en/lima/appointments/{service.slug}/people/",
        people_form([{"full_name": "Ana Torres", "born": "1980-05-01", "passport": ""}]),
    )
    done = client.post(f"/en/lima/appointments/{service.slug}/review/", {})
    assert done.status_code == 302, done.content.decode()
    assert Booking.objects.filter(service=service, starts_at=slot.starts_at).exists()


def test_without_the_link_the_far_days_are_not_offered(client, short):
    service = short["service"]
    wanted, slot = far_day(service)
    page = times_page(client, service, wanted)
    assert f'value="{slot.key}"' not in page
    assert f"day={wanted.isoformat()}#times-heading" not in page  # not among the days
    refused = client.post(
        f"/en/lima/appointments/{service.slug}/when/", {"people": 1, "slot": slot.key}
    )
    assert refused.status_code == 400


def test_a_forged_or_expired_link_gets_the_normal_horizon(client, short, monkeypatch):
    service, booking = short["service"], short["booking"]
    wanted, slot = far_day(service)
    now = clock.time()
    monkeypatch.setattr(signing.time, "time", lambda: now - 31 * 86400)
    expired = priority_token(booking)
    monkeypatch.undo()
    forged = signing.dumps({"b": booking.pk, "s": service.pk}, salt="another salt")
    tampered = unquote(short["link"].rsplit("=", 1)[1])[:-3] + "abc"

    for token in (expired, forged, tampered):
        assert priority_horizon(service=service, token=token) is None
        response = client.get(f"/en/lima/appointments/{service.slug}/", {"priority": token})
        followed = client.get(response["Location"]).content.decode()
        assert "This priority link is not valid or has expired." in followed
        assert f'value="{slot.key}"' not in times_page(client, service, wanted)


def test_a_link_only_works_for_its_own_cancelled_booking(lima, short, day):
    other = make_service(post=lima, slug="other", horizon_days=5)
    token = priority_token(short["booking"])
    assert priority_horizon(service=short["service"], token=token) == 35
    assert priority_horizon(service=other, token=token) is None
    days = availability.slots_between(other, day + timedelta(days=1), day + timedelta(days=5))
    slot = next(slot for slots in days.values() for slot in slots)
    still_booked = book(other, slot.starts_at, "luis@example.org")
    assert priority_horizon(service=other, token=priority_token(still_booked)) is None


def _book_with_link(browser, short, slot, name: str, passport: str):
    """Open the priority link, choose ``slot`` and confirm, as the citizen does."""
    service = short["service"]
    path = urlsplit(short["link"])
    browser.get(f"{path.path}?{path.query}", follow=True)
    browser.post(f"/en/lima/appointments/{service.slug}/", {"policy": "on"})
    browser.post(f"/en/lima/appointments/{service.slug}/when/", {"people": 1, "slot": slot.key})
    browser.post(
        f"/en/lima/appointments/{service.slug}/people/",
        people_form([{"full_name": name, "born": "1980-05-01", "passport": passport}]),
    )
    return browser.post(f"/en/lima/appointments/{service.slug}/review/", {})


def test_the_priority_link_works_once(client, short):
    """Issue 14: after the citizen rebooks, the same link (a forwarded email) no longer
    opens days past the horizon, and says so in plain words."""
    service = short["service"]
    wanted, slot = far_day(service)
    assert _book_with_link(client, short, slot, "Ana Torres", "").status_code == 302
    short["booking"].refresh_from_db()
    assert short["booking"].priority_used_at is not None

    other = Client()
    path = urlsplit(short["link"])
    again = other.get(f"{path.path}?{path.query}", follow=True).content.decode()
    assert "This priority link has already been used to book: it works once." in again
    assert f'value="{slot.key}"' not in times_page(other, service, wanted)
    assert priority_horizon(service=service, token=unquote(path.query.split("=", 1)[1])) is None


def test_two_tabs_with_one_priority_link_book_once(short):
    """Two tabs took the link while it was fresh and both confirm: the first booking spends
    it in its own transaction, the second is refused in plain words and writes nothing."""
    service = short["service"]
    _wanted, slot = far_day(service)
    service.seats_per_slot = 2
    service.save(update_fields=["seats_per_slot"])
    token = unquote(urlsplit(short["link"]).query.split("=", 1)[1])
    horizon = priority_horizon(service=service, token=token)
    arguments = {"service": service, "starts_at": slot.starts_at, "phone": "+51 1 618 2000"}
    arguments |= {"horizon_days": horizon, "priority_token": token}
    booking_create(people=[person(1)], email="ana@example.org", **arguments)
    with pytest.raises(BookingError, match="already been used to book: it works once"):
        booking_create(people=[person(2)], email="bruno@example.org", **arguments)
    assert Booking.objects.filter(service=service, starts_at=slot.starts_at).count() == 1
