"""Vocabularies of delivery, in one place, grouped."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from acs.enrollment.constants import Channel

__all__ = [
    "CLAIMABLE",
    "DEFAULTS",
    "FINAL",
    "OPEN",
    "Channel",
    "DeliveryStatus",
    "WelfareAnswer",
    "knob",
]


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")  # claimed by a worker
    RETRYING = "retrying", _("Retrying")  # a temporary failure; tried again after a pause
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")  # a permanent failure, with its reason
    DIGEST = "digest", _("In the daily digest")  # the enrollee asked for a digest of this kind


# Still to be done by a worker; and done for good.
OPEN = frozenset({DeliveryStatus.QUEUED, DeliveryStatus.SENDING, DeliveryStatus.RETRYING})
FINAL = frozenset({DeliveryStatus.SENT, DeliveryStatus.FAILED})


class WelfareAnswer(models.TextChoices):
    SAFE = "safe", _("I am safe")
    NEED_HELP = "help", _("I need help")


# What a worker may take: rows waiting for their first try, or handed back by the sweeper.
CLAIMABLE = frozenset({DeliveryStatus.QUEUED})

# The pipeline's knobs. Each may be overridden by a Django setting of the same name (the
# tests make the timeouts short); the defaults are what production runs with.
DEFAULTS = {
    # Rows per send_batch task: one claim, one SMTP connection, one Celery message.
    "ACS_DELIVERY_BATCH_SIZE": 200,
    # A SENDING row older than this belongs to a worker that died: the sweeper hands it back.
    # Far longer than a batch can take (a batch's task is killed after half of it).
    "ACS_DELIVERY_CLAIM_TIMEOUT": 600,
    # A QUEUED row nobody claimed for this long lost its Celery message (a broker restart, a
    # worker killed before it claimed): the sweeper enqueues it again.
    "ACS_DELIVERY_REQUEUE_AFTER": 600,
    # Temporary failures: wait base × 2^(attempt − 1) seconds, at most the cap; give up (FAILED)
    # after this many attempts.
    "ACS_DELIVERY_RETRY_BASE": 60,
    "ACS_DELIVERY_RETRY_CAP": 1800,
    "ACS_DELIVERY_MAX_ATTEMPTS": 5,
    # Seconds to wait for the SMTP relay or the SMS gateway before calling it a temporary error.
    "ACS_DELIVERY_SEND_TIMEOUT": 30,
}


def knob(name: str) -> int:
    """A pipeline setting (``DEFAULTS``), from Django's settings when they set it."""
    from django.conf import settings

    return int(getattr(settings, name, DEFAULTS[name]))
