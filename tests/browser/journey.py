"""Helpers the browser journeys share: what every page must be, tapping USWDS controls,
submitting forms, and reading the ``.eml`` files the site wrote (the ``mail_dir`` fixture in
``conftest.py`` points the mail backend at them).
"""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage
from pathlib import Path

from playwright.sync_api import Locator, Page, expect


# Pages ----------------------------------------------------------------------------------------
def assert_fits(page: Page) -> None:
    width = page.viewport_size["width"]
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width + 1, f"{page.url}: {scroll_width}px wide at a {width}px viewport"


def check_page(
    page: Page,
    axe_check,
    assert_console_clean,
    *,
    document_status: int | None = None,
    first_h1: bool = False,
) -> None:
    """What every step must be: as wide as the screen, clean in the console, accessible.

    ``document_status``: the error status the page answered with on purpose (400 for a form
    with mistakes); the console line Chromium writes for it is then forgotten, since the page
    keeps one list for every document it shows.

    ``first_h1``: the page may have more than one ``h1`` (staff pages); the first must show.
    Otherwise there must be exactly one, and it must show."""
    heading = page.locator("h1")
    expect(heading.first if first_h1 else heading).to_be_visible()
    assert_fits(page)
    assert_console_clean(page, document_status=document_status)
    axe_check(page)
    if document_status is not None:
        page.console_errors.clear()  # only the expected line was there (checked just above)


# Controls -------------------------------------------------------------------------------------
def tap_label(page: Page, control_id: str, *, checked: bool = True) -> None:
    """USWDS hides checkboxes and radios off-screen and draws the label: tap the label, then
    the control must be ``checked`` (or, for a box being cleared, not)."""
    page.locator(f'label[for="{control_id}"]').click()
    if checked:
        expect(page.locator(f"#{control_id}")).to_be_checked()
    else:
        expect(page.locator(f"#{control_id}")).not_to_be_checked()


def submit(page: Page, button: Locator, *, status: int = 200) -> None:
    """Click ``button`` and wait for the page it leads to, which must answer ``status``."""
    with page.expect_navigation() as navigation:
        button.click()
    response = navigation.value
    assert response is not None
    assert response.status == status, f"{page.url} answered {response.status}"


# Mail -----------------------------------------------------------------------------------------
def mail_files(folder: Path) -> set[Path]:
    return set(folder.glob("*.eml")) if folder.exists() else set()


def read_mail(path: Path) -> EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=policy.default)


def new_mail(folder: Path, before: set[Path]) -> EmailMessage:
    """The one email written to ``folder`` since ``before`` was taken."""
    added = mail_files(folder) - before
    assert len(added) == 1, f"expected one new .eml in {folder}, found {sorted(added)}"
    return read_mail(added.pop())


def text_body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "the email has no text part"
    return part.get_content()


def html_body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None, "the email has no HTML part"
    return part.get_content()
