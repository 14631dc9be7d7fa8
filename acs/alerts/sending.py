"""The worker's side of delivery: claim a batch, send it over one connection, record each
outcome as it happens. The tasks (``tasks.py``) call these; the state changes are the
services' (``services.py``), the wire is ``transport.py``.

Each row's outcome is written the moment it is known, not at the end of the batch, so that a
worker killed mid-batch leaves every row it finished recorded (see docs/delivery.md).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail.message import sanitize_address
from django.db import DatabaseError, connection
from django.utils.translation import gettext_lazy as _

from acs.alerts import letters as emails
from acs.alerts.constants import Channel
from acs.alerts.models import Delivery, Message
from acs.alerts.services import outbox as services
from acs.alerts.services.outbox import Claim
from acs.core.claims import worker_name
from acs.core.mail.addresses import mail_domain, message_id_for
from acs.core.sms import SmsError, get_backend, send_sms
from acs.core.transport import ClaimLost, Outbox, SendError

logger = logging.getLogger(__name__)

# Times a batch opens its connection again after it broke before giving the rest back.
_RECONNECTS = 3
_UNREACHABLE = _("The mail server could not be reached.")
_FIELDS = ("pk", "message_id", "channel", "address", "language", "token", "attempts")


@contextmanager
def quick_commits() -> Iterator[None]:
    """PostgreSQL: each row's outcome commits without waiting for the disk (``synchronous_
    commit = off``; about 3 ms per commit on this project's reference machine, more than the
    email itself). A worker's death loses nothing: the server has the change. Only a crash of
    the database server itself can lose the last fraction of a second of outcomes, and a row
    that falls back to SENDING that way is sent again by the sweeper: a duplicate, never a
    loss. The setting is the session's, and is put back when the batch ends."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO DEFAULT")


def _sender() -> str:
    return sanitize_address(settings.DEFAULT_FROM_EMAIL, settings.DEFAULT_CHARSET)


class _Batch:
    """One claim's rows on their way out, with its connection and its counts."""

    def __init__(self, claim: Claim, outbox: Outbox | None) -> None:
        self.claim = claim
        self.outbox = outbox
        self.counts: Counter[str] = Counter()
        self.letters = emails.WireCache()
        self.sender = _sender()
        self.domain = mail_domain()
        self.reconnects = 0
        self.lost = False
        self.sms_bodies: dict[tuple[int, str], str] = {}
        self.marks = services.SentMarks(claim)

    def settle(self) -> None:
        """Read the answer of the last SENT mark before the connection is used otherwise."""
        if not self.marks.settle() and not self.lost:
            self._claim_lost()

    def _claim_lost(self) -> None:
        # Accepted, but the sweeper had taken the batch back (its claim was older than the
        # timeout): the rows go out again from another worker, with their Message-IDs, and
        # those the server accepted from this one are marked in doubt (they will arrive
        # twice). Every row of the batch went back together, so the rest is no longer ours.
        logger.warning("claim %s was taken back while its batch was sent", self.claim.worker)
        self.counts["lost"] += 1
        self.lost = True
        self.marks.settle()  # the mark on its way, if any, before the connection is used
        services.deliveries_doubt(self.marks.refused)

    def _failed(self, row: Delivery, reason: str, *, temporary: bool, doubt: bool = False) -> None:
        self.settle()
        status = services.delivery_failed(
            pk=row.pk, claim=self.claim, reason=str(reason), temporary=temporary, doubt=doubt
        )
        self.counts[str(status) or "lost"] += 1

    def _connected(self, outbox: Outbox) -> bool:
        """The connection is up, or could be opened again; else the rest goes back."""
        if outbox.opened:
            return True
        if self.reconnects >= _RECONNECTS:
            return False
        try:
            outbox.open()
        except OSError as error:
            logger.warning("SMTP relay unreachable: %s", error)
            return False
        return True

    def email(self, row: Delivery, message: Message) -> None:
        outbox = self.outbox = self.outbox or Outbox()
        message_id = message_id_for(row.token, domain=self.domain)
        token = str(row.token)
        try:
            outbox.send(
                sender=self.sender,
                wire=lambda: self.letters.email_bytes(row, message, message_id),
                email=lambda: self.letters.wire(message, row.language).letter.email(
                    to=row.address, token=token, message_id=message_id
                ),
                commit=lambda: self.marks.mark(pk=row.pk, provider_id=message_id),
            )
        except ClaimLost:
            self._claim_lost()
        except SendError as error:
            self._failed(row, error.reason, temporary=error.temporary, doubt=error.after_data)
            if not outbox.opened and outbox.is_smtp:
                self.reconnects += 1
        else:
            self.counts["sent"] += 1

    def text(self, row: Delivery, message: Message, backend) -> None:
        # Sent, then recorded: a gateway request cannot be split the way SMTP can. Its
        # ``reference`` (the row's token) lets a gateway that keeps one drop a repeat.
        body = self.sms_body(message, row.language).replace(emails.TOKEN_MARK, str(row.token))
        try:
            provider_id = send_sms(row.address, body, reference=str(row.token), backend=backend)
        except SmsError as error:
            self._failed(row, error.reason, temporary=error.temporary)
            return
        self.settle()
        if services.delivery_sent(pk=row.pk, claim=self.claim, provider_id=provider_id):
            self.counts["sent"] += 1
        else:
            logger.warning("text %s was sent after its claim had expired", row.pk)
            self.counts["lost"] += 1

    def sms_body(self, message: Message, language: str) -> str:
        """The message as a text in ``language``, made once per batch (with the token mark)."""
        key = (message.pk, emails.row_language(language))
        if key not in self.sms_bodies:
            self.sms_bodies[key] = emails.sms_text(
                message, token=emails.TOKEN_MARK, language=language
            )
        return self.sms_bodies[key]

    def run(self, rows: list[Delivery], messages: dict[int, Message]) -> None:
        mail = [row for row in rows if row.channel == Channel.EMAIL]
        texts = [row for row in rows if row.channel == Channel.SMS]
        for position, row in enumerate(mail):
            if self.lost:
                self.counts["lost"] += len(mail) - position
                break
            if self.outbox is not None and not self._connected(self.outbox):
                for rest in mail[position:]:
                    self._failed(rest, _UNREACHABLE, temporary=True)
                break
            self._guarded(self.email, row, messages[row.message_id])
        self.settle()
        if self.lost:
            self.counts["lost"] += len(texts)
        elif texts:
            self._texts(texts, messages)

    def _texts(self, texts: list[Delivery], messages: dict[int, Message]) -> None:
        try:
            backend = get_backend()
        except ImproperlyConfigured as error:
            for row in texts:
                self._failed(row, str(error), temporary=True)
            return
        for row in texts:
            self._guarded(self.text, row, messages[row.message_id], backend)

    def _guarded(self, send, row: Delivery, *args) -> None:
        """One row's failure that nobody foresaw fails that row, not the batch; a database
        error stops the batch (``batch_send`` gives its rows back)."""
        try:
            send(row, *args)
        except DatabaseError:
            raise
        except Exception as error:
            logger.exception("delivery %s could not be sent", row.pk)
            self._failed(row, f"{type(error).__name__}: {error}", temporary=False)


