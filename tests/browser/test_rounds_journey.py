"""Request rounds and the waitlist on a 360 px phone, in English and in Spanish (issue 13).

A citizen sends a request for a round service (the real proof of work solves in Chromium),
confirms it from the link in the email the site wrote, the draw runs (the service called as
the periodic task would), the winner gets the ordinary confirmation email and opens its
manage link, and the round's public page shows the seed and its commitment. Then the same
citizen joins the waitlist of a full first-come service, confirms from the email, a
cancellation frees a seat that the sweep offers, and the claim link from the email books it.
"""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from acs.appointments import availability
from acs.appointments.constants import BookingStatus, HoldStatus, RequestStatus, WaitlistStatus
from acs.appointments.models import Booking, Round, RoundRequest, SeatHold, WaitlistEntry
from acs.appointments.services import booking_cancel, booking_create, rounds
from acs.appointments.services.waitlist import days_open, waitlist_sweep
from acs.posts.models import Post
from tests.appointments.factories import make_service, person
from tests.appointments.rounds import round_service
from tests.browser.journey import (
    check_page,
    mail_files,
    new_mail,
    read_mail,
    submit,
    tap_label,
    text_body,
)

pytestmark = pytest.mark.browser

LIMA = ZoneInfo("America/Lima")
NAME, BORN, PASSPORT = "Rosa Quispe Mamani", (7, 5, 1985), "B98765432"
EMAIL = "rosa.quispe@example.org"
PHONE = "+51 987 654 321"
SUBJECT_CONFIRMED = {"en": "Appointment confirmed: Test service", "es": "Cita confirmada"}


@pytest.fixture
def mail_dir(mail_dir, settings) -> Path:
    """conftest's mail folder, and the real proof of work on the forms."""
    settings.ACS_POW_ENABLED = True
    return mail_dir


@pytest.fixture
def lima(site) -> Post:
    return Post.objects.get(slug="lima")


def link_in(message: EmailMessage, pattern: str) -> str:
    body = text_body(message)
    found = re.findall(pattern, body)
    assert found, f"no link matching {pattern} in:\n{body}"
    return found[0]


def new_mail_to(folder: Path, before: set[Path], address: str) -> EmailMessage:
    """The one email written to ``address`` since ``before`` (others may have gone out)."""
    messages = [read_mail(path) for path in mail_files(folder) - before]
    mine = [message for message in messages if message["To"] == address]
    assert len(mine) == 1, f"expected one new email to {address}, found {len(mine)}"
    return mine[0]


def fill_person(page: Page) -> None:
    day, month, year = BORN
    page.locator("#id_person-0-full_name").fill(NAME)
    page.locator("#id_person-0-date_of_birth_day").fill(str(day))
    page.locator("#id_person-0-date_of_birth_month").select_option(str(month))
    page.locator("#id_person-0-date_of_birth_year").fill(str(year))
    page.locator("#id_person-0-passport_number").fill(PASSPORT)
    page.locator("#id_contact-email").fill(EMAIL)
    page.locator("#id_contact-phone").fill(PHONE)


def solve_proof_of_work(page: Page) -> None:
    page.wait_for_function(
        "() => (document.querySelector('form input[name=\"altcha\"]') || {}).value",
        timeout=20_000,
    )


def request_and_draw(page: Page, site: str, lima: Post, language: str, mail: Path, checks):
    """The round half: request, confirm, draw, confirmation email, manage page, round page."""
    service = round_service(lima, slug="passports-drawn", min_notice_hours=0)
    round_ = rounds.round_open(service=service, opens_at=timezone.now() - timedelta(hours=1))
    assert round_ is not None
    base = f"{site}/{language}/lima/appointments"

    # The request form: one person, a day, the proof of work ------------------------------
    response = page.goto(f"{base}/{service.slug}/request/")
    assert response is not None and response.status == 200
    expect(page.locator("html")).to_have_attribute("lang", language)
    check_page(page, *checks)
    fill_person(page)
    first_day = page.locator("#id_choice-0-day option").nth(1).get_attribute("value")
    page.locator("#id_choice-0-day").select_option(first_day)
    solve_proof_of_work(page)
    before = mail_files(mail)
    submit(page, page.locator("main form[method=post] button.usa-button--big"))
    check_page(page, *checks)
    request = RoundRequest.objects.get(round=round_)
    assert request.status == RequestStatus.UNCONFIRMED and request.language == language

    # The email's link; the request counts only once confirmed ----------------------------
    confirm_url = link_in(new_mail(mail, before), rf"{re.escape(base)}/requests/\S+/confirm/")
    assert confirm_url == f"{base}/requests/{request.token}/confirm/"
    page.goto(confirm_url)
    check_page(page, *checks)
    request.refresh_from_db()
    assert request.status == RequestStatus.UNCONFIRMED  # opening the link changes nothing
    submit(page, page.locator("main form button.usa-button--big"))
    assert page.url == f"{base}/requests/{request.token}/?confirmed=1"
    check_page(page, *checks)
    request.refresh_from_db()
    assert request.status == RequestStatus.CONFIRMED

    # The draw, as the periodic task runs it once the window has closed --------------------
    before = mail_files(mail)
    after_close = round_.closes_at + timedelta(minutes=1)
    assert rounds.round_draw(round_id=round_.pk, now=after_close) is not None
    rounds.round_settle(round_id=round_.pk, now=after_close)
    request.refresh_from_db()
    assert request.status == RequestStatus.BOOKED
    booking = request.booking
    assert booking.status == BookingStatus.BOOKED and booking.starts_at == request.starts_at
    assert booking.starts_at.astimezone(LIMA).date().isoformat() == first_day

    # The winner's confirmation email and its manage link ----------------------------------
    confirmation = new_mail(mail, before)
    assert confirmation["To"] == EMAIL
    assert str(confirmation["Subject"]).strip().startswith(SUBJECT_CONFIRMED[language])
    assert booking.code in str(confirmation["Subject"])
    manage_url = link_in(confirmation, rf"{re.escape(base)}/manage/\S+/")
    assert manage_url == f"{base}/manage/{booking.token}/"
    page.goto(manage_url)
    expect(page.locator(".acs-code")).to_have_text(booking.code)
    check_page(page, *checks)

    # The round's public page: the commitment and, now, the seed -----------------------------
    round_ = Round.objects.get(pk=round_.pk)
    page.goto(f"{base}/rounds/{round_.token}/")
    main = page.locator("main")
    expect(main).to_contain_text(round_.commitment)
    expect(main).to_contain_text(round_.seed)
    check_page(page, *checks)


