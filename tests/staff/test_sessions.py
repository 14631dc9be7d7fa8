"""Staff pages are never stored by a cache, and a staff session ends when idle (issue 14,
item 4)."""

from __future__ import annotations

import time

import pytest

from acs.staff.idle import SEEN_KEY

pytestmark = pytest.mark.django_db


def test_signed_in_staff_pages_are_no_store(lima, staff_member, verified_client):
    browser = verified_client(staff_member("reader", permissions=["core.view_auditentry"]))
    for path in ("/staff/", "/staff/audit/"):
        response = browser.get(path)
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"], path


def test_an_idle_staff_session_ends(lima, staff_member, verified_client, settings):
    settings.ACS_STAFF_IDLE_SECONDS = 30 * 60
    browser = verified_client(staff_member("idle", permissions=["core.view_auditentry"]))
    assert browser.get("/staff/audit/").status_code == 200
    session = browser.session
    session[SEEN_KEY] = time.time() - 29 * 60  # busy enough
    session.save()
    assert browser.get("/staff/audit/").status_code == 200
    session = browser.session
    session[SEEN_KEY] = time.time() - 31 * 60  # away from the desk
    session.save()
    response = browser.get("/staff/audit/")
    assert response.status_code == 302 and response["Location"].startswith("/staff/admin/login/")
    page = browser.get(response["Location"]).content.decode()
    assert "You were signed out after 30 minutes without activity." in page
    # Signed out for good: the next page asks for the password again.
    assert browser.get("/staff/audit/").status_code == 302
