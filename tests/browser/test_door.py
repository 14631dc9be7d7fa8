"""The door on a tablet (768 × 1024): an officer signs in with a password and a TOTP code,
then types codes as a guard would: a valid one (ADMIT, with the names), the same again
(already checked in), an unknown one (NOT ADMITTED). Every screen is accessible, clean in the
console and under the site's real CSP; the door page also fits a 360 px phone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace

import pytest
from django_otp.oath import totp
from playwright.sync_api import Browser, Page, expect

from acs.appointments.models import Booking
from acs.appointments.services import PersonData, booking_create
from acs.posts.models import Post
from acs.staff import roles
from acs.staff.services import StaffCredentials, roles_sync, staff_user_create
from tests.appointments.factories import make_service
from tests.browser.conftest import _page
from tests.staff.conftest import roles_give

pytestmark = pytest.mark.browser

TABLET = {"width": 768, "height": 1024}
# Tuesday 12 January 2027, 09:00 in Lima (UTC−05:00); the door's clock says 09:05.
STARTS_AT = datetime(2027, 1, 12, 14, 0, tzinfo=UTC)
DOOR_NOW = STARTS_AT + timedelta(minutes=5)
NAMES = ["José Pérez Quispe", "María Ñahui Pérez"]


@pytest.fixture
def tablet(browser: Browser) -> Iterator[Page]:
    yield from _page(browser, TABLET)


@pytest.fixture
def door_clock(monkeypatch, site) -> datetime:
    """Stop the door's clock (only the door's) at 09:05 on the booking's day. The live server
    runs in this process, so the patch reaches it."""
    monkeypatch.setattr(
        "acs.appointments.services.door.timezone", SimpleNamespace(now=lambda: DOOR_NOW)
    )
    return DOOR_NOW


@pytest.fixture
def booking(site, monkeypatch) -> Booking:
    monkeypatch.setattr(
        "acs.appointments.tasks.send_booking_email.apply_async", lambda *a, **k: None
    )
    service = make_service(
        post=Post.objects.get(slug="lima"), slug="door", opens=time(8, 0), closes=time(12, 0)
    )
    return booking_create(
        service=service,
        starts_at=STARTS_AT,
        people=[
            PersonData(full_name=NAMES[0], date_of_birth=date(1990, 1, 19)),
            PersonData(full_name=NAMES[1], date_of_birth=date(2015, 11, 3)),
        ],
        email="jose.perez@example.org",
        phone="+51 987 654 321",
        now=STARTS_AT - timedelta(days=7),
    )


@pytest.fixture
def officer(site) -> StaffCredentials:
    roles_sync()
    creds = staff_user_create(username="door-officer", email="door@example.org")
    roles_give(creds.user, [roles.CONSULAR_OFFICER])
    return creds


def current_code(creds: StaffCredentials) -> str:
    device = creds.user.totpdevice_set.get()
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def sign_in(page: Page, site: str, creds: StaffCredentials) -> None:
    """Through the real sign-in form, with the authenticator's current code."""
    page.goto(f"{site}/staff/admin/login/?next=/staff/door/")
    page.fill("input[name=username]", creds.user.username)
    page.fill("input[name=password]", creds.password)
    page.fill("input[name=otp_token]", current_code(creds))
    with page.expect_navigation():
        page.locator("input[type=submit], button[type=submit]").first.click()
    assert page.url == f"{site}/staff/door/", page.url
    # Django's own admin sign-in page has no icon link, so Chromium asked for /favicon.ico
    # and logged the 404; that page is not ours. Our pages are checked from here on.
    page.console_errors.clear()


def assert_fits(page: Page) -> None:
    width = page.viewport_size["width"]
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width + 1, f"{page.url}: {scroll_width}px wide at {width}px"


def check_screen(page: Page, axe_check, assert_console_clean) -> None:
    expect(page.locator("h1")).to_be_visible()
    assert_fits(page)
    assert_console_clean(page)
    axe_check(page)


def type_code(page: Page, code: str) -> None:
    field = page.locator("#id_code")
    expect(field).to_be_focused()  # autofocus: the guard can type (or scan) at once
    field.fill(code)
    with page.expect_navigation() as navigation:
        field.press("Enter")
    response = navigation.value
    assert response is not None and response.status == 200, page.url


