"""Staff accounts and roles (issue 14, item 1): nobody grows their own power.

Every role, held at Lima, tries every account-changing action on the staff pages, as a person
would: creating an account with each role, giving each role, taking it back, a new sign-in,
switching an account off. What is allowed is computed from the roles' permissions, not
written out by hand: only a holder of ``auth.change_user`` changes accounts, and only with
roles whose every permission they hold.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group, User
from django_otp.plugins.otp_totp.models import TOTPDevice

from acs.core.models import AuditEntry
from acs.staff import roles
from acs.staff.roles import ROLES
from acs.staff.services import roles_sync, staff_user_create
from tests.staff.conftest import roles_give

pytestmark = pytest.mark.django_db

ACCOUNTS = "/staff/accounts/"


def may_give(actor_role: str, role: str) -> bool:
    held = set(ROLES[actor_role])
    return "auth.change_user" in held and set(ROLES[role]) <= held


@pytest.fixture
def world(lima, quito):
    roles_sync()
    return {name: Group.objects.get(name=name) for name in ROLES}


def _target(username: str) -> User:
    return staff_user_create(username=username, email=f"{username}@example.org").user


@pytest.mark.parametrize("actor_role", sorted(ROLES))
def test_every_role_against_every_account_action(
    actor_role, world, lima, staff_member, verified_client
):
    actor = staff_member("actor", groups=[actor_role])
    browser = verified_client(actor)
    for role in sorted(ROLES):
        target = _target(f"target-{len(role)}-{role[:4].lower()}")
        give = browser.post(f"{ACCOUNTS}{target.pk}/roles/give/", {"role": world[role].pk})
        given = target.staff_roles.filter(post=lima, role=world[role]).exists()
        assert given == may_give(actor_role, role), (actor_role, role, give.status_code)
        entries = AuditEntry.objects.filter(object_id=str(target.pk), object_type="auth.user")
        assert entries.filter(action="acs.staff.role_given").exists() == given
        if given:
            taken = browser.post(f"{ACCOUNTS}{target.pk}/roles/take/", {"role": world[role].pk})
            assert taken.status_code == 302
            assert not target.staff_roles.exists()
        name = f"new-{len(role)}-{role[:4].lower()}"
        data = {"username": name, "email": "n@example.org", "roles": [world[role].pk]}
        created = browser.post(f"{ACCOUNTS}new/", data)
        made = User.objects.filter(username=name).first()
        assert (made is not None) == may_give(actor_role, role), (actor_role, role, created)
        if made is not None:
            made.delete()
    # The actor's own power never changed.
    assert {r.role.name for r in actor.user.staff_roles.select_related("role")} == {actor_role}


def test_a_post_administrator_cannot_reach_above_itself(
    world, lima, quito, staff_member, verified_client
):
    admin = staff_member("lima-admin", groups=[roles.POST_ADMINISTRATOR])
    browser = verified_client(admin)
    superuser = staff_user_create(username="root-ish", email="r@example.org", superuser=True).user
    elsewhere = _target("quito-officer")
    roles_give(elsewhere, [roles.FRONT_DESK], lima)
    roles_give(elsewhere, [roles.CONSULAR_OFFICER], quito)
    network = _target("hq-duty")
    roles_give(network, [roles.FRONT_DESK], lima)
    roles_give(network, [roles.NETWORK_DUTY_OFFICER], None)
    before = AuditEntry.objects.count()
    # A superuser is not even listed, and is not found.
    assert "root-ish" not in browser.get(ACCOUNTS).content.decode()
    assert browser.get(f"{ACCOUNTS}{superuser.pk}/").status_code == 404
    for account in (elsewhere, network, admin.user):
        page = browser.get(f"{ACCOUNTS}{account.pk}/").content.decode()
        assert "You cannot change this account" in page
        for action, data in (
            ("roles/give/", {"role": world[roles.FRONT_DESK].pk}),
            ("roles/take/", {"role": world[roles.FRONT_DESK].pk}),
            ("active/", {}),
            ("reset/", {}),
        ):
            response = browser.post(f"{ACCOUNTS}{account.pk}/{action}", data, follow=True)
            assert "You cannot change" in response.content.decode(), (account, action)
    assert AuditEntry.objects.count() == before
    elsewhere.refresh_from_db()
    assert elsewhere.is_active and elsewhere.staff_roles.count() == 2
    assert TOTPDevice.objects.filter(user=elsewhere).count() == 1


def test_a_new_account_and_a_new_sign_in_are_shown_once_and_audited(
    world, lima, staff_member, verified_client
):
    browser = verified_client(staff_member("lima-admin", groups=[roles.POST_ADMINISTRATOR]))
    desk = world[roles.FRONT_DESK].pk
    data = {"username": "desk-ana", "email": "ana@example.org", "roles": [desk]}
    response = browser.post(f"{ACCOUNTS}new/", data)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    secret = re.search(r"<code>([A-Z2-7]{16,})</code>", page).group(1)
    ana = User.objects.get(username="desk-ana")
    assert ana.staff_roles.get().role.name == roles.FRONT_DESK
    # Nowhere is the secret shown again.
    assert secret not in browser.get(f"{ACCOUNTS}{ana.pk}/").content.decode()
    assert secret not in browser.get("/staff/admin/", follow=True).content.decode()
    again = browser.post(f"{ACCOUNTS}{ana.pk}/reset/")
    new_secret = re.search(r"<code>([A-Z2-7]{16,})</code>", again.content.decode()).group(1)
    assert new_secret != secret and TOTPDevice.objects.filter(user=ana).count() == 1
    browser.post(f"{ACCOUNTS}{ana.pk}/active/")
    ana.refresh_from_db()
    assert not ana.is_active
    actions = list(
        AuditEntry.objects.filter(object_id=str(ana.pk), object_type="auth.user")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "acs.staff.account_created",
        "acs.staff.sign_in_reset",
        "acs.staff.account_disabled",
    ]


def test_bad_input_changes_nothing(world, lima, staff_member, verified_client):
    browser = verified_client(staff_member("lima-admin", groups=[roles.POST_ADMINISTRATOR]))
    taken = _target("taken-name")
    for data, message in (
        ({"username": "a", "email": "a@example.org"}, "A user name has 3 to 150"),
        ({"username": "Taken-Name", "email": "a@example.org"}, "That user name is taken"),
        ({"username": "fine-name", "email": "not an email"}, "valid email"),
    ):
        response = browser.post(f"{ACCOUNTS}new/", data)
        assert response.status_code == 400 and message in response.content.decode(), data
    for bad in ("", "abc", "99999999999999999999", str(world[roles.NETWORK_ADMINISTRATOR].pk)):
        response = browser.post(f"{ACCOUNTS}{taken.pk}/roles/give/", {"role": bad}, follow=True)
        assert "Choose one of the roles offered" in response.content.decode(), bad
    assert not taken.staff_roles.exists()
    assert User.objects.filter(username="fine-name").count() == 0
