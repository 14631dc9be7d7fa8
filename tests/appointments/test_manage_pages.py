"""After booking: the manage page behind the emailed link, find by code and email, cancel,
reschedule, the calendar file and the door's QR code."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from icalendar import Calendar

from acs.appointments import availability, selectors, services
from acs.appointments.constants import BookingStatus
from acs.appointments.models import Booking, Service
from tests.core.outbox import hold_emails

pytestmark = pytest.mark.django_db

EMAIL = "ana@example.org"


@pytest.fixture(autouse=True)
def _no_booking_emails(monkeypatch):
    """The booking emails are tested on their own; here they are written and not sent."""
    hold_emails(monkeypatch)


@pytest.fixture
def service(lima) -> Service:
    services.services_seed(
        post=lima,
        entries=[
            {
                "slug": "passport-renewal",
                "order": 1,
                "duration_minutes": 30,
                "seats_per_slot": 2,
                "max_people": 3,
                "horizon_days": 30,
                "min_notice_hours": 0,
                "requires_benefits_ack": False,
                "hours": [[day, "08:00", "12:00"] for day in range(7)],
                "name": {"en": "Adult passport renewal", "es": "Renovación de pasaporte"},
                "description": {"en": "", "es": ""},
                "checklist": {"en": ["Your current passport"], "es": ["Su pasaporte actual"]},
            }
        ],
    )
    return Service.objects.select_related("post").get(slug="passport-renewal")


def free_slots(service: Service, *, first_day: int = 2) -> list[availability.Slot]:
    today = timezone.now().astimezone(service.post.zone).date()
    days = availability.slots_between(
        service, today + timedelta(days=first_day), today + timedelta(days=20)
    )
    return [slot for slots in days.values() for slot in slots if slot.free == slot_seats(service)]


def slot_seats(service: Service) -> int:
    return service.seats_per_slot


def free_at(service: Service, starts_at: datetime) -> int:
    slot = availability.slot_offered(service, starts_at)
    assert slot is not None
    return slot.free


def book(service, starts_at, *, names=("Ana Torres",), email=EMAIL) -> Booking:
    return services.booking_create(
        service=service,
        starts_at=starts_at,
        people=[
            services.PersonData(full_name=name, date_of_birth=date(1980, 5, 1 + index))
            for index, name in enumerate(names)
        ],
        email=email,
        phone="+51987654321",
    )


@pytest.fixture
def booking(service) -> Booking:
    return book(service, free_slots(service)[0].starts_at, names=("Ana Torres", "Luis Torres"))


def url(name: str, language: str = "en", **kwargs) -> str:
    with translation.override(language):
        return reverse(f"appointments:{name}", kwargs=kwargs)


# Manage ------------------------------------------------------------------------------------


def test_manage_by_token_shows_the_appointment(client, booking):
    response = client.get(url("manage", token=booking.token))
    page = response.content.decode()
    assert response.status_code == 200
    assert booking.code in page
    assert 'class="acs-code"' in page
    assert "Adult passport renewal" in page
    assert "Ana Torres" in page and "Luis Torres" in page
    assert "Avenida La Encalada" in page
    assert "Lima time (UTC−05:00)" in page
    local = booking.starts_at.astimezone(booking.post.zone)
    assert local.strftime("%H:%M") in page
    assert "Your current passport" in page
    assert 'href="/en/lima/access-policy/"' in page
    assert "15 minutes late" in page
    assert f'src="{url("qr", token=booking.token)}"' in page
    assert f'alt="QR code for the door: {booking.code}"' in page
    assert url("ics", token=booking.token) in page
    assert url("reschedule", token=booking.token) in page
    assert url("cancel", token=booking.token) in page
    assert "no-store" in response["Cache-Control"]
    assert "We sent a confirmation" not in page


def test_manage_after_booking_says_so(client, booking):
    page = client.get(url("manage", token=booking.token) + "?new=1").content.decode()
    assert f"Your appointment is booked. We sent a confirmation to {EMAIL}." in page


def test_manage_in_spanish(client, booking):
    response = client.get(url("manage", "es", token=booking.token))
    assert response.status_code == 200
    assert "Renovación de pasaporte" in response.content.decode()
    assert 'lang="es"' in response.content.decode()


@pytest.mark.parametrize("token", ["not-a-real-token", "1", "A" * 32])
def test_forged_token_is_404(client, booking, token):
    for name in ("manage", "cancel", "reschedule"):
        response = client.get(url(name, token=token))
        assert response.status_code == 404
        assert "This link is not valid or has expired" in response.content.decode()
    assert client.get(url("ics", token=token)).status_code == 404
    assert client.get(url("qr", token=token)).status_code == 404


def test_tokens_are_not_sequential_ids(client, booking):
    assert booking.token != str(booking.pk)
    assert len(booking.token) >= 32
    assert client.get(url("manage", token=str(booking.pk))).status_code == 404


def test_past_booking_has_no_change_buttons(client, booking):
    Booking.objects.filter(pk=booking.pk).update(
        starts_at=timezone.now() - timedelta(days=1), status=BookingStatus.SERVED
    )
    page = client.get(url("manage", token=booking.token)).content.decode()
    assert url("reschedule", token=booking.token) not in page
    assert url("cancel", token=booking.token) not in page


# Find by code and email ----------------------------------------------------------------------


def test_find_by_code_and_email(client, booking):
    assert client.get(url("find")).status_code == 200
    response = client.post(url("find"), {"code": booking.code, "email": EMAIL.upper()})
    assert response.status_code == 302
    assert response["Location"] == url("manage", token=booking.token)
    relaxed = booking.code.replace("-", "").lower()
    response = client.post(url("find"), {"code": relaxed, "email": EMAIL})
    assert response["Location"] == url("manage", token=booking.token)


def test_find_refuses_a_wrong_pair_with_one_message(client, booking):
    message = "We could not find an appointment with that code and email."
    wrong_email = client.post(url("find"), {"code": booking.code, "email": "eve@example.org"})
    wrong_code = client.post(url("find"), {"code": "ZZZZ-ZZZZ", "email": EMAIL})
    for response in (wrong_email, wrong_code):
        assert response.status_code == 400
        assert message in response.content.decode()
        assert booking.token not in response.content.decode()


def test_find_is_rate_limited(client, booking):
    for _attempt in range(20):
        client.post(url("find"), {"code": "ZZZZ-ZZZZ", "email": EMAIL})
    response = client.post(url("find"), {"code": booking.code, "email": EMAIL})
    assert response.status_code == 429


# Cancel --------------------------------------------------------------------------------------


def test_cancel_frees_the_seats_and_is_harmless_twice(client, booking, service):
    assert free_at(service, booking.starts_at) == 0
    page = client.get(url("cancel", token=booking.token)).content.decode()
    assert "Cancel your appointment on" in page
    assert "late cancellation" not in page

    first = client.post(url("cancel", token=booking.token))
    assert first.status_code == 302
    assert first["Location"] == url("manage", token=booking.token) + "?cancelled=1"
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    assert not booking.cancelled_late
    assert free_at(service, booking.starts_at) == 2

    second = client.post(url("cancel", token=booking.token))
    assert second.status_code == 302
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED

    page = client.get(first["Location"]).content.decode()
    assert "Your appointment is cancelled." in page
    assert url("cancel", token=booking.token) not in page


def test_cancel_within_24_hours_warns_it_is_late(client, booking, monkeypatch):
    # Three hours before the appointment, as the citizen opens the cancel page.
    three_hours_before = booking.starts_at - timedelta(hours=3)
    monkeypatch.setattr("django.utils.timezone.now", lambda: three_hours_before)
    page = client.get(url("cancel", token=booking.token)).content.decode()
    assert "counted as a late cancellation" in page
    client.post(url("cancel", token=booking.token))
    booking.refresh_from_db()
    assert booking.cancelled_late


def test_cancellation_is_late_selector(booking):
    assert not selectors.cancellation_is_late(booking, now=booking.starts_at - timedelta(days=2))
    assert selectors.cancellation_is_late(booking, now=booking.starts_at - timedelta(hours=23))


# Reschedule ------------------------------------------------------------------------------


def test_reschedule_moves_the_booking_and_frees_the_old_seat(client, booking, service):
    old = booking.starts_at
    new = free_slots(service)[3]
    page = client.get(url("reschedule", token=booking.token)).content.decode()
    assert "Choose a new time" in page
    assert f'value="{old:%Y-%m-%dT%H:%MZ}"' not in page  # its own time is not offered

    day = client.get(
        url("reschedule", token=booking.token), {"day": new.local.date().isoformat()}
    ).content.decode()
    assert f'value="{new.key}"' in day

    response = client.post(url("reschedule", token=booking.token), {"slot": new.key})
    assert response.status_code == 302
    assert response["Location"] == url("manage", token=booking.token) + "?rescheduled=1"
    booking.refresh_from_db()
    assert booking.starts_at == new.starts_at
    assert booking.reschedule_count == 1
    assert free_at(service, old) == 2
    assert free_at(service, new.starts_at) == 0
    page = client.get(response["Location"]).content.decode()
    assert "Your appointment has been moved to" in page


def test_reschedule_to_a_full_slot_keeps_the_old_booking(client, booking, service):
    old = booking.starts_at
    full = free_slots(service)[2]
    book(service, full.starts_at, names=("Eva Ríos",), email="eva@example.org")  # 1 seat left
    response = client.post(url("reschedule", token=booking.token), {"slot": full.key})
    page = response.content.decode()
    assert response.status_code == 409
    assert "that time was just taken" in page
    nearest = re.findall(r'name="slot" value="([^"]+)"', page)
    assert nearest and full.key not in nearest
    booking.refresh_from_db()
    assert booking.starts_at == old
    assert booking.reschedule_count == 0
    assert free_at(service, old) == 0


def test_reschedule_to_a_time_not_offered_is_refused(client, booking):
    past = (timezone.now() - timedelta(days=3)).strftime("%Y-%m-%dT%H:%MZ")
    response = client.post(url("reschedule", token=booking.token), {"slot": past})
    assert response.status_code == 400
    assert "That time is not open for booking." in response.content.decode()
    old = booking.starts_at
    booking.refresh_from_db()
    assert booking.starts_at == old


def test_cancelled_booking_cannot_be_rescheduled(client, booking, service):
    services.booking_cancel(booking=booking)
    new = free_slots(service)[3]
    response = client.post(url("reschedule", token=booking.token), {"slot": new.key})
    assert response.status_code == 400
    assert "can no longer be changed" in response.content.decode()
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED


# Calendar file and QR code ---------------------------------------------------------------------


def test_ics_download(client, booking):
    response = client.get(url("ics", token=booking.token))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert "attachment" in response["Content-Disposition"]
    calendar = Calendar.from_ical(response.content)
    (event,) = calendar.walk("VEVENT")
    assert event.decoded("DTSTART") == booking.starts_at
    assert event.decoded("DTSTART").tzinfo is not None
    assert event.decoded("DTSTART").utcoffset() == timedelta(0)
    assert event.decoded("DTEND") == booking.starts_at + timedelta(minutes=30)
    assert str(event["UID"]) == f"{booking.token}@acs-portal"
    assert str(event["SUMMARY"]) == "Adult passport renewal — U.S. Embassy Lima"
    assert "Avenida La Encalada" in str(event["LOCATION"])
    description = str(event["DESCRIPTION"])
    assert booking.code in description
    assert "15 minutes" in description
    assert f"http://testserver{url('manage', token=booking.token)}" in description


def test_ics_of_a_cancelled_booking_says_cancelled(client, booking):
    services.booking_cancel(booking=booking)
    calendar = Calendar.from_ical(client.get(url("ics", token=booking.token)).content)
    (event,) = calendar.walk("VEVENT")
    assert str(event["STATUS"]) == "CANCELLED"


def test_qr_code_is_svg_of_the_code(client, booking):
    response = client.get(url("qr", token=booking.token))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert "private" in response["Cache-Control"]
    svg = response.content.decode()
    assert svg.lstrip().startswith("<svg")
    assert f"<title>{booking.code}</title>" in svg
    assert booking.token not in svg


def test_qr_matches_a_qr_of_the_code_alone(client, booking):
    import io

    import segno

    buffer = io.BytesIO()
    segno.make(booking.code, error="m", micro=False).save(
        buffer, kind="svg", scale=8, border=4, xmldecl=False, svgns=True, title=booking.code
    )
    assert client.get(url("qr", token=booking.token)).content == buffer.getvalue()


def test_dtstart_utc_for_a_known_instant(service):
    """The builder writes UTC whatever the post's zone."""
    from acs.appointments.calendar import booking_ics

    starts_at = free_slots(service)[0].starts_at
    booking = book(service, starts_at)
    event = Calendar.from_ical(booking_ics(booking, "https://x.example/m/")).walk("VEVENT")[0]
    assert event.decoded("DTSTART") == starts_at.astimezone(UTC)
    assert b"DTSTART:" in event.to_ical() and b"Z\r\n" in event.to_ical()


def test_manage_query_count_is_pinned(client, booking, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        assert client.get(url("manage", token=booking.token)).status_code == 200
