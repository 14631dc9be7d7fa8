"""A message's whole journey, in English and in Spanish: a Communications officer writes a
Demonstration Alert for Cusco and sees its preview in both languages and how many people it
reaches; they cannot approve it themselves; an Approver (another person, another browser)
approves and publishes it; a Consular officer watches the delivery progress update itself;
each enrollee in Cusco has exactly one email, in their language, with the one-click
unsubscribe headers, and the enrollee elsewhere has none; the public sees the message on a
360 px phone at ``/<lang>/messages/``.

Staff pages are on a desktop and in English (they have no language prefix); what varies with
the run's language is what the public and the enrollees read. Sending runs eagerly inside the
live server (the Celery app is eager for every test): publishing commits, then
``dispatch_message`` and its ``send_batch`` run in the same request and write ``.eml`` files.
Every page is checked for console errors, CSP violations and axe (no serious or critical).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import translation
from playwright.sync_api import Browser, Locator, Page, expect

from acs.alerts.constants import KIND_TITLES, DeliveryStatus, MessageKind, MessageStatus
from acs.alerts.models import Delivery, Message
from acs.core.models import AuditEntry
from acs.enrollment.models import Enrollee
from acs.enrollment.services.profile import KindChoice, preferences_set
from acs.posts.models import Post
from acs.staff import roles
from acs.staff.services import StaffCredentials, roles_sync, staff_user_create
from tests.browser.conftest import DESKTOP, _page
from tests.browser.journey import (
    check_page,
    html_body,
    mail_files,
    read_mail,
    submit,
    tap_label,
    text_body,
)
from tests.browser.test_door import current_code
from tests.enrollment import factories
from tests.staff.conftest import roles_give

pytestmark = pytest.mark.browser

CUSCO = "PE-CUS"
ELSEWHERE = "PE-ARE"  # Arequipa: a neighbour of Cusco, not in the message's area
CUSCO_NAMES = ("Lucía Quispe Mamani", "John O'Neill", "Ñusta Huamán Ríos")
IN_CUSCO = len(CUSCO_NAMES)

TEXT = {
    "title_en": "Demonstration at the Plaza de Armas in Cusco",
    "title_es": "Manifestación en la Plaza de Armas del Cusco",
    "location_en": "Plaza de Armas and Avenida El Sol, Cusco.",
    "location_es": "Plaza de Armas y Avenida El Sol, Cusco.",
    "event_en": "A **large demonstration** is expected from 10:00; roads may be blocked.",
    "event_es": "Se espera una **gran manifestación** desde las 10:00; puede haber bloqueos.",
    "actions_en": "- Avoid the area.\n- Monitor local media.",
    "actions_es": "- Evite la zona.\n- Siga las noticias locales.",
}
# What the rendered event says (the Markdown's words, without the asterisks).
EVENT_WORDS = {
    "en": "roads may be blocked",
    "es": "puede haber bloqueos",
}


# Fixtures -------------------------------------------------------------------------------------
@pytest.fixture
def post(site) -> Post:
    return Post.objects.get(slug="lima")


def _enrollee(post: Post, language: str, code: str, name: str) -> Enrollee:
    """A verified enrollee on a trip in ``code`` from today for six days, who asked for
    demonstration alerts by email (they are not among the kinds everyone gets)."""
    person = factories.verified_enrollee(post, language=language, full_name=name)
    factories.trip(person, code, arrival=0, departure=6)
    preferences_set(
        enrollee=person, choices={MessageKind.DEMONSTRATION.value: KindChoice(email=True)}
    )
    return person


@pytest.fixture
def enrollees(post, language) -> dict[str, list[Enrollee]]:
    """Three people in Cusco, and one in Arequipa who asked for the same kind: only where
    they are keeps the last one out. All of them read the run's language."""
    return {
        "cusco": [_enrollee(post, language, CUSCO, name) for name in CUSCO_NAMES],
        "elsewhere": [_enrollee(post, language, ELSEWHERE, "Carlos Arequipeño Díaz")],
    }


def _staff(username: str, role: str) -> StaffCredentials:
    creds = staff_user_create(username=username, email=f"{username}@example.org")
    roles_give(creds.user, [role])
    return creds


