"""Booking without JavaScript, and by keyboard alone.

With JavaScript switched off, on a 360 px phone, in English and in Spanish: the review step
holds the time and says to check the email; the link in the email confirms the booking, the
ordinary confirmation arrives, and the booking is cancelled from its manage link.

By keyboard alone (Tab, Shift+Tab, Enter, Space, arrows and the characters typed), the whole
journey twice: once without the booking steps' skip links, once with them. Both counts are
printed at the end of the run (``keys: …`` properties, ``pytest_terminal_summary``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from acs.appointments import availability
from acs.appointments.constants import BookingStatus, HoldStatus
from acs.appointments.models import Booking, EmailHold, Service
from acs.posts.models import Post
from tests.appointments.factories import make_service
from tests.browser.conftest import DESKTOP, PHONE, _watch
from tests.browser.journey import assert_fits, mail_files, new_mail, submit, tap_label, text_body
from tests.browser.test_booking_journey import LIMA, pick_day, pick_first_time, subject

pytestmark = pytest.mark.browser

SLUG = "journey"
NAME, BORN, PASSPORT = "Rosa Huamán Torres", (7, 3, 1985), "B87654321"
EMAIL = "rosa.huaman@example.org"
PHONE_NUMBER = "+51 987 111 222"

TEXTS = {
    "en": {
        "confirm_by_email": "We will confirm by email",
        "check": "Check your email",
        "subject_hold": "Confirm your appointment: Test service",
        "confirm_page": "Confirm your appointment",
        "booked": "Your appointment is booked.",
        "subject_confirmation": "Appointment confirmed: Test service",
        "used": "This link has already been used",
        "cancelled": "Your appointment is cancelled.",
        "skip": "Skip to the form",
    },
    "es": {
        "confirm_by_email": "Confirmaremos por correo electrónico",
        "check": "Revise su correo electrónico",
        "subject_hold": "Confirme su cita: Servicio de prueba",
        "confirm_page": "Confirme su cita",
        "booked": "Su cita está reservada.",
        "subject_confirmation": "Cita confirmada: Servicio de prueba",
        "used": "Este enlace ya se usó",
        "cancelled": "Su cita está cancelada.",
        "skip": "Ir al formulario",
    },
}


@pytest.fixture
def mail_dir(mail_dir, settings) -> Path:
    settings.ACS_POW_ENABLED = True
    return mail_dir


@pytest.fixture
def journey_service(site) -> Service:
    return make_service(
        post=Post.objects.get(slug="lima"), slug=SLUG, seats=2, max_people=3, min_notice_hours=0
    )


@pytest.fixture
def no_script_phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    context.set_default_timeout(10_000)
    try:
        yield _watch(context.new_page())
    finally:
        context.close()


@pytest.fixture
def checker(browser: Browser) -> Iterator[Page]:
    """A phone with JavaScript, for axe-core: axe waits on timers, which never fire in a
    page whose scripts are off, so it checks a copy of what that page shows."""
    context = browser.new_context(viewport=PHONE)
    try:
        yield context.new_page()
    finally:
        context.close()


def check_shown(page: Page, checker: Page, axe_check, assert_console_clean) -> None:
    """``check_page`` for a page without JavaScript: the first heading shows, it fits the
    phone, the console is clean, and axe-core finds nothing serious in a copy of the page as
    this browser shows it (the ``<noscript>`` content in, the scripts out)."""
    expect(page.locator("h1")).to_be_visible()
    assert_fits(page)
    assert_console_clean(page)
    shown = re.sub(r"</?noscript>", "", page.content())
    shown = re.sub(r"<script\b[^>]*>.*?</script>", "", shown, flags=re.S)
    shown = shown.replace("<head>", f'<head><base href="{page.url}">', 1)
    checker.set_content(shown, wait_until="load")
    axe_check(checker)


@pytest.mark.parametrize("language", ["en", "es"])
def test_book_confirm_by_email_and_cancel_without_javascript(
    site,
    mail_dir,
    journey_service,
    no_script_phone,
    checker,
    language,
    axe_check,
    assert_console_clean,
):
    page, texts = no_script_phone, TEXTS[language]
    assert page.evaluate("1 + 1") == 2  # the test's own probes still run; the site's do not
    base = f"{site}/{language}/lima/appointments"

    # The steps, as with JavaScript, each one plain HTML -------------------------------------
    page.goto(f"{base}/{SLUG}/")
    check_shown(page, checker, axe_check, assert_console_clean)
    expect(page.locator("a.acs-skip-form")).to_have_text(texts["skip"])
    tap_label(page, "id_policy")
    submit(page, page.locator("main form button[type=submit]"))
    check_shown(page, checker, axe_check, assert_console_clean)
    pick_day(page, datetime.now(LIMA).date() + timedelta(days=2))
    starts_at = pick_first_time(page)
    submit(page, page.locator('main form[method="post"] button[type=submit]'))
    check_shown(page, checker, axe_check, assert_console_clean)
    page.locator("#id_person-0-full_name").fill(NAME)
    page.locator("#id_person-0-date_of_birth_day").fill(str(BORN[0]))
    page.locator("#id_person-0-date_of_birth_month").select_option(str(BORN[1]))
    page.locator("#id_person-0-date_of_birth_year").fill(str(BORN[2]))
    page.locator("#id_person-0-passport_number").fill(PASSPORT)
    page.locator("#id_contact-email").fill(EMAIL)
    page.locator("#id_contact-phone").fill(PHONE_NUMBER)
    submit(page, page.locator("main form button[type=submit]"))

    # Review: no puzzle can run, so the page says the time will be confirmed by email ---------
    assert page.url == f"{base}/{SLUG}/review/"
    notice = page.locator("main .usa-alert--info")
    expect(notice).to_contain_text(texts["confirm_by_email"])
    expect(notice).to_contain_text(EMAIL)
    check_shown(page, checker, axe_check, assert_console_clean)
    before = mail_files(mail_dir)
    submit(page, page.locator("#confirm-button"))

    # Check your email: nothing booked yet, the seat held ------------------------------------
    assert page.url == f"{base}/{SLUG}/check-your-email/"
    expect(page.locator("h1")).to_have_text(texts["check"])
    expect(page.locator("main")).to_contain_text(EMAIL)
    check_shown(page, checker, axe_check, assert_console_clean)
    assert not Booking.objects.exists()
    slot = availability.slot_offered(journey_service, starts_at)
    assert slot is not None and slot.free == journey_service.seats_per_slot - 1  # held

    # The email: a link with a token, which confirms -----------------------------------------
    held_mail = new_mail(mail_dir, before)
    assert held_mail["To"] == EMAIL
    assert subject(held_mail) == texts["subject_hold"]
    body = text_body(held_mail)
    assert NAME in body
    links = re.findall(rf"{re.escape(base)}/confirm/\S+/", body)
    assert len(links) == 1, body
    hold = EmailHold.objects.get().hold
    assert links[0] == f"{base}/confirm/{hold.token}/"
    page.goto(links[0])
    expect(page.locator("h1")).to_have_text(texts["confirm_page"])
    expect(page.locator("main")).to_contain_text(NAME)
    check_shown(page, checker, axe_check, assert_console_clean)
    before = mail_files(mail_dir)
    submit(page, page.locator("#confirm-button"))

    # Booked: the manage page, and the ordinary confirmation email ----------------------------
    assert re.fullmatch(rf"{re.escape(base)}/manage/[^/]+/\?new=1", page.url), page.url
    expect(page.locator(".usa-alert--success")).to_contain_text(texts["booked"])
    check_shown(page, checker, axe_check, assert_console_clean)
    booking = Booking.objects.get()
    assert booking.status == BookingStatus.BOOKED and booking.starts_at == starts_at
    assert booking.language == language
    hold.refresh_from_db()
    assert hold.status == HoldStatus.CLAIMED
    confirmation = new_mail(mail_dir, before)
    assert subject(confirmation).startswith(texts["subject_confirmation"])
    assert booking.code in subject(confirmation)
    manage_url = f"{base}/manage/{booking.token}/"
    assert manage_url in text_body(confirmation)

    # The link again: already used, said plainly, nothing booked twice -----------------------
    page.goto(links[0])
    expect(page.locator("main")).to_contain_text(texts["used"])
    check_shown(page, checker, axe_check, assert_console_clean)
    assert Booking.objects.count() == 1

    # Cancel from the confirmation's link ----------------------------------------------------
    page.goto(manage_url)
    submit(page, page.locator(f'a[href$="/manage/{booking.token}/cancel/"]'))
    check_shown(page, checker, axe_check, assert_console_clean)
    submit(page, page.locator('main form[method="post"] button[type=submit]'))
    assert page.url == f"{manage_url}?cancelled=1"
    expect(page.locator(".usa-alert--info").first).to_contain_text(texts["cancelled"])
    check_shown(page, checker, axe_check, assert_console_clean)
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    freed = availability.slot_offered(journey_service, starts_at)
    assert freed is not None and freed.free == journey_service.seats_per_slot


# By keyboard alone ------------------------------------------------------------------------------


class Keyboard:
    """Presses keys on ``page`` and counts them (each character typed is one press)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.presses = 0

    def press(self, key: str, times: int = 1) -> None:
        for _ in range(times):
            self.page.keyboard.press(key)
            self.presses += 1

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)
        self.presses += len(text)

    def focused(self, selector: str) -> bool:
        return self.page.evaluate(
            "(selector) => !!document.activeElement && document.activeElement.matches(selector)",
            selector,
        )

    def tab_to(self, selector: str, *, most: int = 150) -> None:
        """Tab until the element matching ``selector`` has the focus."""
        for _ in range(most):
            if self.focused(selector):
                return
            self.press("Tab")
        pytest.fail(f"{selector} not reached in {most} Tabs on {self.page.url}")

    def enter_page(self, skip: bool) -> None:
        """A new page: with ``skip``, its first Tab must reach the skip link; Enter follows
        it to the step's first control."""
        if not skip:
            return
        self.press("Tab")
        assert self.focused("a.acs-skip-form"), (
            f"the first Tab missed the skip link on {self.page.url}"
        )
        self.press("Enter")

    def submit(self, selector: str) -> None:
        self.tab_to(selector)
        with self.page.expect_navigation():
            self.press("Enter")