def next_person(page: Page, site: str) -> None:
    button = page.locator("[data-door-next]")
    expect(button).to_be_focused()  # door.js: Enter goes straight back to the door
    with page.expect_navigation():
        button.click()
    assert page.url == f"{site}/staff/door/"


def test_the_door_on_a_tablet_with_typed_codes(
    site, tablet, officer, booking, door_clock, axe_check, assert_console_clean
):
    page = tablet
    sign_in(page, site, officer)

    # The door ---------------------------------------------------------------------------------
    expect(page.locator("h1")).to_have_text("The door")
    check_screen(page, axe_check, assert_console_clean)
    box = page.locator("button.acs-door__check").bounding_box()
    assert box is not None and box["height"] >= 60, box  # a big touch target

    # A valid code, typed the lazy way: ADMIT with the names --------------------------------
    type_code(page, booking.code.replace("-", " ").lower())
    answer = page.locator(".acs-answer")
    expect(answer).to_have_attribute("data-outcome", "admit")
    expect(page.locator("h1")).to_contain_text("ADMIT")
    for name in NAMES:
        expect(page.locator(".acs-answer__people")).to_contain_text(name)
    expect(answer).to_contain_text("09:00")
    expect(answer).to_contain_text("Lima time")
    expect(page.locator(".acs-answer__queue")).to_have_text("1")
    expect(page.locator(".acs-answer__policy")).to_contain_text("No phones")
    expect(page.locator("[role=status]")).to_contain_text("ADMIT")
    # It fills the tablet's screen.
    height = answer.bounding_box()["height"]
    assert height >= 0.65 * TABLET["height"], height
    check_screen(page, axe_check, assert_console_clean)
    next_person(page, site)

    # The same code again: harmless, already checked in ----------------------------------------
    type_code(page, booking.code)
    expect(page.locator(".acs-answer")).to_have_attribute("data-code", "already_checked_in")
    expect(page.locator("h1")).to_contain_text("NOT ADMITTED")
    expect(page.locator("[role=alert]")).to_contain_text("Already checked in at 09:05.")
    expect(page.locator(".acs-answer__people")).to_have_count(0)
    check_screen(page, axe_check, assert_console_clean)
    next_person(page, site)

    # An unknown code ---------------------------------------------------------------------------
    type_code(page, "ZZZZ-2345")
    expect(page.locator(".acs-answer")).to_have_attribute("data-code", "not_found")
    expect(page.locator("h1")).to_contain_text("NOT ADMITTED")
    expect(page.locator("[role=alert]")).to_contain_text("No booking has this code")
    check_screen(page, axe_check, assert_console_clean)

    booking.refresh_from_db()
    assert booking.status == "checked_in"


def test_early_screen_and_a_phone_sized_door(
    site, phone, officer, booking, monkeypatch, axe_check, assert_console_clean
):
    """The amber screen, and the whole door at 360 px (a guard's phone in a pinch)."""
    monkeypatch.setattr(
        "acs.appointments.services.door.timezone",
        SimpleNamespace(now=lambda: STARTS_AT - timedelta(minutes=45)),
    )
    page = phone
    sign_in(page, site, officer)
    check_screen(page, axe_check, assert_console_clean)
    type_code(page, booking.code)
    expect(page.locator(".acs-answer")).to_have_attribute("data-outcome", "early")
    expect(page.locator("h1")).to_contain_text("EARLY")
    expect(page.locator("[role=status]")).to_contain_text("Come back at 08:30.")
    # An officer may admit early, with a reason; the form is on the page, accessible too.
    expect(page.locator("#id_reason")).to_be_visible()
    check_screen(page, axe_check, assert_console_clean)
    page.fill("#id_reason", "Wheelchair user, cannot wait in the queue outside.")
    with page.expect_navigation():
        page.get_by_role("button", name="Admit with this reason").click()
    expect(page.locator(".acs-answer")).to_have_attribute("data-code", "overridden")
    check_screen(page, axe_check, assert_console_clean)
