"""Roles: the seeded groups, and what each one may open in the back office."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import Group

from acs.core.permissions import ANY_STAFF
from acs.staff.roles import (
    APPROVER,
    COMMUNICATIONS,
    CONSULAR_OFFICER,
    DESCRIPTIONS,
    FRONT_DESK,
    NETWORK_ADMINISTRATOR,
    NETWORK_DUTY_OFFICER,
    POST_ADMINISTRATOR,
    ROLES,
)
from acs.staff.services import roles_sync
from tests.staff.test_permissions import ROUTES, declared_permission, url_for

pytestmark = pytest.mark.django_db

LOGIN = "/staff/admin/login/"


@pytest.fixture
def member(lima, staff_member, verified_client):
    """``member(role)``: a client signed in as someone holding only that role."""
    roles_sync()

    def make(role: str):
        username = role.lower().replace(" ", "-")
        return verified_client(staff_member(username, groups=[role]))

    return make


def opens(browser, path: str, method: str = "get") -> bool:
    """Let in: neither refused nor sent to sign in. (A page still being written answers 404;
    one that only takes POST answers 405 to GET: both let the role in.)"""
    response = getattr(browser, method)(path)
    assert response.status_code < 500, path
    login = response.status_code == 302 and response["Location"].startswith(LOGIN)
    return response.status_code != 403 and not login


def refused(browser, path: str, method: str = "get") -> bool:
    return getattr(browser, method)(path).status_code == 403


def test_roles_sync_creates_the_seven_roles_with_their_permissions():
    counts = roles_sync()
    names = {
        POST_ADMINISTRATOR,
        CONSULAR_OFFICER,
        FRONT_DESK,
        COMMUNICATIONS,
        APPROVER,
        NETWORK_ADMINISTRATOR,
        NETWORK_DUTY_OFFICER,
    }
    assert set(Group.objects.values_list("name", flat=True)) == names
    assert set(counts) == names == set(DESCRIPTIONS)
    for name, codes in ROLES.items():
        group = Group.objects.get(name=name)
        held = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
        assert held == set(codes), name
    # Repeating it changes nothing.
    assert roles_sync() == counts
    assert Group.objects.count() == len(names)


def test_roles_sync_takes_back_a_permission_given_by_hand():
    roles_sync()
    desk = Group.objects.get(name=FRONT_DESK)
    audit = Group.objects.get(name=POST_ADMINISTRATOR).permissions.get(codename="view_auditentry")
    desk.permissions.add(audit)
    roles_sync()
    assert not desk.permissions.filter(pk=audit.pk).exists()


def test_every_staff_page_can_be_opened_by_some_role():
    held = {code for codes in ROLES.values() for code in codes}
    for route in ROUTES:
        permission = declared_permission(url_for(route, {}))
        assert permission == ANY_STAFF or permission in held, f"no role may open {route[0]}"


def test_front_desk_opens_the_door_and_the_day_but_not_closures_or_the_audit_log(member):
    desk = member(FRONT_DESK)
    assert opens(desk, "/staff/door/")
    assert opens(desk, "/staff/day/")
    assert refused(desk, "/staff/closures/")
    assert refused(desk, "/staff/closures/new/")
    assert refused(desk, "/staff/closures/new/", "post")
    assert refused(desk, "/staff/door/override/", "post")
    assert refused(desk, "/staff/audit/")
    assert refused(desk, "/staff/capacity/")
    menu = desk.get("/staff/").content.decode()
    assert "/staff/door/" in menu
    assert "/staff/audit/" not in menu
    assert "/staff/closures/" not in menu


def test_consular_officer_can_override_and_close(member):
    officer = member(CONSULAR_OFFICER)
    assert opens(officer, "/staff/door/override/", "post")
    assert opens(officer, "/staff/closures/")
    assert opens(officer, "/staff/closures/new/")
    assert opens(officer, "/staff/figures/")
    assert refused(officer, "/staff/audit/")


def test_communications_cannot_see_the_day_or_the_door(member):
    communications = member(COMMUNICATIONS)
    assert refused(communications, "/staff/day/")
    assert refused(communications, "/staff/day.csv")
    assert refused(communications, "/staff/door/")
    assert opens(communications, "/staff/")


def test_the_post_administrator_reads_the_audit_log(member):
    administrator = member(POST_ADMINISTRATOR)
    response = administrator.get("/staff/audit/")
    assert response.status_code == 200
    assert "Audit log" in response.content.decode()
    assert opens(administrator, "/staff/admin/core/auditentry/")


def test_the_staff_role_command_gives_and_takes_back_roles_per_post(lima, quito, staff_member):
    from django.core.management import CommandError, call_command

    from acs.core.models import AuditEntry

    roles_sync()
    user = staff_member("console").user
    out = io.StringIO()
    call_command("staff_role", "console", FRONT_DESK, "--post", "quito", stdout=out)
    assert "console holds the role Front desk at U.S. Embassy Quito." in out.getvalue()
    call_command("staff_role", "console", NETWORK_DUTY_OFFICER, "--every-post", stdout=out)
    held = {(r.post_id, r.role.name) for r in user.staff_roles.select_related("role")}
    assert held == {(quito.pk, FRONT_DESK), (None, NETWORK_DUTY_OFFICER)}
    call_command("staff_role", "console", FRONT_DESK, "--post", "quito", "--remove", stdout=out)
    assert not user.staff_roles.filter(post=quito).exists()
    actions = list(
        AuditEntry.objects.filter(object_id=str(user.pk)).values_list("action", flat=True)
    )
    assert sorted(actions) == [
        "acs.staff.role_given",
        "acs.staff.role_given",
        "acs.staff.role_removed",
    ]
    for bad, message in (
        (["nobody", FRONT_DESK, "--post", "lima"], "no staff account named 'nobody'"),
        (["console", "Janitor", "--post", "lima"], "no role named 'Janitor'"),
        (["console", FRONT_DESK, "--post", "atlantis"], "no post with the short name 'atlantis'"),
    ):
        with pytest.raises(CommandError, match=message):
            call_command("staff_role", *bad, stdout=out)
    assert user.staff_roles.count() == 1
