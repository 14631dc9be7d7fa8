"""The public site in a real browser, as a citizen on a phone or a desktop sees it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, Response, expect

pytestmark = pytest.mark.browser

LANGUAGES = ["en", "es"]
VIEWPORTS = ["phone", "desktop"]
SEED = Path(__file__).resolve().parents[2] / "acs" / "content" / "seed"
SLUGS = [entry["slug"] for entry in json.loads((SEED / "pages.json").read_text())]
HOTLINE = "+51 1 6182000"


def path(language: str, slug: str) -> str:
    return f"/{language}/lima/" if slug == "home" else f"/{language}/lima/{slug}/"


def open_page(page: Page, url: str, status: int = 200) -> Response:
    response = page.goto(url)
    assert response is not None
    assert response.status == status, f"{url} answered {response.status}"
    return response


@pytest.fixture
def site(read_only_site) -> str:
    """These pages are only read (the taxpayer checker keeps nothing): one seeded site serves
    the whole module. (A test of another module that ran on this worker meanwhile may have
    emptied the database; the module's fixture puts Lima back.)"""
    return read_only_site()


@pytest.fixture(params=VIEWPORTS)
def viewport(request) -> Page:
    """The phone or the desktop page, by the parameter's name."""
    return request.getfixturevalue(request.param)


# Every page, in both languages, at both sizes -------------------------------------------------
@pytest.mark.parametrize("slug", SLUGS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_page_renders_cleanly(site, viewport, language, slug, axe_check, assert_console_clean):
    page = viewport
    response = open_page(page, site + path(language, slug))
    # The policy is really in force, so "no CSP violation" below means something.
    assert "script-src 'self'" in (response.headers.get("content-security-policy") or "")

    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator("h1")).to_be_visible()
    width = page.viewport_size["width"]
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width + 1, f"{scroll_width}px wide at a {width}px viewport"
    assert_console_clean(page)
    axe_check(page)


# The list of posts, where a traveler finds the post that serves them ------------------------
@pytest.mark.parametrize("language", LANGUAGES)
def test_post_list_renders_cleanly(site, viewport, language, axe_check, assert_console_clean):
    page = viewport
    open_page(page, f"{site}/{language}/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator("h1")).to_be_visible()
    axe_check(page)
    # The search works without JavaScript's help: a GET form, its answer a page of its own.
    page.get_by_role("searchbox").fill("Lima")
    page.get_by_role("searchbox").press("Enter")
    page.wait_for_url(re.compile(r"\?q=Lima$"))
    page.locator(f'main a[href="/{language}/lima/"]').click()
    page.wait_for_url(f"{site}/{language}/lima/")
    assert_console_clean(page)
    axe_check(page)


# The pages of the portal's own parts that anyone may open -------------------------------------
APP_PATHS = [
    "enroll/",
    "enroll/sign-up/",
    "enroll/sign-in/",
    "enroll/sign-in/link/",
    "enroll/password/forgot/",
]


@pytest.mark.parametrize("app_path", APP_PATHS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_app_page_renders_cleanly(site, phone, language, app_path, axe_check, assert_console_clean):
    page = phone
    open_page(page, f"{site}/{language}/lima/{app_path}")
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator("h1")).to_be_visible()
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= page.viewport_size["width"] + 1, f"{scroll_width}px wide"
    assert_console_clean(page)
    axe_check(page)


# The emergency hotline ------------------------------------------------------------------------
@pytest.mark.parametrize("language", LANGUAGES)
def test_emergency_page_shows_a_tap_to_call_hotline(site, viewport, language):
    page = viewport
    open_page(page, site + path(language, "emergency"))

    if page.viewport_size["width"] < 1024:
        # On a phone the navigation sits behind the Menu button: the hotline must not.
        expect(page.locator(".usa-nav")).to_be_hidden()
    main = page.locator("main")
    expect(main.locator('a[href^="tel:+51"]').first).to_be_visible()
    hotline = main.get_by_role("link", name=HOTLINE, exact=True).first
    expect(hotline).to_be_visible()
    expect(hotline).to_have_attribute("href", re.compile(r"^tel:\+51"))


# What a visitor must know before coming -------------------------------------------------------
@pytest.mark.parametrize(("language", "text"), [("en", "15 minutes"), ("es", "15 minutos")])
def test_home_page_states_the_15_minute_rule(site, desktop, language, text):
    open_page(desktop, site + path(language, "home"))

    expect(desktop.locator("main").get_by_text(text).first).to_be_visible()


@pytest.mark.parametrize(
    ("language", "words"),
    [("en", ["electronic", "sealed"]), ("es", ["electrónic", "cerrad"])],
)
def test_access_policy_names_the_prohibited_items(site, desktop, language, words):
    open_page(desktop, site + path(language, "access-policy"))

    body = desktop.locator("main").inner_text().lower()
    for word in words:
        assert word in body, f"{word!r} is not on the {language} access policy"


# Languages ------------------------------------------------------------------------------------
def test_language_switcher_goes_to_the_same_page_and_back(site, desktop):
    open_page(desktop, site + "/en/lima/emergency/")

    desktop.locator('a[hreflang="es"]').click()
    expect(desktop).to_have_url(site + "/es/lima/emergency/")
    expect(desktop.locator("html")).to_have_attribute("lang", "es")

    desktop.locator('a[hreflang="en"]').click()
    expect(desktop).to_have_url(site + "/en/lima/emergency/")
    expect(desktop.locator("html")).to_have_attribute("lang", "en")


def test_unknown_language_prefix_lands_on_the_english_page(site, desktop):
    open_page(desktop, site + "/fr/emergency/")

    expect(desktop).to_have_url(site + "/en/lima/emergency/")
    expect(desktop.locator("html")).to_have_attribute("lang", "en")


# The overseas-taxpayer checker ----------------------------------------------------------------
ACCOUNTS_HIGHEST = "Foreign bank and financial accounts: the highest total during the year"
ANSWERS = {
    ACCOUNTS_HIGHEST: "12500",
    "Foreign bank and financial accounts: the total on December 31": "9000",
    "Other foreign financial assets: the highest total during the year": "0",
    "Other foreign financial assets: the total on December 31": "0",
}


def choose(page: Page, answer: str) -> None:
    """Pick a radio answer the way a reader does: USWDS hides the input itself off-screen and
    draws the label, so the label is what gets tapped."""
    radio = page.get_by_role("radio", name=answer, exact=True)
    page.locator(f'label[for="{radio.get_attribute("id")}"]').click()
    expect(radio).to_be_checked()


def fill_checker(page: Page) -> None:
    choose(page, "Single")
    choose(page, "Yes, I live abroad")
    for label, value in ANSWERS.items():
        page.get_by_label(label, exact=True).fill(value)


def submit_checker(page: Page, status: int) -> None:
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Check", exact=True).click()
    assert navigation.value is not None
    assert navigation.value.status == status


def test_taxpayer_checker_journey_on_a_phone(site, phone, axe_check, assert_console_clean):
    open_page(phone, site + "/en/lima/overseas-taxpayers/")

    fill_checker(phone)
    submit_checker(phone, 200)
    result = phone.locator("#checker-result")
    expect(result).to_be_visible()
    expect(result.locator("h4", has_text="FBAR")).to_contain_text("likely required")
    expect(result.locator("h4", has_text="FBAR")).not_to_contain_text("not required")
    assert_console_clean(phone)

    phone.get_by_label(ACCOUNTS_HIGHEST, exact=True).fill("-5")
    submit_checker(phone, 400)
    field = phone.locator("#id_accounts_highest")
    error = phone.locator("#id_accounts_highest-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("cannot be negative")
    # "next to the field": in the field's own form group, and announced with it.
    group = phone.locator(".usa-form-group", has=field)
    expect(group.locator(".usa-error-message")).to_contain_text("cannot be negative")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_attribute(
        "aria-describedby", re.compile(r"\bid_accounts_highest-error\b")
    )
    assert_console_clean(phone, document_status=400)
    axe_check(phone)


def test_taxpayer_checker_result_is_accessible(site, phone, axe_check):
    open_page(phone, site + "/en/lima/overseas-taxpayers/")
    fill_checker(phone)
    submit_checker(phone, 200)
    expect(phone.locator("#checker-result")).to_be_visible()

    axe_check(phone)


# Errors ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("language", LANGUAGES)
def test_not_found_page_is_styled_and_accessible(
    site, desktop, language, axe_check, assert_console_clean
):
    open_page(desktop, site + f"/{language}/lima/no-such-page/", status=404)

    expect(desktop.locator("html")).to_have_attribute("lang", language)
    expect(desktop.locator("section.usa-banner")).to_be_visible()
    styled = desktop.evaluate(
        "[...document.styleSheets].some(s => (s.href || '').includes('uswds.min.css')"
        " && s.cssRules.length > 0)"
    )
    assert styled, "the USWDS stylesheet is not applied to the 404 page"
    expect(desktop.locator("h1")).to_be_visible()
    assert_console_clean(desktop, document_status=404)
    axe_check(desktop)