@pytest.fixture
def staff(site) -> dict[str, StaffCredentials]:
    """Three people: one drafts, another approves and sends, an officer watches delivery."""
    roles_sync()
    return {
        "author": _staff("comms-writer", roles.COMMUNICATIONS),
        "approver": _staff("approver", roles.APPROVER),
        "officer": _staff("duty-officer", roles.CONSULAR_OFFICER),
    }


@pytest.fixture
def second_desktop(browser: Browser) -> Iterator[Page]:
    yield from _page(browser, DESKTOP)


@pytest.fixture
def third_desktop(browser: Browser) -> Iterator[Page]:
    yield from _page(browser, DESKTOP)


# Helpers --------------------------------------------------------------------------------------
def sign_in(page: Page, site: str, creds: StaffCredentials, path: str) -> None:
    """Through the real sign-in form, password and the authenticator's current code, then on
    to ``path``."""
    page.goto(f"{site}/staff/admin/login/?next={path}")
    page.fill("input[name=username]", creds.user.username)
    page.fill("input[name=password]", creds.password)
    page.fill("input[name=otp_token]", current_code(creds))
    with page.expect_navigation():
        page.locator("input[type=submit], button[type=submit]").first.click()
    assert page.url == f"{site}{path}", page.url
    # Django's own sign-in page has no icon link, so Chromium asked for /favicon.ico and
    # logged the 404; that page is not ours. Ours are checked from here on.
    page.console_errors.clear()


def notice(page: Page) -> Locator:
    return page.locator("main .usa-alert[role=status]")


def kind_title(language: str) -> str:
    """The kind's title in the page's own words (the catalogue the page uses)."""
    with translation.override(language):
        return str(KIND_TITLES[MessageKind.DEMONSTRATION])