def batch_send(
    *, delivery_ids: list[int], outbox: Outbox | None = None, worker: str | None = None
) -> Counter[str]:
    """Claim what is still QUEUED of ``delivery_ids``, send it, record each outcome.
    Returns the counts of outcomes (sent, retrying, failed, lost)."""
    claim = services.deliveries_claim(delivery_ids=delivery_ids, worker=worker or worker_name())
    rows = list(services.deliveries_claimed(claim).only(*_FIELDS).order_by("pk"))
    if not rows:
        return Counter()
    messages = Message.objects.select_related("post").in_bulk({row.message_id for row in rows})
    batch = _Batch(claim, outbox)
    try:
        with quick_commits():
            batch.run(rows, messages)
    except DatabaseError:
        # The database went away mid-batch (a restart, a failover): give the rest of the
        # claim back as soon as it answers again, rather than leave it to the sweeper's
        # timeout; the task is then tried again and takes them (``tasks.send_batch``). A
        # mark still on its way is read first, if the connection still can.
        with contextlib.suppress(DatabaseError):
            batch.marks.settle()
        _give_back(claim, unconfirmed=batch.marks.unconfirmed)
        raise
    finally:
        if batch.outbox is not None and outbox is None:
            batch.outbox.close()
    return batch.counts


_GIVE_BACK_PAUSES = (0.5, 1, 2, 4, 8)


def _give_back(claim: Claim, *, unconfirmed: list[int]) -> None:
    for pause in _GIVE_BACK_PAUSES:
        if not connection.in_atomic_block:  # (a test's own transaction is left alone)
            connection.close()  # the broken connection; the next query opens a new one
        try:
            released = services.deliveries_release(claim=claim, unconfirmed=unconfirmed)
        except DatabaseError as error:
            logger.warning("database still away (%s); trying again in %s s", error, pause)
            time.sleep(pause)
        else:
            logger.warning("database error mid-batch: %d rows given back", released)
            return
    logger.error("database away too long: the sweeper will hand the batch back")


# The daily digest ------------------------------------------------------------------------


def digest_send(
    *, enrollee_id: int, channel: str, outbox: Outbox | None = None, worker: str | None = None
) -> int:
    """Send one person's digest of ``channel``: every message waiting for it, in one email
    (or text). Returns the number of messages it carried (0: nothing was waiting)."""
    claim = services.digest_claim(
        enrollee_id=enrollee_id, channel=channel, worker=worker or worker_name()
    )
    rows = list(
        services.digest_claimed(claim)
        .select_related("message__post")
        .order_by("message__published_at", "pk")
    )
    if not rows:
        return 0
    latest = rows[-1]  # the address and language as of the latest message
    # The same on every attempt of this digest (its newest row's), like a message's own.
    message_id = message_id_for(latest.token)
    try:
        if channel == Channel.SMS:
            body = emails.sms_digest_text(rows, language=latest.language)
            provider_id = send_sms(latest.address, body, reference=str(latest.token))
            services.digest_sent(claim=claim, provider_id=provider_id)
            return len(rows)
        _digest_email(rows, latest, message_id, claim, outbox)
    except (SendError, SmsError) as error:
        services.digest_failed(claim=claim, reason=error.reason, temporary=error.temporary)
        return 0
    except ClaimLost:
        return 0
    return len(rows)


def _digest_email(
    rows: list[Delivery], latest: Delivery, message_id: str, claim: Claim, outbox: Outbox | None
) -> None:
    email = emails.digest_email(
        rows=rows, language=latest.language, address=latest.address, message_id=message_id
    )
    own = outbox is None
    outbox = outbox or Outbox()
    recipient = sanitize_address(latest.address, email.encoding or settings.DEFAULT_CHARSET)
    try:
        outbox.send(
            sender=_sender(),
            wire=lambda: (recipient, email.message().as_bytes(linesep="\r\n")),
            email=lambda: email,
            commit=lambda: services.digest_sent(claim=claim, provider_id=message_id),
        )
    finally:
        if own:
            outbox.close()
