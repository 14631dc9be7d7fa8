import logging

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

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
