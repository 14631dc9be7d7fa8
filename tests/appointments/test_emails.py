"""Booking emails: content in both languages, the post's wall clock across daylight saving,
the QR code inline, the .ics attachment, and the demo's .eml backend end to end."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, date, datetime

import pytest
from django.core import mail
from icalendar import Calendar

from acs.appointments import services
from acs.appointments.calendar import booking_ics
from acs.appointments.emails import booking_message, manage_url
from acs.appointments.models import Booking, Service
from acs.core.clock import utc_offset_text

SITE = "https://acs.example.gov"
# Booked on the 1st for Tuesday 15 December 2026 at 09:30 in Lima (UTC−05:00, no DST).
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
LIMA_0930 = datetime(2026, 12, 15, 14, 30, tzinfo=UTC)

CHECKLIST = {
    "en": ["Your current U.S. passport", "Completed form DS-82"],
    "es": ["Su pasaporte estadounidense actual", "El formulario DS-82 completo"],
}


@pytest.fixture(autouse=True)
def _site(settings):
    settings.ACS_SITE_URL = SITE
    settings.DEFAULT_FROM_EMAIL = "ACS Lima <acs-lima@example.gov>"


def make_service(post, *, slug: str = "passport-renewal") -> Service:
    services.services_seed(
        post=post,
        entries=[
            {
                "slug": slug,
                "order": 1,
                "duration_minutes": 15,
                "seats_per_slot": 2,
                "max_people": 4,
                "horizon_days": 60,
                "min_notice_hours": 0,
                "requires_benefits_ack": False,
                "hours": [[day, "08:00", "12:00"] for day in range(7)],
                "name": {"en": "Adult passport renewal", "es": "Renovación de pasaporte"},
                "description": {"en": "", "es": ""},
                "checklist": CHECKLIST,
            }
        ],
    )
    return Service.objects.get(post=post, slug=slug)


@pytest.fixture
def service(lima) -> Service:
    return make_service(lima)


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run a service and then its on-commit work (the email task), as a real commit would."""

    def run(service_function, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service_function(**kwargs)

    return run


@pytest.fixture
def book(commit):
    def create(service, starts_at, *, language="en", now=NOW, names=("Ana Torres",)) -> Booking:
        return commit(
            services.booking_create,
            service=service,
            starts_at=starts_at,
            people=[
                services.PersonData(full_name=name, date_of_birth=date(1980, 5, 1 + i))
                for i, name in enumerate(names)
            ],
            email="ana@example.org",
            phone="+51 999 123 456",
            language=language,
            now=now,
        )

    return create


def parts(message):
    """The sent message as the wire format a mail program parses."""
    return email.message_from_bytes(message.message().as_bytes(), policy=email.policy.default)


def text_and_html(message) -> tuple[str, str]:
    parsed = parts(message)
    text = parsed.get_body(preferencelist=("plain",)).get_content()
    html = parsed.get_body(preferencelist=("html",)).get_content()
    return text, html


def ics_of(message) -> Calendar:
    for part in parts(message).walk():
        if part.get_content_type() == "text/calendar":
            return Calendar.from_ical(part.get_payload(decode=True))
    raise AssertionError("no text/calendar part")


def only_event(calendar: Calendar):
    (event,) = calendar.walk("VEVENT")
    return event


@pytest.mark.django_db
def test_confirmation_in_english(book, service):
    booking = book(service, LIMA_0930, names=("Ana Torres", "Luis Torres"))

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ana@example.org"]
    assert message.subject.startswith("Appointment confirmed: Adult passport renewal")
    assert booking.code in message.subject
    assert message.extra_headers["Auto-Submitted"] == "auto-generated"
    assert message.extra_headers["Message-ID"].endswith("@example.gov>")

    text, html = text_and_html(message)
    when = "Tuesday, December 15, 2026 at 09:30, Lima time (UTC−05:00)"
    url = f"{SITE}/en/lima/appointments/manage/{booking.token}/"
    for body in (text, html):
        assert booking.code in body
        assert "Adult passport renewal" in body
        assert "Avenida La Encalada cuadra 17 s/n" in body
        assert "Ana Torres" in body
        assert "Luis Torres" in body
        for item in CHECKLIST["en"]:
            assert item in body
        assert "more than 15 minutes late" in body
        assert "Phones and other electronic devices are not allowed" in body
        assert "sealed packages or envelopes" in body
        assert service.post.hotline.international in body
        assert url in body
    assert when in text
    assert "Tuesday, December 15, 2026, 09:30" in html
    assert "Lima time (UTC−05:00)" in html
    assert "Show this code at the door" in text
    assert '<html lang="en">' in html


@pytest.mark.django_db
def test_confirmation_in_spanish(book, service):
    booking = book(service, LIMA_0930, language="es")

    message = mail.outbox[0]
    assert booking.code in message.subject
    assert "Renovación de pasaporte" in message.subject
    text, html = text_and_html(message)
    url = f"{SITE}/es/lima/appointments/manage/{booking.token}/"
    for body in (text, html):
        assert "Renovación de pasaporte" in body
        assert "martes 15 de diciembre de 2026" in body
        assert "09:30" in body
        assert "UTC−05:00" in body
        assert "Embajada de los Estados Unidos en Lima" in body
        for item in CHECKLIST["es"]:
            assert item in body
        assert url in body
    assert '<html lang="es">' in html

    event = only_event(ics_of(message))
    assert (
        str(event["SUMMARY"]) == "Renovación de pasaporte — Embajada de los Estados Unidos en Lima"
    )


@pytest.mark.django_db
def test_qr_code_is_an_inline_png_the_html_shows(book, service):
    book(service, LIMA_0930)
    parsed = parts(mail.outbox[0])

    images = [part for part in parsed.walk() if part.get_content_type() == "image/png"]
    assert len(images) == 1
    image = images[0]
    assert image.get_payload(decode=True).startswith(b"\x89PNG\r\n\x1a\n")
    assert image.get_content_disposition() == "inline"
    content_id = image["Content-ID"].strip("<>")
    _text, html = text_and_html(mail.outbox[0])
    assert f'src="cid:{content_id}"' in html
    # The image sits with the HTML, where mail programs resolve cid: links.
    related = next(p for p in parsed.walk() if p.get_content_type() == "multipart/related")
    assert [p.get_content_type() for p in related.iter_parts()] == ["text/html", "image/png"]


@pytest.mark.django_db
def test_ics_attachment(book, service):
    booking = book(service, LIMA_0930)
    calendar_part = next(
        part for part in parts(mail.outbox[0]).walk() if part.get_content_type() == "text/calendar"
    )
    assert calendar_part.get_param("method") == "PUBLISH"
    assert calendar_part.get_filename() == "appointment.ics"

    calendar = ics_of(mail.outbox[0])
    assert str(calendar["PRODID"]) == "-//ACS Portal//EN"
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["METHOD"]) == "PUBLISH"
    event = only_event(calendar)
    assert event.decoded("DTSTART") == booking.starts_at == LIMA_0930
    assert event.decoded("DTEND") == datetime(2026, 12, 15, 14, 45, tzinfo=UTC)
    assert str(event["UID"]) == f"{booking.token}@acs-portal"
    assert str(event["URL"]) == manage_url(booking)
    assert str(event["SUMMARY"]) == "Adult passport renewal — U.S. Embassy Lima"
    assert "\n" not in str(event["LOCATION"])
    assert "Avenida La Encalada" in str(event["LOCATION"])
    description = str(event["DESCRIPTION"])
    assert booking.code in description
    assert "15 minutes" in description
    assert manage_url(booking) in description
    assert event.decoded("DTSTAMP").tzinfo is not None


