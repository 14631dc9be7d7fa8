"""The audit log: who did what, when, to which record, with before and after.

Services call ``audit_record`` inside their own transaction, so an action and its entry
commit or fail together. Who acted is an account (staff, or the staff member at the door) or
a kind without one: a citizen through the pages or the API, or the system's own tasks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models
from django.utils import timezone

from acs.core.constants import ActorKind
from acs.core.models import AuditEntry

# What ``actor_name`` says when no account acted.
_NAMES = {ActorKind.CITIZEN: "citizen", ActorKind.SYSTEM: "system"}


def plain(value: Any) -> Any:
    """A value as an entry's ``changes`` keep it (JSON): as it is, or as its text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def diff(before: models.Model | dict | None, after: models.Model | dict, fields: list[str]) -> dict:
    """``{field: [before, after]}`` for the fields that changed."""

    def get(obj: Any, name: str) -> Any:
        if obj is None:
            return None
        return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)

    return {
        name: [plain(get(before, name)), plain(get(after, name))]
        for name in fields
        if get(before, name) != get(after, name)
    }


def audit_record(
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    action: str,
    target: models.Model | None = None,
    post: Any = None,
    summary: str = "",
    changes: dict | None = None,
    address: str = "",
    actor_kind: ActorKind | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Write one entry. ``action`` is dotted: ``acs.booking.checked_in``.

    ``actor_kind`` defaults to staff for a signed-in account and to the system otherwise;
    a citizen's own action says ``CITIZEN`` (no account), the door ``DOOR`` (with the account
    signed in on the tablet). ``at``: the instant of the change (default: now). One INSERT,
    no read: the post is taken from the target's ``post_id`` when it has one.
    """
    is_user = actor is not None and getattr(actor, "is_authenticated", False)
    kind = actor_kind or (ActorKind.STAFF if is_user else ActorKind.SYSTEM)
    post_id = getattr(post, "pk", post)
    if post is None and target is not None:
        post_id = getattr(target, "post_id", None)
        if post_id is None and not hasattr(target, "post_id"):
            post_id = getattr(getattr(target, "post", None), "pk", None)
    return AuditEntry.objects.create(
        created_at=at or timezone.now(),
        actor=actor if is_user else None,
        actor_name=actor.get_username() if is_user else _NAMES.get(kind, "system"),
        actor_kind=kind,
        action=action,
        object_type=target._meta.label_lower if target is not None else "",
        object_id=str(target.pk) if target is not None else "",
        post_id=post_id,
        summary=summary[:300],
        changes=changes or {},
        address=address,
    )


def history(target: models.Model):
    """A record's audit entries, newest first, for its staff page."""
    return AuditEntry.objects.filter(
        object_type=target._meta.label_lower, object_id=str(target.pk)
    ).select_related("actor")
