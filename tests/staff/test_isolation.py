"""Staff of one post never reach another post's records (issue 12).

The walk takes every back-office route from the URLconf, like ``test_permissions.py``, and
asks for it as a member of Quito's staff holding every permission the back office checks,
with Lima's records in the URL and in the form: another post's booking, service, message
(its delivery and welfare pages too) or enrollee is a 404 or 403, lists, sheets and CSVs do
not show Lima's rows, and nothing of Lima's changes. The same walk as Lima's staff is the
control: there the same markers are found, so the test can fail.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from acs.alerts import services as message_services
from acs.appointments.services.closures import closure_create_and_cancel
from acs.core.models import AuditEntry
from acs.core.permissions import ANY_STAFF
from acs.staff import roles
from acs.staff.services import roles_sync
from tests.alerts.conftest import message_fields
from tests.enrollment.factories import trip, verified_enrollee
from tests.staff.conftest import permissions_give, roles_give
from tests.staff.test_permissions import (
    ROUTES,
    declared_permission,
    plausible_data,
    snapshot,
    url_for,
)
from tests.staff.test_permissions import world as world

pytestmark = pytest.mark.django_db

EVERY_PERMISSION = sorted(
    {declared_permission(url_for(route, {})) for route in ROUTES} - {ANY_STAFF}
    | {"alerts.approve_message", "alerts.send_message", "alerts.send_emergency_alone"}
    | {"appointments.override_checkin", "appointments.mark_served", "appointments.close_unit"}
)
# Which record a URL's id names, by the first word of its name.
RECORD_OF = {"delivery": "message", "welfare": "message"}


@pytest.fixture
def lima_world(world, lima, staff_member):
    """Lima's booking and service, plus a closure, a published message and an enrollee
    whose trip stops in Lima's district, each carrying a marker text."""
    author = staff_member("lima-author", permissions=EVERY_PERMISSION).user
    approver = staff_member("lima-approver", permissions=EVERY_PERMISSION).user
    starts = timezone.now().replace(second=0, microsecond=0) + timedelta(days=40)
    closure_create_and_cancel(
        post=lima,
        service=None,
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
        reason_en="Marker closure for the isolation test",
        reason_es="Cierre de la prueba de aislamiento",
        actor=author,
        nonce="isolation",
    )
    message = message_services.message_draft_create(
        post=lima, actor=author, **message_fields(lima, title_en="Marker message of Lima")
    )
    message_services.message_approve(message=message, actor=approver)
    message_services.message_publish(message=message, actor=approver)
    person = verified_enrollee(lima, full_name="Marker Enrollee Lima")
    trip(person, "PE-LIM", arrival=0, departure=5)
    return {
        **world,
        "message": message,
        "enrollee": person,
        "markers": [
            world["booking"].code,
            "Marker closure for the isolation test",
            "Marker message of Lima",
            "Marker Enrollee Lima",
        ],
    }


def record_url(route: tuple, records: dict) -> str:
    _path, name, _params = route
    kind = name.split(":")[-1].split("-")[0]
    record = records.get(RECORD_OF.get(kind, kind))
    return url_for(route, {kind: record} if record is not None else {})


