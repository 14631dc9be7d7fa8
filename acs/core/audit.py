"""The audit log: who did what, when, to which record, with before and after.

Services call ``audit_record`` inside their own transaction, so an action and its entry
commit or fail together.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models

from acs.core.models import AuditEntry


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
) -> AuditEntry:
    """Write one entry. ``action`` is dotted: ``acs.booking.checked_in``."""
    is_user = actor is not None and getattr(actor, "is_authenticated", False)
    if post is None and target is not None:
        post = getattr(target, "post", None)
    return AuditEntry.objects.create(
        actor=actor if is_user else None,
        actor_name=actor.get_username() if is_user else "system",
        action=action,
        object_type=target._meta.label_lower if target is not None else "",
        object_id=str(target.pk) if target is not None else "",
        post=post,
        summary=summary[:300],
        changes=changes or {},
        address=address,
    )


def history(target: models.Model):
    """A record's audit entries, newest first, for its staff page."""
    return AuditEntry.objects.filter(
        object_type=target._meta.label_lower, object_id=str(target.pk)
    ).select_related("actor")
