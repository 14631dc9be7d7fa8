import logging

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

from acs.core.outbox import queue, sending
from acs.core.outbox import services as outbox

logger = logging.getLogger(__name__)


@shared_task
def heartbeat() -> str:
    """Record that a worker ran periodic work, so operators can see beat and workers are alive."""
    stamp = timezone.now().isoformat()
    cache.set("acs:worker-heartbeat", stamp, timeout=None)
    logger.info("heartbeat %s", stamp)
    return stamp


@shared_task
def pow_purge() -> int:
    """Forget used proof-of-work solutions once they have expired anyway."""
    from acs.core.pow import expired_purge

    return expired_purge()


# The transactional-email outbox (acs/core/outbox, docs/mail.md) ------------------------------

_LATE = {"acks_late": True, "reject_on_worker_lost": True, "ignore_result": True}


# Stopped well before its claim expires, so that no claim outlives its worker's try (prefork
# pools; the solo pool has no time limits and relies on the SMTP timeout).
@shared_task(**_LATE, time_limit=outbox.knob("ACS_MAIL_CLAIM_TIMEOUT") // 2)
def email_send(email_id: int) -> str:
    """Claim, build, send and record one outgoing email (``outbox.sending.email_send``)."""
    return sending.email_send(email_id=email_id)


@shared_task(**_LATE)
def emails_dispatch(email_ids: list[int]) -> int:
    """A web process's batch of committed emails: one ``email_send`` each
    (``outbox.queue``, ``ACS_MAIL_HANDOVER_SECONDS``)."""
    return queue.emails_dispatch(email_ids)


@shared_task(**_LATE)
def emails_sweep() -> dict[str, int]:
    """Periodic (every minute): hand back what got stuck (``outbox.services.emails_sweep``)."""
    swept = outbox.emails_sweep()
    queue.emails_hand_over(swept.ids)
    counts = {
        "stale": len(swept.stale),
        "due": len(swept.due),
        "lost": len(swept.lost),
        "abandoned": swept.abandoned,
    }
    if any(counts.values()):
        logger.info("outgoing email sweep: %s", counts)
    return counts


@shared_task(**_LATE)
def emails_purge() -> int:
    """Periodic (daily): forget emails done for good more than ``ACS_MAIL_KEEP_DAYS`` ago."""
    return outbox.emails_purge()
