"""Staff accounts and their roles, managed by a post's administrator without a way to grow.

The rules, checked here whatever page or script asks:

- **Nobody gives what they do not hold.** A role may be given at a post only by someone who
  holds ``auth.change_user`` there and every permission of that role there. Network roles
  (held at every post) are given only by a superuser.
- **Nobody reaches above themselves.** An account can be changed only by someone who could
  have given it every role it holds: a post's administrator cannot touch an account with a
  role at a post they do not administer, a network role, or a superuser. Superusers are made
  only with ``manage.py staff_create --superuser`` at the server's console.
- **Nobody changes their own account here**: no one gives themselves a role, takes one from
  themselves or switches themselves off.
- **A second factor is shown once**, when it is made (a new account, or a reset); nothing
  shows it again.
- **Every change is in the audit log**, in the same transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, Group, Permission, User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from acs.core.audit import audit_record
from acs.core.permissions import held_at
from acs.posts.models import Post
from acs.posts.routing import post_override
from acs.staff.models import StaffRole
from acs.staff.roles import ROLES
from acs.staff.services import StaffCredentials, staff_user_create

MANAGE_PERMISSION = "auth.change_user"
ADD_PERMISSION = "auth.add_user"
USERNAME = re.compile(r"^[\w.@+-]{3,150}$")


def _refuse(message: str, code: str) -> ValidationError:
    return ValidationError(message, code=code)


def holds(actor: AbstractBaseUser, permission: str, post: Post | None) -> bool:
    """Whether ``actor`` holds ``permission`` at ``post`` (None: at every post, which only a
    superuser does for the purpose of giving network roles)."""
    if not (actor.is_active and actor.is_staff):
        return False
    if actor.is_superuser:
        return True
    return post is not None and held_at(actor, permission, post)


def _role_codes(role: Group) -> set[str]:
    return {
        f"{app}.{codename}"
        for app, codename in role.permissions.values_list("content_type__app_label", "codename")
    }


def roles_grantable(*, actor: AbstractBaseUser, post: Post | None) -> list[Group]:
    """The roles ``actor`` may give at ``post``: those whose every permission they hold
    there (all of them for a superuser; at every post, only a superuser)."""
    roles = list(Group.objects.filter(name__in=ROLES).order_by("name"))
    if not holds(actor, MANAGE_PERMISSION, post):
        return []
    if actor.is_superuser:
        return roles
    with post_override(post):
        mine = actor.get_all_permissions()
    return [role for role in roles if _role_codes(role) <= mine]


def account_manageable(*, actor: AbstractBaseUser, account: User) -> bool:
    """Whether ``actor`` may change ``account`` (see the module's rules)."""
    if account.pk == actor.pk or not actor.is_active:
        return False
    if actor.is_superuser:
        return True
    if account.is_superuser:
        return False
    held = list(account.staff_roles.all())
    if any(role.post_id is None for role in held):
        return False
    posts = {role.post for role in held}
    if not posts:  # an account with no role yet: any post's administrator may take it on
        return holds(actor, MANAGE_PERMISSION, _first_managed(actor))
    return all(holds(actor, MANAGE_PERMISSION, post) for post in posts)


def _first_managed(actor: AbstractBaseUser) -> Post | None:
    for role in actor.staff_roles.select_related("post"):
        if role.post is not None and holds(actor, MANAGE_PERMISSION, role.post):
            return role.post
    return None


def accounts_at(*, actor: AbstractBaseUser, post: Post) -> QuerySet[User]:
    """The staff accounts a post's administrator sees: those with a role at ``post``, and
    those with no role yet. Superusers are listed only to superusers."""
    accounts = User.objects.filter(is_staff=True).filter(
        Q(staff_roles__post=post) | Q(staff_roles__isnull=True)
    )
    if not actor.is_superuser:
        accounts = accounts.filter(is_superuser=False)
    return accounts.distinct().order_by("username")


def _require_manageable(actor: AbstractBaseUser, account: User) -> None:
    if account.pk == actor.pk:
        raise _refuse(_("You cannot change your own account here."), "self")
    if not account_manageable(actor=actor, account=account):
        raise _refuse(
            _(
                "You cannot change this account: it holds a role you could not give, or it "
                "belongs to a superuser."
            ),
            "not_manageable",
        )


def _require_grantable(actor: AbstractBaseUser, role: Group, post: Post | None) -> None:
    if role not in roles_grantable(actor=actor, post=post):
        raise _refuse(
            _("You cannot give the role “%(role)s”: it holds permissions you do not hold.")
            % {"role": role.name},
            "not_grantable",
        )


@dataclass(frozen=True)
class Created:
    credentials: StaffCredentials
    roles: list[Group]


def account_create(
    *,
    actor: AbstractBaseUser,
    post: Post,
    username: str,
    email: str,
    roles: list[Group],
    address: str = "",
) -> Created:
    """A new staff account with a password and a TOTP device, holding ``roles`` at
    ``post``. The credentials are returned once, for the page that shows them."""
    if not holds(actor, ADD_PERMISSION, post) or not holds(actor, MANAGE_PERMISSION, post):
        raise _refuse(_("You are not allowed to create staff accounts."), "permission")
    username = username.strip()
    if not USERNAME.match(username):
        raise _refuse(
            _("A user name has 3 to 150 letters, digits or the signs . @ + - _."), "username"
        )
    if User.objects.filter(username__iexact=username).exists():
        raise _refuse(_("That user name is taken. Choose another."), "username_taken")
    for role in roles:
        _require_grantable(actor, role, post)
    with transaction.atomic():
        credentials = staff_user_create(username=username, email=email.strip())
        for role in roles:
            StaffRole.objects.create(user=credentials.user, post=post, role=role)
        audit_record(
            actor=actor,
            action="acs.staff.account_created",
            target=credentials.user,
            post=post,
            summary=f"{username}: {', '.join(role.name for role in roles) or 'no role'}",
            changes={"roles": [None, sorted(role.name for role in roles)]},
            address=address,
        )
    return Created(credentials=credentials, roles=roles)


def role_give(
    *, actor: AbstractBaseUser, account: User, role: Group, post: Post | None, address: str = ""
) -> None:
    """Give ``account`` the role at ``post`` (None: at every post, for a superuser)."""
    _require_manageable(actor, account)
    _require_grantable(actor, role, post)
    with transaction.atomic():
        _created, new = StaffRole.objects.get_or_create(user=account, post=post, role=role)
        if new:
            _audit_role(actor, account, role, post, "acs.staff.role_given", address)


def role_take(
    *, actor: AbstractBaseUser, account: User, role: Group, post: Post | None, address: str = ""
) -> None:
    """Take the role at ``post`` back from ``account``."""
    _require_manageable(actor, account)
    _require_grantable(actor, role, post)
    with transaction.atomic():
        deleted, _rows = StaffRole.objects.filter(user=account, post=post, role=role).delete()
        if deleted:
            _audit_role(actor, account, role, post, "acs.staff.role_removed", address)


def _audit_role(actor, account, role, post, action: str, address: str) -> None:
    place = post.name if post else "every post"
    audit_record(
        actor=actor,
        action=action,
        target=account,
        post=post,
        summary=f"{account.username}: {role.name} at {place}",
        address=address,
    )


def account_reset(*, actor: AbstractBaseUser, account: User, address: str = "") -> StaffCredentials:
    """A new password and a new second factor (a lost phone, a forgotten password): every
    earlier TOTP device is removed. Returned once, for the page that shows them."""
    _require_manageable(actor, account)
    with transaction.atomic():
        credentials = staff_user_create(
            username=account.username, email=account.email, superuser=account.is_superuser
        )
        audit_record(
            actor=actor,
            action="acs.staff.sign_in_reset",
            target=account,
            summary=f"{account.username}: new password and second factor",
            address=address,
        )
    return credentials


def account_active_set(
    *, actor: AbstractBaseUser, account: User, active: bool, address: str = ""
) -> None:
    """Switch an account off (it can no longer sign in; its history stays) or on again."""
    _require_manageable(actor, account)
    if account.is_active == active:
        return
    with transaction.atomic():
        User.objects.filter(pk=account.pk).update(is_active=active)
        account.is_active = active
        audit_record(
            actor=actor,
            action="acs.staff.account_enabled" if active else "acs.staff.account_disabled",
            target=account,
            summary=account.username,
            changes={"is_active": [not active, active]},
            address=address,
        )


def permission_codes(role: Group) -> list[str]:
    """A role's permissions as ``app.codename``, for the page that explains it."""
    rows = Permission.objects.filter(group=role).values_list("content_type__app_label", "codename")
    return sorted(f"{app}.{codename}" for app, codename in rows)
