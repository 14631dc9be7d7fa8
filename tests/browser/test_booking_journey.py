"""The whole booking journey on a 360 px phone, in English and in Spanish: book for two
people, read the confirmation email the site wrote (as ``var/mail/`` would hold it), import
its calendar file, open its manage link, reschedule, cancel.

The real proof-of-work widget solves its challenge in Chromium; emails are sent by the Celery
task running eagerly inside the live server, through the ``.eml`` file backend.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation
from icalendar import Calendar
from playwright.sync_api import Page, expect

from acs.appointments import availability
from acs.appointments.constants import BookingStatus
from acs.appointments.models import Booking, Service
from acs.core.clock import long_date
from acs.posts.models import Post
from tests.appointments.factories import make_service
from tests.browser.journey import (
    check_page,
    mail_files,
    new_mail,
    submit,
    tap_label,
    text_body,
)

pytestmark = pytest.mark.browser

LIMA = ZoneInfo("America/Lima")
SLUG = "journey"
PEOPLE = [
    # (full name, (day, month, year) of birth, passport number)
    ("José Pérez Quispe", (19, 1, 1990), "123456789"),
    ("María Ñahui Pérez", (3, 11, 2015), "A12345678"),
]
EMAIL = "jose.perez@example.org"
PHONE = "+51 987 654 321"

# What each language must say, written out here rather than taken from the catalogue.
TEXTS = {
    "en": {
        "service": "Test service",
        "booked": "Your appointment is booked.",
        "moved": "Your appointment has been moved to",
        "cancelled": "Your appointment is cancelled.",
        "status_booked": "Booked",
        "status_cancelled": "Cancelled",
        "subject_confirmation": "Appointment confirmed: Test service",
        "subject_rescheduled": "Appointment changed: Test service",
        "subject_cancelled": "Appointment cancelled: Test service",
        "body_confirmation": "Your appointment is booked",
        "body_rescheduled": "Your appointment has changed",
        "body_cancelled": "Your appointment is cancelled",
        "manage_link": "Change or cancel your appointment",
    },
    "es": {
        "service": "Servicio de prueba",
        "booked": "Su cita está reservada.",
        "moved": "Su cita se cambió al",
        "cancelled": "Su cita está cancelada.",
        "status_booked": "Reservada",
        "status_cancelled": "Cancelada",
        "subject_confirmation": "Cita confirmada: Servicio de prueba",
        "subject_rescheduled": "Cita modificada: Servicio de prueba",
        "subject_cancelled": "Cita cancelada: Servicio de prueba",
        "body_confirmation": "Su cita está reservada",
        "body_rescheduled": "Su cita ha cambiado",
        "body_cancelled": "Su cita está cancelada",
        "manage_link": "Cambiar o cancelar su cita",
    },
}


# Fixtures -------------------------------------------------------------------------------------
@pytest.fixture
def mail_dir(mail_dir, settings) -> Path:
    """conftest's mail folder (.eml files, links to the live server), and the real proof of
    work on the review page."""
    settings.ACS_POW_ENABLED = True
    return mail_dir


@pytest.fixture
def journey_service(site) -> Service:
    """Open every day, 09:00–11:00 Lima, two seats a slot, up to three people a booking."""
    return make_service(
        post=Post.objects.get(slug="lima"),
        slug=SLUG,
        seats=2,
        max_people=3,
        min_notice_hours=0,
    )


# Helpers --------------------------------------------------------------------------------------
def pick_day(page: Page, earliest: date) -> date:
    """Follow the first "another day" link on or after ``earliest`` (never a time that could
    pass while the test runs); return that day."""
    links = page.locator(".acs-days a")
    for index in range(links.count()):
        href = links.nth(index).get_attribute("href") or ""
        day = date.fromisoformat(parse_qs(urlsplit(href).query)["day"][0])
        if day >= earliest:
            links.nth(index).click()
            page.wait_for_url(re.compile(rf"day={day.isoformat()}"))
            expect(page.locator(".acs-days a[aria-current]")).to_have_attribute(
                "href", re.compile(rf"day={day.isoformat()}")
            )
            return day
    pytest.fail(f"no day offered on or after {earliest} on {page.url}")


def pick_first_time(page: Page) -> datetime:
    """Tap the first time tile; return its instant (UTC) from the radio's value."""
    radio = page.locator('.acs-times input[name="slot"]').first
    key = radio.get_attribute("value") or ""
    tap_label(page, radio.get_attribute("id") or "")
    starts_at = availability.parse_slot_key(key)
    assert starts_at is not None, f"unreadable slot key {key!r}"
    return starts_at


def subject(message: EmailMessage) -> str:
    """The decoded subject. A long non-ASCII subject is folded straight after "Subject:" by
    the stdlib's encoder, which the parser gives back as a leading space; drop it."""
    return str(message["Subject"]).strip()


