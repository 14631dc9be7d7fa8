"""The outbox's front door: what the apps' services call when they decide to email someone.

The row is written inside the caller's transaction, so the email exists exactly when the
change that causes it does (a booking rolled back emails nobody; a booking committed is
emailed, broker or no broker). Its id goes to the broker only once that transaction has
committed; if the broker is down, the sweeper hands it over later (docs/mail.md).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from kombu.exceptions import KombuError

from acs.core.outbox.services import NewEmail, rows_create, rows_not_handed_over
from acs.core.queues import PUBLISH_ONCE, Queues, task_send

__all__ = ["NewEmail", "email_queue", "emails_hand_over", "emails_queue"]

logger = logging.getLogger(__name__)


def emails_queue(*, emails: list[NewEmail]) -> list[int]:
    """Queue ``emails`` in the current transaction (or a transaction of their own); they are
    handed to the workers after the commit. Returns the rows' ids."""
    if not emails:
        return []
    # No savepoint of its own inside the caller's transaction: the rows commit or roll back
    # with the change that causes them, and a savepoint is two more round trips.
    with transaction.atomic(savepoint=False):
        ids = rows_create(emails=emails)
        transaction.on_commit(lambda: emails_hand_over(ids))
    return ids


def email_queue(*, kind: str, to: str, language: str, arguments: dict[str, Any]) -> int:
    """Queue one email of ``kind`` (see ``registry``) to ``to``; ``arguments`` (ids, JSON)
    are what its builder needs. Returns the row's id."""
    [pk] = emails_queue(emails=[NewEmail(kind=kind, to=to, language=language, arguments=arguments)])
    return pk


def emails_hand_over(ids: Iterable[int]) -> int:
    """Give rows' ids to the workers, one ``email_send`` task each. Never raises for a broker
    that is down: the error is logged, the rows not handed over are marked for the sweeper,
    and the caller (a request, just committed) goes on. Returns how many were handed over."""
    pending = list(ids)
    for index, pk in enumerate(pending):
        try:
            task_send("acs.core.tasks.email_send", args=[pk], queue=Queues.DEFAULT, **PUBLISH_ONCE)
        except (KombuError, OSError) as error:
            rest = pending[index:]
            logger.error(
                "broker unreachable, %d email(s) left for the sweeper: %s", len(rest), error
            )
            rows_not_handed_over(ids=rest)
            return index
    return len(pending)
