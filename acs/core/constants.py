"""Vocabularies of core's own tables, in one place, grouped."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class EmailStatus(models.TextChoices):
    """Where one transactional email (``OutgoingEmail``) stands. See docs/mail.md."""

    QUEUED = "queued", _("Queued")  # waiting for a worker to claim it
    SENDING = "sending", _("Sending")  # claimed by a worker
    RETRYING = "retrying", _("Retrying")  # a temporary failure; tried again after a pause
    SENT = "sent", _("Sent")  # the mail server accepted it
    FAILED = "failed", _("Failed")  # a permanent failure, or out of attempts, with the reason
    # Nothing to send any more when the worker came to it (the booking or the account was
    # deleted, the question was answered): not a failure, and never tried again.
    SKIPPED = "skipped", _("Not needed any more")


# Still to be done by a worker; and done for good.
EMAIL_OPEN = frozenset({EmailStatus.QUEUED, EmailStatus.SENDING, EmailStatus.RETRYING})
EMAIL_FINAL = frozenset({EmailStatus.SENT, EmailStatus.FAILED, EmailStatus.SKIPPED})


class ActorKind(models.TextChoices):
    """Who an audit entry's action came from (docs/audit-log.md). A door entry's account is
    the staff member signed in on the door's tablet."""

    STAFF = "staff", _("Staff")
    CITIZEN = "citizen", _("Citizen")
    DOOR = "door", _("Door")
    SYSTEM = "system", _("System")
