"""Shared fixtures: a seeded post, and a client that checks every page it renders."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import translation

from acs.content.services import pages_seed
from acs.demo.shipped import LIMA
from acs.posts.models import Post
from acs.posts.services import post_create


@pytest.fixture(autouse=True)
def _isolated_cache(settings, tmp_path):
    """Every test gets an empty cache of its own (axes lockouts, rate limits)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": str(tmp_path),
        }
    }


@pytest.fixture(autouse=True)
def _page_cache_sees_changes_at_once(settings):
    """A test that changes a page and reads it again sees the change: the public pages' cache
    re-reads the post's stamp on every request (deployed: once a second per process; see
    tests/alerts/test_page_cache.py)."""
    from acs.core import pagecache

    settings.ACS_PAGE_CACHE_STAMP_SECONDS = 0
    pagecache.stamps_forget()


@pytest.fixture(autouse=True, scope="session")
def _tasks_run_inline():
    """Tasks run in the test's own process and transaction; their errors fail the test."""
    from acs.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True


@pytest.fixture(autouse=True)
def _english_by_default():
    """Each test starts in English: a request handled in Spanish by an earlier test leaves
    its language active in the thread."""
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Argon2 is slow on purpose; tests that are not about hashing need not pay for it."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def lima(db) -> Post:
    post = post_create(**LIMA)
    pages_seed(post=post)
    return post


@pytest.fixture
def new_york(db) -> Post:
    """A post whose zone has daylight saving (clocks spring forward on 2027-03-14)."""
    return post_create(
        slug="new-york-test",
        name="Test post with daylight saving",
        city="New York",
        country_code="US",
        time_zone="America/New_York",
        street_address="1 Test Plaza",
        main_phone="+1 202 501 4444",
        emergency_phone="+1 202 501 4444",
    )


_SCRIPT = re.compile(r"<script\b[^>]*>", re.IGNORECASE)


class CheckingClient(Client):
    """A test client that fails on pages a citizen should never get: no title, a form with
    no action, an inline script (the CSP forbids them)."""

    def request(self, **request):
        response = super().request(**request)
        content_type = response.get("Content-Type", "")
        ours = not request.get("PATH_INFO", "").startswith("/staff/admin/")  # Django's own
        is_page = ours and not 300 <= response.status_code < 400
        if is_page and content_type.startswith("text/html") and not response.streaming:
            html = response.content.decode()
            assert re.search(r"<title>[^<]+</title>", html), "page has no title"
            for form in re.findall(r"<form\b[^>]*>", html):
                assert "action=" in form, f"form without an action: {form}"
            for tag in _SCRIPT.findall(html):
                assert "src=" in tag, f"inline script: {tag}"
        return response


@pytest.fixture
def client() -> CheckingClient:
    return CheckingClient()
