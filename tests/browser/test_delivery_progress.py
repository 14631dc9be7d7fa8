"""The progress page in a real browser, under the site's real CSP: it updates itself from its
JSON while rows are sent, with no reload and no inline script, and is accessible."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from acs.alerts.constants import DeliveryStatus
from acs.alerts.models import Delivery
from acs.posts.models import Post
from acs.staff import roles
from acs.staff.services import StaffCredentials, roles_sync, staff_user_create
from tests.alerts.delivery.conftest import APPROVER, WRITER, _user, fields
from tests.browser.test_door import current_code
from tests.enrollment import factories
from tests.staff.conftest import roles_give

pytestmark = pytest.mark.browser


@pytest.fixture
def officer(site) -> StaffCredentials:
    roles_sync()
    creds = staff_user_create(username="delivery-officer", email="officer@example.org")
    roles_give(creds.user, [roles.CONSULAR_OFFICER])
    return creds


@pytest.fixture
def message(site, monkeypatch):
    """A published message for four people in Cusco, none of it sent: the test sends."""
    from acs.alerts import services as alerts
    from acs.alerts import tasks
    from acs.alerts.services import outbox

    monkeypatch.setattr(tasks.dispatch_message, "apply_async", lambda *args, **kwargs: None)
    post = Post.objects.get(slug="lima")
    for _ in range(4):
        person = factories.verified_enrollee(post)
        factories.trip(person, "PE-CUS", arrival=0, departure=3)
    writer, approver = _user("writer", WRITER), _user("approver", APPROVER)
    draft = alerts.message_draft_create(post=post, actor=writer, **fields(post))
    alerts.message_approve(message=draft, actor=approver)
    published = alerts.message_publish(message=draft, actor=approver).message
    outbox.deliveries_write_all(message_id=published.pk)  # the fan-out's steps, here
    return published


def sign_in(page: Page, site: str, creds: StaffCredentials, next_path: str) -> None:
    page.goto(f"{site}/staff/admin/login/?next={next_path}")
    page.fill("input[name=username]", creds.user.username)
    page.fill("input[name=password]", creds.password)
    page.fill("input[name=otp_token]", current_code(creds))
    with page.expect_navigation():
        page.locator("input[type=submit], button[type=submit]").first.click()
    assert page.url == f"{site}{next_path}", page.url
    page.console_errors.clear()  # Django's admin sign-in page asks for /favicon.ico


def test_the_progress_page_follows_the_sending_without_a_reload(
    site, desktop, officer, message, axe_check, assert_console_clean
):
    path = f"/staff/messages/{message.pk}/delivery/"
    sign_in(desktop, site, officer, path)
    sent = desktop.locator('[data-field="email.sent"]')
    expect(sent).to_have_text("0")
    expect(desktop.locator('[data-field="email.queued"]')).to_have_text("4")
    desktop.evaluate("window.__sameDocument = true")

    first, second, *_rest = Delivery.objects.filter(message=message).order_by("pk")
    Delivery.objects.filter(pk__in=[first.pk, second.pk]).update(
        status=DeliveryStatus.SENT, sent_at=timezone.now()
    )
    Delivery.objects.filter(pk__in=[row.pk for row in _rest]).update(
        status=DeliveryStatus.FAILED, error="SMTP 550: user unknown"
    )

    expect(sent).to_have_text("2", timeout=10_000)
    expect(desktop.locator('[data-field="email.failed"]')).to_have_text("2")
    expect(desktop.locator('[data-field="failures"]')).to_contain_text("SMTP 550: user unknown")
    expect(desktop.locator('[data-field="eta"]')).to_have_text("Finished.")
    assert desktop.evaluate("window.__sameDocument") is True  # no reload happened
    assert_console_clean(desktop)
    axe_check(desktop)