@pytest.mark.django_db
def test_booking_ics_is_the_download_too(book, service):
    booking = book(service, LIMA_0930)
    calendar = Calendar.from_ical(booking_ics(booking, "https://x.example/m/"))
    assert only_event(calendar).decoded("DTSTART") == LIMA_0930
    cancelled = Calendar.from_ical(booking_ics(booking, "https://x.example/m/", cancelled=True))
    assert str(cancelled["METHOD"]) == "CANCEL"
    assert str(only_event(cancelled)["STATUS"]) == "CANCELLED"


@pytest.mark.django_db
def test_unknown_kind_is_refused(book, service):
    booking = book(service, LIMA_0930)
    with pytest.raises(ValueError, match="welcome"):
        booking_message(booking, "welcome")


@pytest.mark.django_db
def test_rescheduled_email(book, commit, service):
    booking = book(service, LIMA_0930)
    new_start = datetime(2026, 12, 16, 15, 0, tzinfo=UTC)  # 10:00 in Lima
    commit(services.booking_reschedule, booking=booking, starts_at=new_start, now=NOW)

    assert len(mail.outbox) == 2
    message = mail.outbox[1]
    assert message.subject.startswith("Appointment changed:")
    text, _html = text_and_html(message)
    assert "Wednesday, December 16, 2026 at 10:00, Lima time (UTC−05:00)" in text
    assert booking.code in text
    event = only_event(ics_of(message))
    assert event.decoded("DTSTART") == new_start
    # Same UID, so a calendar that imported the first file moves the event.
    assert str(event["UID"]) == f"{booking.token}@acs-portal"
    assert event.decoded("SEQUENCE") == 1


