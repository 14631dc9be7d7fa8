"""The meta-test: every back-office URL declares its permission, keeps to it, and audits what
it changes.

It walks the URLconf, so a page added later is covered the day it is added. Django's admin
(/staff/admin/) is left to ``test_sign_in.py``. A view still being written (a stub that
answers 404) passes: it changes nothing. Ids in URLs are filled with real records where the
URL's name says which (``booking…`` → a booking, ``service…`` → a service), else 1.
"""

from __future__ import annotations

import hashlib
from datetime import time, timedelta

import pytest
from django.apps import apps
from django.db.models import Max
from django.urls import URLResolver, get_resolver, resolve, reverse
from django.utils import timezone

from acs.appointments import availability
from acs.appointments.services import booking_create
from acs.core.models import AuditEntry
from acs.core.permissions import ANY_STAFF
from tests.appointments.factories import make_service, person
from tests.staff.conftest import permission_object

pytestmark = pytest.mark.django_db

LOGIN = "/staff/admin/login/"


def _walk(patterns, prefix, namespace):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = ":".join(part for part in (namespace, entry.namespace) if part)
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        else:
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            yield prefix + str(entry.pattern), name, tuple(entry.pattern.regex.groupindex)


def staff_routes() -> list[tuple[str, str | None, tuple[str, ...]]]:
    """``(route, URL name, argument names)`` for every pattern under /staff/ but the admin."""
    return sorted(
        (route, name, params)
        for route, name, params in _walk(get_resolver().url_patterns, "/", "")
        if route.startswith("/staff/") and not route.startswith("/staff/admin/")
    )


ROUTES = staff_routes()
IDS = [route for route, _name, _params in ROUTES]


@pytest.fixture
def world(lima):
    """A service open around the clock and a booking in the slot that starts nearest to now
    (within 15 minutes either way, so that the door admits it): the records sample URLs
    point at."""
    service = make_service(
        post=lima, slug="meta-test", seats=4, duration=30, opens=time(0, 0), closes=time(23, 30)
    )
    now = timezone.now()
    today = now.astimezone(lima.zone).date()
    earlier = now - timedelta(hours=1)
    days = availability.slots_between(service, today, today + timedelta(days=10), now=earlier)
    slot = min(
        (slot for slots in days.values() for slot in slots),
        key=lambda slot: abs(slot.starts_at - now),
    )
    booking = booking_create(
        service=service,
        starts_at=slot.starts_at,
        people=[person(1)],
        email="meta@example.org",
        phone="+51 1 618 2000",
        now=earlier,
    )
    return {"booking": booking, "service": service}


def url_for(route: tuple, world: dict) -> str:
    path, name, params = route
    if name is None:
        pytest.fail(f"{path} has no name: name every staff URL so the tests can reach it")
    kind = name.split(":")[-1].split("-")[0]
    sample = world[kind].pk if kind in world else 1
    return reverse(name, kwargs=dict.fromkeys(params, sample))


def declared_permission(path: str) -> str:
    view = resolve(path).func
    if not hasattr(view, "staff_permission"):
        pytest.fail(f"{path}: its view is not wrapped in acs.core.permissions.staff_view")
    return view.staff_permission


def snapshot() -> dict[str, str]:
    """A fingerprint of every row of the domain's tables (every ``acs`` app but ``core``,
    whose audit log is what we watch, plus accounts and roles)."""
    labels = [
        config.label
        for config in apps.get_app_configs()
        if config.name.startswith("acs.") and config.label != "core"
    ] + ["auth"]
    state = {}
    for label in labels:
        for model in apps.get_app_config(label).get_models():
            rows = list(model._base_manager.order_by("pk").values_list())
            state[model._meta.label] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return state