# The journey ----------------------------------------------------------------------------------
@pytest.mark.parametrize("language", ["en", "es"])
def test_compose_approve_send_watch_and_read_a_demonstration_alert(
    site,
    mail_dir,
    post,
    language,
    enrollees,
    staff,
    desktop,
    second_desktop,
    third_desktop,
    phone,
    axe_check,
    assert_console_clean,
):
    cusco_people = enrollees["cusco"]
    cusco_emails = {person.email for person in cusco_people}
    elsewhere_email = enrollees["elsewhere"][0].email
    today = factories.today(post)
    until = today + timedelta(days=2)

    # 1. The author signs in, and starts a Demonstration Alert from the list ---------------
    author = desktop
    sign_in(author, site, staff["author"], "/staff/messages/")
    check_page(author, axe_check, assert_console_clean, first_h1=True)
    submit(author, author.locator('main a[href="/staff/messages/new/?kind=demonstration"]'))
    check_page(author, axe_check, assert_console_clean, first_h1=True)
    expect(author.locator("#id_kind")).to_have_value(MessageKind.DEMONSTRATION.value)
    # "For assistance" starts with the post's hotline, in each language.
    expect(author.locator("#id_assistance_en")).not_to_have_value("")
    expect(author.locator("#id_assistance_es")).not_to_have_value("")
    for name, value in TEXT.items():
        author.locator(f"#id_{name}").fill(value)
    cusco = factories.region(post, CUSCO)
    cusco_box = author.locator(f'input[name="regions"][value="{cusco.pk}"]')
    tap_label(author, cusco_box.get_attribute("id") or "")
    author.locator("#id_from_date").fill(today.isoformat())
    author.locator("#id_from_time").fill("00:00")
    author.locator("#id_until_date").fill(until.isoformat())
    author.locator("#id_until_time").fill("23:00")
    submit(author, author.get_by_role("button", name="Save the draft"))

    message = Message.objects.get()
    assert author.url == f"{site}/staff/messages/{message.pk}/", author.url
    assert message.status == MessageStatus.DRAFT
    assert message.created_by == staff["author"].user
    assert [region.code for region in message.regions.all()] == [CUSCO]
    assert (message.title_en, message.title_es) == (TEXT["title_en"], TEXT["title_es"])
    expect(notice(author)).to_contain_text("Draft saved.")

    # 2. The message page: the preview in both languages, and who gets it ------------------
    expect(author.locator("h1").first).to_contain_text(TEXT["title_en"])
    expect(author.locator("#reach-heading + p")).to_have_text(
        f"{IN_CUSCO} people would receive it now."
    )
    for lang in ("en", "es"):
        preview = author.locator(f'section[aria-labelledby="preview-{lang}"]')
        expect(preview).to_contain_text(f"{kind_title(lang)}: {TEXT[f'title_{lang}']}")
        box = preview.locator(f'div[lang="{lang}"]')
        expect(box).to_contain_text(TEXT[f"title_{lang}"])
        expect(box).to_contain_text(EVENT_WORDS[lang])
        expect(box.locator("strong").first).to_be_visible()  # the Markdown was rendered
    check_page(author, axe_check, assert_console_clean, first_h1=True)

    # 3. The author cannot approve: no button, and a forged POST is refused ----------------
    actions = author.locator('section[aria-labelledby="actions-heading"]')
    expect(actions.get_by_role("button", name="Approve")).to_have_count(0)
    expect(actions.get_by_role("button", name="Publish", exact=False)).to_have_count(0)
    csrf = next(c["value"] for c in author.context.cookies() if c["name"] == "csrftoken")
    for step in ("approve", "publish"):
        forged = author.request.post(
            f"{site}/staff/messages/{message.pk}/{step}/",
            form={"csrfmiddlewaretoken": csrf},
            max_redirects=0,
        )
        assert forged.status == 403, (step, forged.status)
    message.refresh_from_db()
    assert message.status == MessageStatus.DRAFT
    assert message.approved_by is None

    # 4. The Approver, in a browser of their own, approves, then publishes -----------------
    approver = second_desktop
    message_path = f"/staff/messages/{message.pk}/"
    sign_in(approver, site, staff["approver"], message_path)
    check_page(approver, axe_check, assert_console_clean, first_h1=True)
    before = mail_files(mail_dir)
    submit(approver, approver.get_by_role("button", name="Approve", exact=True))
    assert approver.url == f"{site}{message_path}"
    expect(notice(approver)).to_contain_text("Approved. It can now be sent.")
    check_page(approver, axe_check, assert_console_clean, first_h1=True)
    message.refresh_from_db()
    assert (message.status, message.approved_by) == (
        MessageStatus.APPROVED,
        staff["approver"].user,
    )
    assert mail_files(mail_dir) == before  # approving sends nothing

    publish = approver.get_by_role("button", name=f"Publish and send to {IN_CUSCO} people")
    submit(approver, publish)
    assert approver.url == f"{site}{message_path}"
    expect(notice(approver)).to_contain_text("Published. It is on the public page now")
    expect(approver.locator("h1 .usa-tag").first).to_have_text("Published")
    check_page(approver, axe_check, assert_console_clean, first_h1=True)
    message.refresh_from_db()
    assert message.status == MessageStatus.PUBLISHED
    assert message.published_by == staff["approver"].user

    # 5. A Consular officer watches the delivery progress; its script updates the figures --
    officer = third_desktop
    sign_in(officer, site, staff["officer"], message_path)
    submit(officer, officer.get_by_role("link", name="Delivery progress"))
    assert officer.url == f"{site}/staff/messages/{message.pk}/delivery/", officer.url
    progress = officer.locator("[data-delivery-progress]")
    # Blank the figures the server wrote, so that only delivery-progress.js (polling the
    # JSON two seconds after the page loaded) can put them back.
    fields = ["total.sent", "email.sent", "total.queued", "open", "rows", "rate", "eta"]
    with officer.expect_response(lambda r: r.url.endswith("/delivery.json")) as polled:
        officer.evaluate(
            """(names) => names.forEach((name) => document
                .querySelectorAll(`[data-field="${name}"]`)
                .forEach((node) => { node.textContent = "…"; }))""",
            fields,
        )
    assert polled.value.status == 200
    expect(progress.locator('[data-field="total.sent"]')).to_have_text(str(IN_CUSCO))
    expect(progress.locator('[data-field="email.sent"]')).to_have_text(str(IN_CUSCO))
    expect(progress.locator('[data-field="total.queued"]')).to_have_text("0")
    expect(progress.locator('[data-field="total.failed"]')).to_have_text("0")
    expect(progress.locator('[data-field="open"]')).to_have_text("0")
    expect(progress.locator('[data-field="rows"]')).to_have_text(str(IN_CUSCO))
    expect(progress.locator('[data-field="rate"]')).to_have_text(str(IN_CUSCO))
    expect(progress.locator('[data-field="eta"]')).to_have_text("Finished.")
    check_page(officer, axe_check, assert_console_clean, first_h1=True)

    # Who did what, in the message's history: three people, each their own step.
    history = AuditEntry.objects.filter(object_type="alerts.message", object_id=str(message.pk))
    assert sorted(history.values_list("action", "actor_name")) == sorted(
        [
            ("acs.message.drafted", "comms-writer"),
            ("acs.message.approved", "approver"),
            ("acs.message.published", "approver"),
            ("acs.delivery.progress_viewed", "duty-officer"),
        ]
    )

    rows = list(Delivery.objects.filter(message=message))
    assert {row.address for row in rows} == cusco_emails
    assert {row.status for row in rows} == {DeliveryStatus.SENT}
    assert {row.language for row in rows} == {language}

    # 6. The emails: one for each person in Cusco, none for anyone else --------------------
    sent = [read_mail(path) for path in sorted(mail_files(mail_dir) - before)]
    recipients = [mail["To"] for mail in sent]
    assert sorted(recipients) == sorted(cusco_emails), recipients
    assert elsewhere_email not in recipients
    provider_ids = {row.address: row.provider_id for row in rows}
    for mail in sent:
        subject = str(mail["Subject"]).strip()  # folded, like the header below
        assert subject == f"{kind_title(language)}: {TEXT[f'title_{language}']}"
        assert f'<html lang="{language}">' in html_body(mail)
        assert EVENT_WORDS[language] in html_body(mail)
        assert EVENT_WORDS[language] in text_body(mail)
        # A long header is folded onto a second line (Django's way: "Name:", line break,
        # space); unfolded, its value is the <URL>.
        unsubscribe = str(mail["List-Unsubscribe"]).strip()
        assert unsubscribe.startswith(f"<{site}/{language}/lima/m/unsubscribe/"), unsubscribe
        assert unsubscribe.endswith(">"), unsubscribe
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert mail["Message-ID"] == provider_ids[mail["To"]]  # recorded on the row

    # 7. The public page on a phone, in the run's language ---------------------------------
    public = phone
    assert public.viewport_size["width"] == 360
    response = public.goto(f"{site}/{language}/lima/messages/")
    assert response is not None and response.status == 200
    expect(public.locator("html")).to_have_attribute("lang", language)
    feeds = public.locator('head link[rel="alternate"][type="application/atom+xml"]')
    expect(feeds).to_have_count(2)
    for href in (feeds.nth(0).get_attribute("href"), feeds.nth(1).get_attribute("href")):
        assert href and href.startswith(f"/{language}/lima/messages/"), href
        feed = public.request.get(f"{site}{href}")
        assert feed.status == 200, href
        assert "atom" in feed.headers["content-type"], feed.headers["content-type"]
        assert TEXT[f"title_{language}"] in feed.text()
    item = public.locator(".usa-collection__item")
    expect(item).to_have_count(1)
    expect(item.locator(".usa-tag").first).to_have_text(kind_title(language))
    expect(item.locator(".usa-collection__description")).to_have_text(cusco.name)
    title_link = item.get_by_role("link", name=TEXT[f"title_{language}"], exact=True)
    expect(title_link).to_be_visible()
    check_page(public, axe_check, assert_console_clean, first_h1=True)

    submit(public, title_link)
    assert public.url == f"{site}/{language}/lima/messages/{message.public_id}/", public.url
    expect(public.locator("h1")).to_have_text(TEXT[f"title_{language}"])
    expect(public.locator("article .usa-tag").first).to_have_text(kind_title(language))
    expect(public.locator("article")).to_contain_text(EVENT_WORDS[language])
    expect(public.locator("article")).to_contain_text(cusco.name)
    cap = public.locator('head link[rel="alternate"][type="application/cap+xml"]')
    expect(cap).to_have_attribute("href", f"/{language}/lima/messages/{message.public_id}/cap.xml")
    check_page(public, axe_check, assert_console_clean, first_h1=True)