def full_service(lima: Post):
    """A first-come service with one seat a half hour, 09:00–10:00, whose first open day at
    least two days ahead is fully booked; returns it, that day and its bookings."""
    service = make_service(post=lima, slug="visas-waitlist", seats=1, min_notice_hours=0)
    earliest = timezone.now().astimezone(LIMA).date() + timedelta(days=2)
    day = next(day for day in days_open(service) if day >= earliest)
    slots = availability.slots_between(service, day, day)[day]
    bookings = [
        booking_create(
            service=service,
            starts_at=slot.starts_at,
            people=[person(500 + index)],
            email=f"booked{index}@example.org",
            phone=PHONE,
        )
        for index, slot in enumerate(slots)
    ]
    return service, day, bookings


def wait_and_claim(page: Page, site: str, lima: Post, language: str, mail: Path, checks):
    """The waitlist half: join for the full day, confirm, a seat freed and offered, claim."""
    service, day, bookings = full_service(lima)
    base = f"{site}/{language}/lima/appointments"

    response = page.goto(f"{base}/{service.slug}/waitlist/")
    assert response is not None and response.status == 200
    check_page(page, *checks)
    box = page.locator(f'input[name="wait-days"][value="{day.isoformat()}"]')
    tap_label(page, box.get_attribute("id") or "")
    fill_person(page)
    solve_proof_of_work(page)
    before = mail_files(mail)
    submit(page, page.locator("main form[method=post] button[type=submit]"))
    check_page(page, *checks)
    entry = WaitlistEntry.objects.get(service=service)
    assert entry.status == WaitlistStatus.UNCONFIRMED

    # Confirm the place from the email --------------------------------------------------------
    entry_url = link_in(new_mail(mail, before), rf"{re.escape(base)}/waitlist/\S+/")
    assert entry_url == f"{base}/waitlist/{entry.token}/"
    page.goto(entry_url)
    check_page(page, *checks)
    submit(page, page.locator('main button[name="action"][value="confirm"]'))
    check_page(page, *checks)
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.WAITING

    # A cancellation frees a seat; the sweep offers it, by email ------------------------------
    before = mail_files(mail)
    booking_cancel(booking=bookings[0])
    waitlist_sweep()
    hold = SeatHold.objects.get(entry=entry, status=HoldStatus.HELD)
    assert hold.starts_at == bookings[0].starts_at
    offer_url = link_in(new_mail_to(mail, before, EMAIL), rf"{re.escape(base)}/waitlist/offer/\S+/")
    assert offer_url == f"{base}/waitlist/offer/{hold.token}/"

    # Claim it from the link -------------------------------------------------------------------
    page.goto(offer_url)
    check_page(page, *checks)
    before = mail_files(mail)
    submit(page, page.locator("main form button.usa-button--big"))
    booking = Booking.objects.get(service=service, status=BookingStatus.BOOKED, email=EMAIL)
    assert page.url == f"{base}/manage/{booking.token}/?new=1"
    expect(page.locator(".acs-code")).to_have_text(booking.code)
    check_page(page, *checks)
    assert booking.starts_at == hold.starts_at
    hold.refresh_from_db()
    assert hold.status == HoldStatus.CLAIMED
    confirmation = new_mail_to(mail, before, EMAIL)
    assert str(confirmation["Subject"]).strip().startswith(SUBJECT_CONFIRMED[language])


@pytest.mark.parametrize("language", ["en", "es"])
def test_request_draw_and_waitlist_claim_on_a_phone(
    site, lima, mail_dir, phone, language, axe_check, assert_console_clean
):
    checks = (axe_check, assert_console_clean)
    request_and_draw(phone, site, lima, language, mail_dir, checks)
    wait_and_claim(phone, site, lima, language, mail_dir, checks)