def changed_tables(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(label for label in after if before.get(label) != after[label])


def is_login_redirect(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_the_walk_finds_the_back_office():
    paths = set(IDS)
    assert {"/staff/", "/staff/audit/", "/staff/figures/"} <= paths
    assert not any(path.startswith("/staff/admin/") for path in paths)


@pytest.mark.parametrize("route", ROUTES, ids=IDS)
def test_every_staff_view_declares_an_existing_permission(route, world):
    permission = declared_permission(url_for(route, world))
    if permission != ANY_STAFF:
        permission_object(permission)  # raises if the permission does not exist


@pytest.mark.parametrize("route", ROUTES, ids=IDS)
def test_anonymous_visitors_are_sent_to_sign_in(client, route, world):
    path = url_for(route, world)
    before = snapshot()
    for response in (client.get(path), client.post(path)):
        assert is_login_redirect(response), f"{path}: {response.status_code}"
    assert snapshot() == before


@pytest.mark.parametrize("route", ROUTES, ids=IDS)
def test_staff_without_the_permission_are_refused(route, world, staff_member, verified_client):
    path = url_for(route, world)
    permission = declared_permission(path)
    browser = verified_client(staff_member("no-role"))
    before = snapshot()
    response = browser.get(path)
    if permission == ANY_STAFF:
        assert response.status_code in (200, 405), path  # 405: a form's target (POST only)
        return
    assert response.status_code == 403, f"{path} needs {permission}: {response.status_code}"
    assert browser.post(path, {"code": world["booking"].code}).status_code == 403, path
    assert snapshot() == before, f"{path}: a refused request changed something"


@pytest.mark.parametrize("route", ROUTES, ids=IDS)
def test_staff_with_exactly_the_permission_get_in(route, world, staff_member, verified_client):
    path = url_for(route, world)
    permission = declared_permission(path)
    granted = [] if permission == ANY_STAFF else [permission]
    browser = verified_client(staff_member("allowed", permissions=granted))
    before = snapshot()
    response = browser.get(path)
    # 200, or 405 for a view that only takes POST, or 404 for a sample id or a stub.
    assert response.status_code != 403, f"{path} with {permission}: refused"
    assert not is_login_redirect(response), f"{path} with {permission}: sent to sign in"
    assert response.status_code < 500, path
    # Looking changes nothing (it may write an audit entry: views of personal data do).
    assert changed_tables(before, snapshot()) == [], f"GET {path} changed data"


def plausible_data(world: dict) -> dict:
    """Fields the back office's forms commonly take, filled with real values, so that a
    POST can actually change something (a form ignores the fields it does not know)."""
    booking, service = world["booking"], world["service"]
    return {
        "code": booking.code,
        "booking": booking.pk,
        "service": service.pk,
        "reason": "Written by the permission meta-test.",
        "confirm": "yes",
    }


@pytest.mark.parametrize("payload", ["empty", "plausible"])
@pytest.mark.parametrize("route", ROUTES, ids=IDS)
def test_every_change_lands_in_the_audit_log(route, payload, world, staff_member, verified_client):
    path = url_for(route, world)
    permission = declared_permission(path)
    granted = [] if permission == ANY_STAFF else [permission]
    creds = staff_member("changer", permissions=granted)
    browser = verified_client(creds)
    data = {} if payload == "empty" else plausible_data(world)
    before, last = snapshot(), AuditEntry.objects.aggregate(last=Max("id"))["last"] or 0
    response = browser.post(path, data)
    changed = changed_tables(before, snapshot())
    assert response.status_code < 500, path
    if response.status_code == 405:  # takes no POST
        assert changed == [], path
        return
    if 400 <= response.status_code < 500:
        assert changed == [], (
            f"POST {path} was refused ({response.status_code}) yet changed {changed}"
        )
    if changed:
        new = list(AuditEntry.objects.filter(id__gt=last))
        assert new, f"POST {path} changed {changed} without an audit entry"
        assert any(entry.actor_id == creds.user.pk for entry in new), (
            f"POST {path}: the audit entries do not name who acted"
        )