def keyboard_journey(page: Page, base: str, *, skip: bool) -> int:
    """Book by keyboard from the list of services to the booked page; the presses it took."""
    keys = Keyboard(page)
    page.goto(f"{base}/")
    keys.enter_page(skip)
    keys.submit(f'a[href$="/appointments/{SLUG}/"]')

    keys.enter_page(skip)
    keys.tab_to("#id_policy")
    keys.press("Space")
    expect(page.locator("#id_policy")).to_be_checked()
    keys.submit('main form button[type="submit"]')

    keys.enter_page(skip)
    keys.tab_to('input[name="slot"]')  # the group's first time; Space chooses it
    keys.press("Space")
    expect(page.locator('input[name="slot"]:checked')).to_have_count(1)
    keys.submit('main form[method="post"] button[type="submit"]')

    keys.enter_page(skip)
    keys.tab_to("#id_person-0-full_name")
    keys.type(NAME)
    keys.tab_to("#id_person-0-date_of_birth_month")
    keys.press("ArrowDown", BORN[1])
    expect(page.locator("#id_person-0-date_of_birth_month")).to_have_value(str(BORN[1]))
    keys.tab_to("#id_person-0-date_of_birth_day")
    keys.type(str(BORN[0]))
    keys.tab_to("#id_person-0-date_of_birth_year")
    keys.type(str(BORN[2]))
    keys.tab_to("#id_person-0-passport_number")
    keys.type(PASSPORT)
    keys.tab_to("#id_contact-email")
    keys.type(EMAIL)
    keys.tab_to("#id_contact-phone")
    keys.type(PHONE_NUMBER)
    keys.submit('main form button[type="submit"]')

    # The puzzle solves itself; the keyboard only confirms.
    page.wait_for_function(
        "() => (document.querySelector('form input[name=\"altcha\"]') || {}).value",
        timeout=20_000,
    )
    keys.enter_page(skip)
    keys.submit("#confirm-button")
    assert "?new=1" in page.url, page.url
    return keys.presses


def test_the_skip_links_save_key_presses_on_the_whole_journey(
    site, mail_dir, journey_service, browser, record_property
):
    counts = {}
    for skip in (False, True):
        context = browser.new_context(viewport=DESKTOP)
        context.set_default_timeout(10_000)
        try:
            page = context.new_page()
            counts[skip] = keyboard_journey(page, f"{site}/en/lima/appointments", skip=skip)
        finally:
            context.close()
        Booking.objects.filter(status=BookingStatus.BOOKED).update(status=BookingStatus.CANCELLED)
        Booking.objects.all().delete()
    record_property("keys: booking journey, no skip links", counts[False])
    record_property("keys: booking journey, with the skip links", counts[True])
    assert counts[True] < counts[False], counts
