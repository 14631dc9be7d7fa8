"""Browser fixtures: one Debian chromium per session, a seeded live server, a folder the
site's mail is written to, phone and desktop pages that record console errors and CSP
violations, and an axe-core check.

Playwright's sync API runs an asyncio event loop in the main thread, so Django would refuse
ORM calls made from the tests (seeding) without DJANGO_ALLOW_ASYNC_UNSAFE.
"""

from __future__ import annotations

import os

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from acs.content.services import pages_seed
from acs.demo.shipped import LIMA
from acs.posts.services import post_create

# The journeys' shared helpers assert; have pytest explain their failures as it does a test's.
pytest.register_assert_rewrite("tests.browser.journey")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_BLOCKING = {"serious", "critical"}
_AXE = Axe()  # reads axe.min.js once


# The browser ----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium (scripts/ensure-chromium)."
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the browser tests, but {message}", pytrace=False)
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


# The site -------------------------------------------------------------------------------------
@pytest.fixture
def site(live_server, transactional_db) -> str:
    """The live server's base URL, with the Lima post and its pages seeded as `lima` does."""
    post = post_create(**LIMA)
    pages_seed(post=post)
    return live_server.url


@pytest.fixture
def mail_dir(settings, tmp_path, site) -> Path:
    """Mail goes to .eml files in a folder of the test's own (standing in for var/mail/),
    with links to the live server. ``tests.browser.journey`` reads them."""
    folder = tmp_path / "mail"
    settings.EMAIL_BACKEND = "acs.core.mail.EmlFileBackend"
    settings.EMAIL_FILE_PATH = str(folder)
    settings.ACS_SITE_URL = site
    return folder


# Pages ----------------------------------------------------------------------------------------
_CSP_MARKERS = ("Refused to", "Content Security Policy")


def _watch(page: Page) -> Page:
    """Record what a citizen's browser would complain about on the page object itself."""
    page.console_errors = []
    page.csp_violations = []

    def on_console(message: ConsoleMessage) -> None:
        # Chromium has said "Refused to load…" and, lately, "Loading … violates the following
        # Content Security Policy directive"; either is a CSP violation.
        if any(marker in message.text for marker in _CSP_MARKERS):
            page.csp_violations.append(message.text)
        elif message.type == "error":
            url = (message.location or {}).get("url", "")
            page.console_errors.append(f"{message.text} [{url}]" if url else message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: page.console_errors.append(f"uncaught: {error}"))
    return page


def _page(browser: Browser, viewport: dict[str, int]) -> Iterator[Page]:
    context = browser.new_context(viewport=viewport)
    context.set_default_timeout(10_000)
    try:
        yield _watch(context.new_page())
    finally:
        context.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    yield from _page(browser, PHONE)


@pytest.fixture
def desktop(browser: Browser) -> Iterator[Page]:
    yield from _page(browser, DESKTOP)


# Checks ---------------------------------------------------------------------------------------
def assert_console_clean(page: Page, *, document_status: int | None = None) -> None:
    """No console errors, uncaught exceptions or CSP violations happened on the page.

    ``document_status``: an error status the page itself was expected to answer with (404,
    400); Chromium logs "Failed to load resource" for it, which is then not a fault.
    """
    errors = list(page.console_errors)
    if document_status is not None:
        expected = f"the server responded with a status of {document_status}"
        errors = [
            e for e in errors if not (e.startswith("Failed to load resource") and expected in e)
        ]
    problems = [f"CSP violation: {v}" for v in page.csp_violations]
    problems += [f"console error: {e}" for e in errors]
    if problems:
        pytest.fail(f"on {page.url}:\n" + "\n".join(problems), pytrace=False)


def axe_check(page: Page) -> None:
    """Run axe-core (WCAG 2.0/2.1 A and AA) on the page as it is now; fail on any serious or
    critical violation.

    The script is evaluated through the DevTools protocol, which the site's CSP (no inline
    scripts) does not apply to, so the page keeps its real policy while being checked.
    """
    options = {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]}
    results = _AXE.run(page, options=options)
    blocking = [v for v in results.response["violations"] if v.get("impact") in AXE_BLOCKING]
    lines = []
    for violation in blocking:
        targets = [" ".join(map(str, node["target"])) for node in violation["nodes"][:3]]
        more = len(violation["nodes"]) - len(targets)
        first = violation["nodes"][0] if violation["nodes"] else {}
        detail = " ".join((first.get("failureSummary") or "").split())
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']}; "
            f"{targets}{f' and {more} more' if more > 0 else ''}"
            f"{f'; {detail}' if detail else ''} [{violation['helpUrl']}]"
        )
    if blocking:
        pytest.fail(f"axe found on {page.url}:\n" + "\n".join(lines), pytrace=False)


@pytest.fixture(name="axe_check")
def axe_check_fixture() -> Callable[[Page], None]:
    return axe_check


@pytest.fixture(name="assert_console_clean")
def assert_console_clean_fixture() -> Callable[..., None]:
    return assert_console_clean
