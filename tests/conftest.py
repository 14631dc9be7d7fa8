"""Shared fixtures: a seeded post, and a client that checks every page it renders."""

from __future__ import annotations

import gc
import os
import re
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.test import Client
from django.utils import translation
from pytest_django.plugin import blocking_manager_key

from acs.appointments.services import services_seed
from acs.content.services import pages_seed
from acs.demo.shipped import LIMA
from acs.posts.models import Post
from acs.posts.services import post_create


# Running in parallel (pytest-xdist) -----------------------------------------------------------
# Each worker has its own test database (pytest-django names it after the worker) and, from
# here, its own Redis database: the broker tests empty the queues they use, and the worker
# processes they start share a cache. The worker processes inherit the environment. A test
# marked ``serial`` restarts a server every test depends on; it runs alone, after the rest
# (``scripts/run-tests``).
def _own_redis_database() -> None:
    url = os.environ.get("REDIS_URL", "")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # gw0, gw1, …
    if not url.startswith(("redis://", "rediss://")) or not worker.startswith("gw"):
        return
    parts = urlsplit(url)
    database = int(parts.path.strip("/") or 0) - int(worker[2:])
    os.environ["REDIS_URL"] = urlunsplit(parts._replace(path=f"/{database % 16}"))  # of 16


_own_redis_database()


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


@pytest.fixture(autouse=True)
def _booking_rules_read_afresh(settings):
    """The booking path reads the post, its services and their opening rules afresh on every
    request, as a test that changes one and books expects (deployed: once a second per
    process; see tests/appointments/test_booking_rules_cache.py)."""
    from acs.appointments.selectors import booking_rules_forget

    settings.ACS_BOOKING_RULES_SECONDS = 0
    booking_rules_forget()


@pytest.fixture(autouse=True)
def _emails_handed_over_at_commit(settings):
    """A committed email goes to the broker from the request itself, so that a test sees it
    handed over (or marked for the sweeper) when the request returns (deployed: in a batch per
    process every ACS_MAIL_HANDOVER_SECONDS; see tests/core/test_outbox_batches.py)."""
    settings.ACS_MAIL_HANDOVER_SECONDS = 0


@pytest.fixture(autouse=True)
def _post_routes_afresh():
    """Each test reads the posts' slugs and host names afresh: a post made by a test that
    was rolled back must not route requests of the next one."""
    from acs.posts.routing import routes_forget

    routes_forget()


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


def lima_seeded() -> Post:
    """The shipped post and its pages, as ``demo_seed`` makes them: found when already there."""
    post = Post.objects.filter(slug=LIMA["slug"]).first()
    if post is None:
        post = post_create(**LIMA)
        pages_seed(post=post)
    return post


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Seed Lima once per test database, committed, so that each test finds the shipped post
    instead of making it again (a test's changes to it are rolled back with the test)."""
    with django_db_blocker.unblock():
        lima_seeded()
    yield
    with django_db_blocker.unblock():
        _others_leave()


def _others_leave() -> None:
    """Close what threads of earlier tests left open, before the test database is dropped.

    A thread's connection that ended in a reference cycle waits for the garbage collector;
    under xdist the worker drops its database sooner than that, and PostgreSQL refuses to
    drop a database someone is connected to."""
    gc.collect()
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def _flushes(item: pytest.Item) -> bool:
    """Whether the test commits for real, so that its database is emptied when it ends."""
    marker = item.get_closest_marker("django_db")
    names = getattr(item, "fixturenames", ())
    return (
        "transactional_db" in names
        or "live_server" in names
        or bool(marker and marker.kwargs.get("transaction"))
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """A test that committed leaves an empty database behind; put Lima back before a test
    that rolls back runs, so that it, too, finds the shipped post already there."""
    yield
    if _flushes(item) and nextitem is not None and not _flushes(nextitem):
        with item.config.stash[blocking_manager_key].unblock():
            lima_seeded()


@pytest.fixture
def lima(db) -> Post:
    return lima_seeded()


@pytest.fixture
def no_post(db) -> None:
    """An installation before its first post: the seeded Lima is removed (for this test only,
    rolled back with it)."""
    Post.objects.all().delete()


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


@pytest.fixture
def mexico(db) -> Post:
    """The embassy in Mexico City, serving every Mexican state (as the demo seeds it), in
    another zone (Mexico City has kept UTC−6 since 2022)."""
    return post_create(
        slug="mexico-city-test",
        name="U.S. Embassy Mexico City (test)",
        name_es="Embajada de EE. UU. en Ciudad de México (prueba)",
        city="Mexico City",
        country_code="MX",
        time_zone="America/Mexico_City",
        street_address="Paseo de la Reforma 305",
        main_phone="+52 55 5080 2000",
        emergency_phone="+52 55 8526 2561",
    )


@pytest.fixture
def quito(lima) -> Post:
    """A second post, in another country, with the shipped pages and a service of its own
    (issue 12: each post's pages, services and hotline are its own)."""
    post = post_create(
        slug="quito",
        name="U.S. Embassy Quito",
        name_es="Embajada de los EE. UU. en Quito",
        city="Quito",
        country_code="EC",
        time_zone="America/Guayaquil",
        street_address="Avenida Avigiras E12-170",
        main_phone="+593 2 398 5000",
        emergency_phone="+593 2 398 5000",
    )
    pages_seed(post=post)
    services_seed(
        post=post,
        entries=[
            {
                "slug": "quito-notarial",
                "order": 1,
                "duration_minutes": 15,
                "seats_per_slot": 2,
                "max_people": 2,
                "horizon_days": 30,
                "min_notice_hours": 0,
                "requires_benefits_ack": False,
                "hours": [[day, "08:00", "12:00"] for day in range(5)],
                "name": {"en": "Notarial services in Quito", "es": "Servicios notariales en Quito"},
                "description": {"en": "", "es": ""},
                "checklist": {"en": "", "es": ""},
            }
        ],
    )
    return post


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


def pytest_terminal_summary(terminalreporter):
    """How many cases the property-based tests tried (each records ``fuzz: <what>`` with
    ``record_property``; xdist brings the records of every worker here)."""
    counts: dict[str, int] = {}
    for outcome in ("passed", "failed"):
        for report in terminalreporter.stats.get(outcome, []):
            for name, value in getattr(report, "user_properties", []):
                if isinstance(name, str) and name.startswith("fuzz: "):
                    counts[name[6:]] = counts.get(name[6:], 0) + int(value)
    if counts:
        terminalreporter.write_sep("-", "property-based tests: cases tried")
        for what, count in sorted(counts.items()):
            terminalreporter.write_line(f"{count:8,d}  {what}")
    _key_presses_print(terminalreporter)


def _key_presses_print(terminalreporter) -> None:
    """The keyboard journeys' key presses (each records ``keys: <journey>``)."""
    presses = [
        (name[6:], int(value))
        for outcome in ("passed", "failed")
        for report in terminalreporter.stats.get(outcome, [])
        for name, value in getattr(report, "user_properties", [])
        if isinstance(name, str) and name.startswith("keys: ")
    ]
    if presses:
        terminalreporter.write_sep("-", "keyboard journeys: key presses")
        for what, count in presses:
            terminalreporter.write_line(f"{count:8,d}  {what}")
