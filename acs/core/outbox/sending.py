"""The worker's side of the outbox: claim one row, build its email, send it, record the
outcome. The task (``acs.core.tasks.email_send``) calls ``email_send``; the changes of
state are ``services``'.

The order is the usual one, send then record: "sent" is written once the server has
accepted the email. A worker that dies between the two leaves the row SENDING; the sweeper
hands it back once the claim expires, and it is sent again with the same Message-ID, which
receiving systems use to drop the copy. Nothing is lost; a duplicate is possible only for an
email in flight at a crash.
"""

from __future__ import annotations

import logging
import smtplib

from django.core.mail import EmailMessage, get_connection
from django.db import DatabaseError
from django.utils import translation
from django.utils.translation import gettext as _

from acs.core.claims import worker_name
from acs.core.constants import EmailStatus
from acs.core.models import OutgoingEmail
from acs.core.outbox import registry, services
from acs.core.transport import reason_of

logger = logging.getLogger(__name__)


class _Refused(Exception):
    """The row cannot be built now: ``temporary`` says whether to try again later."""

    def __init__(self, reason: str, *, temporary: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.temporary = temporary


def _build(row: OutgoingEmail) -> EmailMessage | None:
    builder = registry.builder_for(row.kind)
    if builder is None:
        raise _Refused(_("Unknown kind of email: %(kind)s") % {"kind": row.kind}, temporary=False)
    try:
        with translation.override(row.language):
            return builder(**registry.arguments_check(row.arguments))
    except DatabaseError as error:  # the database blinked: the next try may do
        raise _Refused(f"{type(error).__name__}: {error}", temporary=True) from error
    except Exception as error:  # a bug or bad arguments: trying again would change nothing
        logger.exception("outgoing email %s (%s) could not be built", row.pk, row.kind)
        raise _Refused(
            _("The email could not be built: %(error)s") % {"error": f"{type(error).__name__}"},
            temporary=False,
        ) from error


def email_send(*, email_id: int) -> str:
    """Claim, build, send and record one row. Returns what became of it: a status, or
    "not claimed" when it was not QUEUED (sent already, held by another worker)."""
    worker = worker_name()
    row = services.email_claim(email_id=email_id, worker=worker)
    if row is None:
        return "not claimed"
    try:
        message = _build(row)
    except _Refused as refusal:
        return services.email_failed(
            email_id=row.pk, worker=worker, reason=refusal.reason, temporary=refusal.temporary
        )
    if message is None:
        services.email_skipped(
            email_id=row.pk, worker=worker, reason=_("Nothing to send any more.")
        )
        return EmailStatus.SKIPPED.value
    # The row's Message-ID, not the one the builder made: every try of this row is the same
    # email to the receiving system.
    message.extra_headers["Message-ID"] = row.message_id
    try:
        message.connection = get_connection(timeout=services.knob("ACS_MAIL_SEND_TIMEOUT"))
        message.send()
    except (smtplib.SMTPException, OSError) as error:
        temporary, reason = reason_of(error)
        logger.warning("outgoing email %s not sent (%s)", row.pk, reason)
        return services.email_failed(
            email_id=row.pk, worker=worker, reason=reason, temporary=temporary
        )
    # The address it went to: the builder's, from the record as it is now (an enrollee who
    # changed address since gets the link at the new one, which is the one it confirms).
    services.email_sent(email_id=row.pk, to=", ".join(message.to))
    return EmailStatus.SENT.value
