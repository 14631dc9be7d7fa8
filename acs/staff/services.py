"""Staff accounts: every one has a TOTP device, because the back office demands a second factor."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice


@dataclass(frozen=True)
class StaffCredentials:
    user: User
    password: str
    totp_secret: str  # base32, as authenticator apps take it when typed in
    totp_uri: str  # otpauth://… for a QR code


def staff_user_create(
    *, username: str, email: str = "", password: str | None = None, superuser: bool = False
) -> StaffCredentials:
    """Create (or reset) a staff account with a new password and a new TOTP secret.

    Resetting keeps the account's email unless a new one is given.
    """
    password = password or secrets.token_urlsafe(12)
    with transaction.atomic():
        user, _created = User.objects.get_or_create(username=username)
        user.email = email or user.email
        user.is_staff = True
        user.is_superuser = superuser
        user.set_password(password)
        user.save()
        TOTPDevice.objects.filter(user=user).delete()
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return StaffCredentials(
        user=user, password=password, totp_secret=secret, totp_uri=device.config_url
    )


def roles_sync() -> dict[str, int]:
    """Create the role groups and give each exactly its permissions. Safe to repeat."""
    from django.contrib.auth.models import Group, Permission

    from acs.staff.roles import ROLES

    counts = {}
    with transaction.atomic():
        for name, codes in ROLES.items():
            group, _created = Group.objects.get_or_create(name=name)
            permissions = []
            for code in codes:
                app_label, codename = code.split(".")
                permissions.append(
                    Permission.objects.get(content_type__app_label=app_label, codename=codename)
                )
            group.permissions.set(permissions)
            counts[name] = len(permissions)
    return counts


def role_grant(*, user: User, role: str, post=None) -> None:
    """Give ``user`` the role named ``role`` at ``post`` (a ``Post``), or at every post when
    ``post`` is None (a network role). Safe to repeat."""
    from django.contrib.auth.models import Group

    from acs.staff.models import StaffRole

    StaffRole.objects.get_or_create(user=user, post=post, role=Group.objects.get(name=role))