@pytest.mark.django_db
def test_cancelled_email(book, commit, service):
    booking = book(service, LIMA_0930, language="es")
    commit(services.booking_cancel, booking=booking, now=NOW)

    assert len(mail.outbox) == 2
    message = mail.outbox[1]
    assert booking.code in message.subject
    text, html = text_and_html(message)
    for body in (text, html):
        assert booking.code in body
        assert "martes 15 de diciembre de 2026" in body
        assert f"{SITE}/es/lima/appointments/" in body
        assert booking.token not in body  # the link is to book again, not to manage
    assert not [p for p in parts(message).walk() if p.get_content_type() == "image/png"]
    calendar = ics_of(message)
    assert str(calendar["METHOD"]) == "CANCEL"
    event = only_event(calendar)
    assert str(event["STATUS"]) == "CANCELLED"
    assert str(event["UID"]) == f"{booking.token}@acs-portal"
    calendar_part = next(
        p for p in parts(message).walk() if p.get_content_type() == "text/calendar"
    )
    assert calendar_part.get_param("method") == "CANCEL"


@pytest.mark.django_db
def test_reminder_email(book, service):
    booking = book(service, LIMA_0930)
    message = booking_message(booking, "reminder")
    assert message.subject.startswith("Reminder:")
    text, _html = text_and_html(message)
    assert "Tuesday, December 15, 2026 at 09:30, Lima time (UTC−05:00)" in text
    assert manage_url(booking) in text


# A service at the post with daylight saving (tests/conftest.py): New York springs forward
# at 02:00 on Sunday 14 March 2027.
@pytest.fixture
def new_york_service(new_york):
    return make_service(new_york)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("starts_at", "day", "zone"),
    [
        # Saturday, the day before the change: EST, UTC−05:00.
        (datetime(2027, 3, 13, 14, 0, tzinfo=UTC), "Saturday, March 13, 2027", "EST, UTC−05:00"),
        # Monday right after the change: EDT, UTC−04:00.
        (datetime(2027, 3, 15, 13, 0, tzinfo=UTC), "Monday, March 15, 2027", "EDT, UTC−04:00"),
    ],
)
def test_daylight_saving_post_shows_its_wall_clock(book, new_york_service, starts_at, day, zone):
    booking = book(new_york_service, starts_at, now=datetime(2027, 3, 1, 12, 0, tzinfo=UTC))

    text, html = text_and_html(mail.outbox[0])
    assert f"{day} at 09:00, New York time ({zone})" in text
    assert f"{day}, 09:00" in html
    assert f"New York time ({zone})" in html
    event = only_event(ics_of(mail.outbox[0]))
    assert event.decoded("DTSTART") == booking.starts_at == starts_at


def test_utc_offset_text():
    assert utc_offset_text(datetime(2027, 1, 1, tzinfo=UTC)) == "UTC+00:00"
    from zoneinfo import ZoneInfo

    assert utc_offset_text(datetime(2027, 1, 1, tzinfo=ZoneInfo("Asia/Kolkata"))) == "UTC+05:30"
    assert utc_offset_text(datetime(2027, 1, 1, tzinfo=ZoneInfo("America/Lima"))) == "UTC−05:00"


@pytest.mark.django_db
def test_eml_file_backend_end_to_end(book, service, settings, tmp_path):
    settings.EMAIL_BACKEND = "acs.core.mail.EmlFileBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "mail")
    booking = book(service, LIMA_0930)

    files = list((tmp_path / "mail").glob("*.eml"))
    assert len(files) == 1
    parsed = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert parsed["To"] == "ana@example.org"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert booking.code in parsed["Subject"]
    calendars = [part for part in parsed.walk() if part.get_content_type() == "text/calendar"]
    assert len(calendars) == 1
    event = only_event(Calendar.from_ical(calendars[0].get_payload(decode=True)))
    assert event.decoded("DTSTART") == LIMA_0930
    assert booking.code in parsed.get_body(preferencelist=("plain",)).get_content()
