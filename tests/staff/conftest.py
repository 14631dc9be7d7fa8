"""Staff fixtures: accounts with chosen permissions or roles, and clients signed in for real.

``verified_client(user)`` signs in through the admin's login form with the password and the
current TOTP code, exactly as a person does, so the session carries a verified device.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterable

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from acs.posts.models import Post
from acs.staff.services import StaffCredentials, role_grant, staff_user_create
from tests.conftest import _SCRIPT, CheckingClient

LOGIN = "/staff/admin/login/"


def permission_object(code: str) -> Permission:
    """``"app_label.codename"`` → its Permission row."""
    app_label, codename = code.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def totp_code(device: TOTPDevice) -> str:
    """A code the device accepts now: the current one, or the next if the current one was
    used already (a second sign-in within the same 30 seconds)."""
    now_t = int((time.time() - device.t0) // device.step)
    target = max(now_t + device.drift, device.last_t + 1)
    value = totp(
        device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=target - now_t
    )
    return f"{value:0{device.digits}d}"


def check_page(request: dict, response) -> None:
    """``CheckingClient``'s checks on one response: a title, forms with an action, no inline
    script."""
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


class StaffClient(CheckingClient):
    """The page-checking client, except that an empty 405 (a view that only takes POST,
    asked with GET) is an answer rather than a page, so it has no title to check."""

    def request(self, **request):
        response = Client.request(self, **request)
        if response.status_code == 405 and not response.content:
            return response
        check_page(request, response)
        return response


def roles_give(user: User, roles: Iterable[str], post: Post | str | None = "default") -> None:
    """Give ``user`` the named roles at ``post``: the default post unless named; None for
    network roles, held at every post."""
    if post == "default":
        post = Post.objects.get(slug=settings.ACS_DEFAULT_POST)
    for name in roles:
        role_grant(user=user, role=name, post=post)


def permissions_give(user: User, codes: Iterable[str], post: Post | str | None = "default") -> None:
    """Give ``user`` exactly these permissions at ``post`` (see ``roles_give``), through a
    role of the account's own: only roles grant anything (acs.staff.backends)."""
    own, _created = Group.objects.get_or_create(name=f"test role of {user.get_username()}")
    own.permissions.set([permission_object(code) for code in codes])
    roles_give(user, [own.name], post)


@pytest.fixture
def staff_member(db) -> Callable[..., StaffCredentials]:
    """``staff_member("name", permissions=["app.codename"], groups=["Front desk"])``: a staff
    account with a TOTP device and exactly those permissions and roles, held at the default
    post (or at ``post``; None for every post). Permissions are given through a role of the
    account's own, since only roles grant anything (acs.staff.backends)."""

    def make(
        username: str = "staff",
        *,
        permissions: Iterable[str] = (),
        groups: Iterable[str] = (),
        superuser: bool = False,
        post: Post | str | None = "default",
    ) -> StaffCredentials:
        creds = staff_user_create(
            username=username, email=f"{username}@example.org", superuser=superuser
        )
        roles_give(creds.user, groups, post)
        if permissions:
            permissions_give(creds.user, permissions, post)
        return creds

    return make


@pytest.fixture
def verified_client(db) -> Callable[[User | StaffCredentials], StaffClient]:
    """``verified_client(user)``: a client signed in with password and TOTP code."""

    def sign_in(who: User | StaffCredentials) -> StaffClient:
        if isinstance(who, StaffCredentials):
            user, password = who.user, who.password
        else:
            user, password = who, secrets.token_urlsafe(12)
            user.set_password(password)
            user.save(update_fields=["password"])
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
        client = StaffClient()
        response = client.post(
            LOGIN,
            {
                "username": user.get_username(),
                "password": password,
                "otp_token": totp_code(device),
                "next": "/staff/",
            },
        )
        assert response.status_code == 302, f"{user} could not sign in"
        return client

    return sign_in
