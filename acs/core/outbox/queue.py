"""The outbox's front door: what the apps' services call when they decide to email someone.

The row is written inside the caller's transaction, so the email exists exactly when the
change that causes it does (a booking rolled back emails nobody; a booking committed is
emailed, broker or no broker). Its id goes to the broker only once that transaction has
committed; if the broker is down, the sweeper hands it over later (docs/mail.md).

With ``ACS_MAIL_HANDOVER_SECONDS`` above 0 (production), a committed request does not publish
at all: it leaves its rows' ids to the process's ``_Batcher``, whose thread hands everything
committed in the last such interval to the broker as one ``emails_dispatch`` task; a worker
then queues one ``email_send`` per row. A publish cost a booking a fifth of its CPU in the web
process; one per batch costs nothing worth measuring. Nothing is lost if the process dies with
ids in its batch: the rows are in the database, and the sweeper hands them over after
``ACS_MAIL_REQUEUE_AFTER``, as it does for a lost Celery message.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from kombu.exceptions import KombuError

from acs.celery import app
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
        transaction.on_commit(lambda: _batcher.submit(ids))
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


def emails_dispatch(ids: list[int]) -> int:
    """A worker's half of a batch: one ``email_send`` per row (``emails_hand_over``)."""
    return emails_hand_over(ids)


class _Batcher:
    """The ids this process committed in the last ``ACS_MAIL_HANDOVER_SECONDS``, handed to
    the broker by a thread of its own in one message (see the module's notes)."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.thread: threading.Thread | None = None
        self.pid = 0

    def submit(self, ids: list[int]) -> None:
        seconds = settings.ACS_MAIL_HANDOVER_SECONDS
        if seconds <= 0 or app.conf.task_always_eager:
            emails_hand_over(ids)  # in the request, as soon as it committed
            return
        with self.lock:
            self.ids.extend(ids)
            if self.thread is None or self.pid != os.getpid():  # new, or a fork's copy
                self.pid = os.getpid()
                self.thread = threading.Thread(
                    target=self._run, args=(seconds,), name="acs-mail-handover", daemon=True
                )
                self.thread.start()
        self.wake.set()

    def _run(self, seconds: float) -> None:
        while True:
            self.wake.wait()
            time.sleep(seconds)  # let the interval's other commits join the batch
            self.wake.clear()
            self.flush()

    def flush(self) -> int:
        """Hand over what is waiting, now; returns how many rows."""
        with self.lock:
            ids, self.ids = self.ids, []
        if not ids:
            return 0
        try:
            task_send(
                "acs.core.tasks.emails_dispatch", args=[ids], queue=Queues.DEFAULT, **PUBLISH_ONCE
            )
        except (KombuError, OSError) as error:
            logger.error(
                "broker unreachable, %d email(s) left for the sweeper: %s", len(ids), error
            )
            try:
                rows_not_handed_over(ids=ids)
            finally:
                if threading.current_thread() is self.thread:
                    connection.close()  # the thread's own connection, not a request's
            return 0
        return len(ids)


_batcher = _Batcher()
# A worker process that stops in order (gunicorn's max_requests, a restart) hands over what
# it holds; one that is killed leaves it to the sweeper.
atexit.register(_batcher.flush)
