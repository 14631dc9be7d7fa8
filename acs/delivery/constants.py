"""Vocabularies of delivery, in one place, grouped."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from acs.enrollment.constants import Channel

__all__ = ["FINAL", "OPEN", "Channel", "DeliveryStatus", "WelfareAnswer"]


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
