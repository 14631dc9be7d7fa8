"""Vocabularies of messages, in one place. The kinds are the enrollment's own
(``acs.enrollment.constants.MessageKind``): an enrollee's preferences name the same kinds."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from acs.core.claims import knob
from acs.enrollment.constants import Channel, MessageKind

__all__ = [
    "CLAIMABLE",
    "FINAL",
    "KIND_CAP_DEFAULTS",
    "KIND_TITLES",
    "OPEN",
    "CapCategory",
    "CapCertainty",
    "CapSeverity",
    "CapUrgency",
    "Channel",
    "DeliveryStatus",
    "MessageKind",
    "MessageStatus",
    "MessageType",
    "WelfareAnswer",
    "knob",
]


class MessageStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    APPROVED = "approved", _("Approved")
    PUBLISHED = "published", _("Published")  # on the site and feeds; deliveries written


class MessageType(models.TextChoices):
    """CAP ``msgType``: a new message, an update of an earlier one, or its cancellation."""

    ALERT = "Alert", _("New message")
    UPDATE = "Update", _("Update")
    CANCEL = "Cancel", _("Cancellation")


class CapCategory(models.TextChoices):
    GEO = "Geo", _("Geophysical (such as an earthquake)")
    MET = "Met", _("Weather")
    SAFETY = "Safety", _("General safety")
    SECURITY = "Security", _("Security")
    RESCUE = "Rescue", _("Rescue and recovery")
    FIRE = "Fire", _("Fire")
    HEALTH = "Health", _("Health")
    ENV = "Env", _("Environment")
    TRANSPORT = "Transport", _("Transport")
    INFRA = "Infra", _("Infrastructure")
    OTHER = "Other", _("Other")


class CapUrgency(models.TextChoices):
    IMMEDIATE = "Immediate", _("Immediate: act now")
    EXPECTED = "Expected", _("Expected: act within the hour")
    FUTURE = "Future", _("Future: act in the near future")
    PAST = "Past", _("Past: no action needed any more")
    UNKNOWN = "Unknown", _("Unknown")


class CapSeverity(models.TextChoices):
    EXTREME = "Extreme", _("Extreme threat to life or property")
    SEVERE = "Severe", _("Significant threat to life or property")
    MODERATE = "Moderate", _("Possible threat to life or property")
    MINOR = "Minor", _("Little or no threat")
    UNKNOWN = "Unknown", _("Unknown")


class CapCertainty(models.TextChoices):
    OBSERVED = "Observed", _("Observed: it has happened or is happening")
    LIKELY = "Likely", _("Likely (more than 50%)")
    POSSIBLE = "Possible", _("Possible (50% or less)")
    UNLIKELY = "Unlikely", _("Unlikely")
    UNKNOWN = "Unknown", _("Unknown")


# How each kind is titled on the page, in the embassy's own words.
KIND_TITLES = {
    MessageKind.EMERGENCY: _("Emergency"),
    MessageKind.SECURITY: _("Security Alert"),
    MessageKind.DEMONSTRATION: _("Demonstration Alert"),
    MessageKind.HEALTH: _("Health Alert"),
    MessageKind.WEATHER: _("Weather Alert"),
    MessageKind.CITIZENS: _("Message for U.S. Citizens"),
}

# The CAP category a new message of each kind starts with (the officer may change it).
KIND_CAP_DEFAULTS = {
    MessageKind.EMERGENCY: CapCategory.SAFETY,
    MessageKind.SECURITY: CapCategory.SECURITY,
    MessageKind.DEMONSTRATION: CapCategory.SECURITY,
    MessageKind.HEALTH: CapCategory.HEALTH,
    MessageKind.WEATHER: CapCategory.MET,
    MessageKind.CITIZENS: CapCategory.OTHER,
}


# Delivery --------------------------------------------------------------------------------


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
