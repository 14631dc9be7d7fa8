"""Celery tasks of delivery: thin, they take ids and call ``sending`` or ``services``.

The fan-out is in stages (as GOV.UK Notify's): publishing records the message and queues
``dispatch_message``; each step of that writes the rows of a chunk of people, queues a
``send_batch`` for every batch of their ids, and queues the next step; every worker
consuming the delivery queue takes steps and batches. Every task here acknowledges late and
is rejected (so redelivered) if its worker dies; repeating one is harmless, since each row is
claimed by a conditional update and a SENT row is never claimed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

from celery import shared_task
from django.db import InterfaceError, OperationalError

from acs.alerts import sending
from acs.alerts.constants import knob
from acs.alerts.services import outbox as services
from acs.core.queues import Queues

logger = logging.getLogger(__name__)

_LATE = {"acks_late": True, "reject_on_worker_lost": True, "ignore_result": True}
# A database that went away (restarted, failed over) is waited for: the step or batch is
# tried again after 2, 4, 8… seconds (at most a minute apart), its rows given back first.
_DATABASE_AWAY = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 20,
}


def chunks(ids: Iterable[int], size: int) -> Iterator[list[int]]:
    chunk: list[int] = []
    for pk in ids:
        chunk.append(pk)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def enqueue(ids: Iterable[int]) -> int:
    """Queue ``send_batch`` tasks for ``ids``, ``ACS_DELIVERY_BATCH_SIZE`` at a time."""
    batches = 0
    for chunk in chunks(ids, knob("ACS_DELIVERY_BATCH_SIZE")):
        send_batch.apply_async(args=[chunk], queue=Queues.DELIVERY)
        batches += 1
    return batches


@shared_task(**_LATE, **_DATABASE_AWAY)
def dispatch_message(message_id: int, after: int = 0) -> int:
    """One step of a published message's fan-out: write the rows of the next chunk of people
    (``services.deliveries_write_next``), queue their sending in batches, then queue the next
    step. Returns the batches queued."""
    chunk = services.deliveries_write_next(message_id=message_id, after=after)
    following = chunk.next_after is not None
    # After the first (small) chunk, its batches go first: with a single worker, the first
    # emails leave before anything else is written. After that, the next step goes first, so
    # that the fan-out does not wait behind its own batches (and is never taken for stalled).
    if following and after != 0:
        dispatch_message.apply_async(args=[message_id, chunk.next_after], queue=Queues.DELIVERY)
    batches = enqueue(chunk.ids)
    if following and after == 0:
        dispatch_message.apply_async(args=[message_id, chunk.next_after], queue=Queues.DELIVERY)
    logger.info("message %s after %s: %d batches queued", message_id, after, batches)
    return batches


# A batch's worker is stopped well before its claim expires (prefork pools; the solo pool
# has no time limits, and relies on the SMTP timeout and the claim check instead).
@shared_task(**_LATE, **_DATABASE_AWAY, time_limit=knob("ACS_DELIVERY_CLAIM_TIMEOUT") // 2)
def send_batch(delivery_ids: list[int]) -> dict[str, int]:
    """Claim, send and record one batch of delivery rows (``sending.batch_send``)."""
    return dict(sending.batch_send(delivery_ids=delivery_ids))


@shared_task(**_LATE)
def sweep() -> dict[str, int]:
    """Periodic (every minute): hand back stuck rows (``services.deliveries_sweep``)."""
    swept = services.deliveries_sweep()
    enqueue(swept.ids)
    stalled = services.fanouts_stalled()
    for message_id, after in stalled:
        dispatch_message.apply_async(args=[message_id, after], queue=Queues.DELIVERY)
    counts = {
        "stale": len(swept.stale),
        "due": len(swept.due),
        "lost": len(swept.lost),
        "abandoned": swept.abandoned,
        "fanouts": len(stalled),
    }
    if any(counts.values()):
        logger.info("delivery sweep: %s", counts)
    return counts


@shared_task(**_LATE)
def send_digests() -> int:
    """Periodic (daily): one ``send_digest`` per person and channel with messages waiting."""
    recipients = services.digest_recipients()
    for enrollee_id, channel in recipients:
        send_digest.apply_async(args=[enrollee_id, channel], queue=Queues.DELIVERY)
    return len(recipients)


@shared_task(**_LATE, time_limit=knob("ACS_DELIVERY_CLAIM_TIMEOUT") // 2)
def send_digest(enrollee_id: int, channel: str) -> int:
    """One person's digest on one channel (``sending.digest_send``)."""
    return sending.digest_send(enrollee_id=enrollee_id, channel=channel)
