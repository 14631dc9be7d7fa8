"""The outbox's front door: what the apps' services call when they decide to email someone.

The row is written inside the caller's transaction, so the email exists exactly when the
change that causes it does (a booking rolled back emails nobody; a booking committed is
emailed, broker or no broker). Its id goes to the broker only once that transaction has
committed; if the broker is down, the sweeper hands it over later (docs/mail.md).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from acs.core import tasks
from acs.core.outbox.services import NewEmail, rows_create

__all__ = ["NewEmail", "email_queue", "emails_queue"]


def emails_queue(*, emails: list[NewEmail]) -> list[int]:
    """Queue ``emails`` in the current transaction (or a transaction of their own); they are
    handed to the workers after the commit. Returns the rows' ids."""
    if not emails:
        return []
    with transaction.atomic():
        ids = rows_create(emails=emails)
        transaction.on_commit(lambda: tasks.emails_hand_over(ids))
    return ids


def email_queue(*, kind: str, to: str, language: str, arguments: dict[str, Any]) -> int:
    """Queue one email of ``kind`` (see ``registry``) to ``to``; ``arguments`` (ids, JSON)
    are what its builder needs. Returns the row's id."""
    [pk] = emails_queue(emails=[NewEmail(kind=kind, to=to, language=language, arguments=arguments)])
    return pk