def response_text(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")  # a PDF is bytes: its text is not read


def _names_a_record(path: str) -> bool:
    return any(part.isdigit() for part in path.split("/"))


def _walk_as(browser, records: dict) -> dict[str, str]:
    """GET every staff route with ``records``' ids: {path: status and the markers seen}."""
    seen = {}
    for route in ROUTES:
        path = record_url(route, records)
        response = browser.get(path)
        found = [marker for marker in records["markers"] if marker in response_text(response)]
        seen[path] = (response.status_code, found)
    return seen


def test_staff_of_another_post_reach_nothing_of_lima(
    lima_world, lima, quito, staff_member, verified_client
):
    quito_staff = verified_client(
        staff_member("quito-all", permissions=EVERY_PERMISSION, post=quito)
    )
    before = snapshot()
    gets = _walk_as(quito_staff, lima_world)
    for route in ROUTES:
        path = record_url(route, lima_world)
        got, found = gets[path]
        posted = quito_staff.post(path, plausible_data(lima_world))
        assert found == [] and "Marker" not in response_text(posted), (
            f"{path} showed Lima's records"
        )
        answers = {got, posted.status_code}
        assert max(answers) < 500, path
        if _names_a_record(path):  # refused (405: the method it does not take)
            assert answers <= {403, 404, 405} and answers != {405}, f"{path}: {answers}"
    after = snapshot()
    changed = sorted(label for label in after if before[label] != after[label])
    assert changed == [], f"Quito's staff changed {changed}"
    assert not AuditEntry.objects.filter(post=lima, actor__username="quito-all").exists()


def test_the_control_lima_staff_see_the_markers(lima_world, staff_member, verified_client):
    """The same walk as Lima's staff finds every marker somewhere: the test above can fail."""
    lima_staff = verified_client(staff_member("lima-all", permissions=EVERY_PERMISSION))
    found = {
        marker for _status, seen in _walk_as(lima_staff, lima_world).values() for marker in seen
    }
    assert found == set(lima_world["markers"])


def test_the_switcher_offers_only_the_posts_where_a_role_is_held(
    lima, quito, new_york, staff_member, verified_client
):
    roles_sync()
    creds = staff_member("two-posts", groups=[roles.FRONT_DESK])
    roles_give(creds.user, [roles.CONSULAR_OFFICER], quito)
    browser = verified_client(creds)
    page = browser.get("/staff/").content.decode()
    assert 'name="post"' in page
    assert lima.name in page and quito.name in page and new_york.name not in page
    # Posts come by country code: Quito (EC) before Lima (PE), so work starts at Quito.
    assert browser.get("/staff/figures/").status_code == 200  # an officer at Quito
    # A post where no role is held is refused in plain words, and nothing changes.
    response = browser.post("/staff/post/", {"post": new_york.slug}, follow=True)
    assert "You hold no role at that post" in response.content.decode()
    assert browser.get("/staff/figures/").status_code == 200  # still at Quito
    # Switching to Lima: the front desk there may not see figures.
    browser.post("/staff/post/", {"post": lima.slug, "next": "/staff/day/"})
    assert browser.get("/staff/figures/").status_code == 403
    assert browser.get("/staff/day/").status_code == 200


def test_a_network_role_works_at_every_post_with_only_its_permissions(
    lima, quito, staff_member, verified_client
):
    creds = staff_member("duty", permissions=["appointments.view_figures"], post=None)
    browser = verified_client(creds)
    for post in (lima, quito):
        assert browser.post("/staff/post/", {"post": post.slug}).status_code == 302
        page = browser.get("/staff/figures/").content.decode()
        assert f"{post.display_name}: the last 12 weeks" in page
        # Every post side by side, whichever is chosen.
        assert "Across the network" in page
        assert lima.display_name in page and quito.display_name in page
        assert browser.get("/staff/day/").status_code == 403


def test_staff_of_one_post_see_no_network_figures(lima, quito, staff_member, verified_client):
    browser = verified_client(staff_member("local", permissions=["appointments.view_figures"]))
    page = browser.get("/staff/figures/").content.decode()
    assert "Across the network" not in page and quito.display_name not in page


def test_staff_with_no_role_anywhere_are_told_so(lima, staff_member, verified_client):
    browser = verified_client(staff_member("nobody"))
    page = browser.get("/staff/").content.decode()
    assert "You hold no role at any post yet" in page
    assert browser.get("/staff/day/").status_code == 403


def test_permissions_follow_the_post_a_service_checks(lima, quito, staff_member):
    """A drafter at Quito may not draft for Lima through the services either."""
    user = staff_member("quito-writer").user
    permissions_give(user, ["alerts.view_message", "alerts.draft_message"], quito)
    with pytest.raises(Exception, match="not allowed"):
        message_services.message_draft_create(post=lima, actor=user, **message_fields(lima))


ADMIN_PERMISSIONS = [
    "appointments.view_booking",
    "appointments.view_service",
    "appointments.view_closure",
    "content.view_page",
    "content.change_page",
    "core.view_auditentry",
    "posts.view_post",
    "auth.view_user",
    "auth.change_user",
]


def test_the_admin_shows_a_post_only_its_own_records(
    lima_world, lima, quito, staff_member, verified_client
):
    lima_page = lima.pages.first()
    lima_page.title_en = "Marker page of Lima"
    lima_page.save(update_fields=["title_en"])
    quito_staff = verified_client(
        staff_member("quito-admin", permissions=ADMIN_PERMISSIONS, post=quito)
    )
    lima_staff = verified_client(staff_member("lima-admin", permissions=ADMIN_PERMISSIONS))
    lists = {
        "/staff/admin/appointments/booking/": lima_world["booking"].code,
        "/staff/admin/content/page/": lima_page.title_en,
        "/staff/admin/posts/post/": lima.name,
        "/staff/accounts/": "lima-admin",  # staff accounts are on the staff pages now
    }
    for path, marker in lists.items():
        assert marker in lima_staff.get(path).content.decode(), f"control: {path}"
        assert marker not in quito_staff.get(path).content.decode(), path
    for record in (lima_world["booking"], lima_page, lima):
        path = (
            f"/staff/admin/{record._meta.app_label}/{record._meta.model_name}/{record.pk}/change/"
        )
        response = quito_staff.get(path, follow=True)
        assert "doesn’t exist" in response.content.decode(), path