def calendar_event(message: EmailMessage):
    parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1, "the email carries no (or more than one) calendar file"
    assert parts[0].get_filename() == "appointment.ics"
    calendar = Calendar.from_ical(parts[0].get_payload(decode=True))
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    return calendar, events[0]


def utc_start(event) -> datetime:
    start = event.decoded("dtstart")
    assert isinstance(start, datetime) and start.utcoffset() == timedelta(0), start
    return start.astimezone(UTC)


def shown_when(language: str, instant: datetime) -> str:
    """The manage page's "date, time" for an instant, on Lima's wall clock."""
    local = instant.astimezone(LIMA)
    with translation.override(language):
        return f"{long_date(local.date())}, {local:%H:%M}"


def summary_value(page: Page, row: int) -> str:
    return page.locator(".acs-summary .acs-summary__row dd").nth(row).inner_text()


# The journey ----------------------------------------------------------------------------------
@pytest.mark.parametrize("language", ["en", "es"])
def test_book_for_two_then_reschedule_and_cancel_on_a_phone(
    site, mail_dir, journey_service, phone, language, axe_check, assert_console_clean
):
    page = phone
    texts = TEXTS[language]
    assert page.viewport_size["width"] == 360
    earliest_day = datetime.now(LIMA).date() + timedelta(days=2)

    # Start: the services -----------------------------------------------------------------
    response = page.goto(f"{site}/{language}/lima/appointments/")
    assert response is not None and response.status == 200
    expect(page.locator("html")).to_have_attribute("lang", language)
    check_page(page, axe_check, assert_console_clean)
    page.locator(f'a[href="/{language}/lima/appointments/{SLUG}/"]').click()

    # Service: the requirements and the acknowledgement(s) ----------------------------------
    page.wait_for_url(f"{site}/{language}/lima/appointments/{SLUG}/")
    expect(page.locator("h1")).to_have_text(texts["service"])
    check_page(page, axe_check, assert_console_clean)
    boxes = page.locator('input.usa-checkbox__input[type="checkbox"]')
    assert boxes.count() >= 1
    for index in range(boxes.count()):
        tap_label(page, boxes.nth(index).get_attribute("id") or "")
    submit(page, page.locator("main form button[type=submit]"))

    # When: two people, a day, a time -----------------------------------------------------
    assert page.url.startswith(f"{site}/{language}/lima/appointments/{SLUG}/when/")
    check_page(page, axe_check, assert_console_clean)
    page.locator("#id_people").select_option("2")
    submit(page, page.locator('main form[method="get"] button[type=submit]'))
    expect(page.locator("#id_people")).to_have_value("2")
    day = pick_day(page, earliest_day)
    starts_at = pick_first_time(page)
    assert starts_at.astimezone(LIMA).date() == day
    check_page(page, axe_check, assert_console_clean)
    submit(page, page.locator('main form[method="post"] button[type=submit]'))

    # People: two people and one way to reach them ---------------------------------------
    assert page.url == f"{site}/{language}/lima/appointments/{SLUG}/people/"
    check_page(page, axe_check, assert_console_clean)
    assert page.locator("fieldset.acs-person").count() == len(PEOPLE) + 1  # + contact
    for index, (name, (day_of_birth, month, year), passport) in enumerate(PEOPLE):
        prefix = f"#id_person-{index}"
        page.locator(f"{prefix}-full_name").fill(name)
        page.locator(f"{prefix}-date_of_birth_day").fill(str(day_of_birth))
        page.locator(f"{prefix}-date_of_birth_month").select_option(str(month))
        page.locator(f"{prefix}-date_of_birth_year").fill(str(year))
        page.locator(f"{prefix}-passport_number").fill(passport)
    page.locator("#id_contact-email").fill(EMAIL)
    page.locator("#id_contact-phone").fill(PHONE)
    submit(page, page.locator("main form button[type=submit]"))

    # Review: both names, the proof of work, confirm ------------------------------------
    assert page.url == f"{site}/{language}/lima/appointments/{SLUG}/review/"
    main = page.locator("main")
    for name, _born, passport in PEOPLE:
        expect(main).to_contain_text(name)
        expect(main).to_contain_text(passport)
    expect(main).to_contain_text(EMAIL)
    expect(main).to_contain_text(shown_when(language, starts_at))
    # The widget starts by itself; its hidden "altcha" input holds the solution once solved.
    page.wait_for_function(
        "() => (document.querySelector('form input[name=\"altcha\"]') || {}).value",
        timeout=20_000,
    )
    expect(page.locator('altcha-widget [data-state="verified"]')).to_have_count(1)
    check_page(page, axe_check, assert_console_clean)
    before = mail_files(mail_dir)
    submit(page, page.locator("main form button.usa-button--big"))

    # Manage: booked, with the code ------------------------------------------------------
    assert re.fullmatch(
        rf"{re.escape(site)}/{language}/lima/appointments/manage/[^/]+/\?new=1", page.url
    ), page.url
    expect(page.locator(".usa-alert--success")).to_contain_text(texts["booked"])
    expect(page.locator(".usa-alert--success")).to_contain_text(EMAIL)
    code = page.locator(".acs-code").inner_text().strip()
    booking = Booking.objects.get(code=code)
    assert booking.status == BookingStatus.BOOKED
    assert booking.starts_at == starts_at
    assert booking.people_count == 2
    assert booking.language == language
    assert booking.phone == "+51987654321"
    assert sorted(p.passport_number for p in booking.people.all()) == ["123456789", "A12345678"]
    # The time shown is the booked instant on Lima's wall clock.
    assert shown_when(language, booking.starts_at) in summary_value(page, 1)
    assert "UTC−05:00" in summary_value(page, 1)
    assert texts["status_booked"] in summary_value(page, 4)
    check_page(page, axe_check, assert_console_clean)

    # The confirmation email --------------------------------------------------------------
    confirmation = new_mail(mail_dir, before)
    assert len(mail_files(mail_dir)) == 1
    assert confirmation["To"] == EMAIL
    assert subject(confirmation).startswith(texts["subject_confirmation"])
    assert code in subject(confirmation)
    body = text_body(confirmation)
    assert texts["body_confirmation"] in body
    assert texts["manage_link"] in body
    for name, _born, _passport in PEOPLE:
        assert name in body
    calendar, event = calendar_event(confirmation)
    assert str(calendar["method"]) == "PUBLISH"
    assert utc_start(event) == booking.starts_at
    assert str(event["status"]) == "CONFIRMED"
    assert code in str(event["description"])
    manage_links = re.findall(rf"{re.escape(site)}/\S+/manage/\S+/", body)
    assert manage_links, f"no manage link in the email:\n{body}"
    manage_url = manage_links[0]
    assert manage_url == f"{site}/{language}/lima/appointments/manage/{booking.token}/"
    assert str(event["url"]) == manage_url

    # The link in the email opens the same appointment -----------------------------------
    response = page.goto(manage_url)
    assert response is not None and response.status == 200
    expect(page.locator(".acs-code")).to_have_text(code)
    expect(page.locator(".usa-alert--success")).to_have_count(0)

    # Reschedule to another time --------------------------------------------------------
    submit(page, page.locator(f'a[href$="/manage/{booking.token}/reschedule/"]'))
    check_page(page, axe_check, assert_console_clean)
    pick_day(page, day)
    new_starts_at = pick_first_time(page)
    assert new_starts_at != starts_at
    before = mail_files(mail_dir)
    submit(page, page.locator('main form[method="post"] button[type=submit]'))
    assert page.url == f"{manage_url}?rescheduled=1"
    expect(page.locator(".usa-alert--success")).to_contain_text(texts["moved"])
    booking.refresh_from_db()
    assert booking.starts_at == new_starts_at
    assert booking.reschedule_count == 1
    assert shown_when(language, new_starts_at) in summary_value(page, 1)
    check_page(page, axe_check, assert_console_clean)

    rescheduled = new_mail(mail_dir, before)
    assert len(mail_files(mail_dir)) == 2
    assert subject(rescheduled).startswith(texts["subject_rescheduled"])
    assert texts["body_rescheduled"] in text_body(rescheduled)
    _calendar, event = calendar_event(rescheduled)
    assert utc_start(event) == new_starts_at
    assert int(event["sequence"]) == 1

    # Cancel: the question, then yes ----------------------------------------------------
    submit(page, page.locator(f'a[href$="/manage/{booking.token}/cancel/"]'))
    check_page(page, axe_check, assert_console_clean)
    before = mail_files(mail_dir)
    submit(page, page.locator('main form[method="post"] button[type=submit]'))
    assert page.url == f"{manage_url}?cancelled=1"
    expect(page.locator(".usa-alert--info").first).to_contain_text(texts["cancelled"])
    assert texts["status_cancelled"] in summary_value(page, 4)
    expect(page.locator(f'a[href$="/manage/{booking.token}/reschedule/"]')).to_have_count(0)
    check_page(page, axe_check, assert_console_clean)

    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    assert not booking.people.filter(active=True).exists()
    freed = availability.slot_offered(journey_service, new_starts_at)
    assert freed is not None and freed.free == journey_service.seats_per_slot

    cancelled = new_mail(mail_dir, before)
    assert subject(cancelled).startswith(texts["subject_cancelled"])
    assert texts["body_cancelled"] in text_body(cancelled)
    calendar, event = calendar_event(cancelled)
    assert str(calendar["method"]) == "CANCEL"
    assert str(event["status"]) == "CANCELLED"
