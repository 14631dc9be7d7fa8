"""The wire: one reused SMTP connection per batch, and the order that makes "sent" true.

An SMTP transaction is ``MAIL FROM``, ``RCPT TO``, ``DATA``, the message, and a line with a
single dot. The server takes responsibility for the message when it answers that dot with
250 (RFC 5321 §4.1.1.4). So a row is marked SENT only *after* that answer: "sent" in the
database is never a guess.

What a crash leaves, at each point of one message:
- before the dot was written: nothing was delivered, the row is still SENDING, and it is sent
  again once its claim expires;
- after the dot, before the answer was read or the row marked: the message may or may not
  have been delivered (RFC 1047). The row is still SENDING and is sent again, *in doubt*,
  with the same Message-ID, so that a receiving system that deduplicates by Message-ID
  shows one copy. This is the only way to a duplicate, and only for the message in flight.

Nobody is ever missed: a row leaves SENDING only for SENT (after the server's 250), RETRYING
or FAILED (after a refusal). This module knows nothing of messages or rows: it takes an
envelope and bytes, and calls ``commit`` once the server has accepted them.

Backends other than SMTP (the demo's ``.eml`` files, the tests' outbox) are sent the same
way: handed over first, recorded after.
"""

from __future__ import annotations

import contextlib
import functools
import re
import smtplib
import socket
from collections.abc import Callable

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.utils.translation import gettext as _

_DOT_LINES = re.compile(rb"(?m)^\.")
_ADDRESS = re.compile(r"<?[^\s<>@]+@[^\s<>]+>?")
_REASON_LIMIT = 250


class ClaimLost(Exception):
    """The message was accepted, but its row was no longer this worker's when it came to mark
    it sent (the sweeper had handed a slow worker's claim to another): it will be sent again,
    with the same Message-ID."""


class SendError(Exception):
    """The message was not accepted. ``temporary``: try again later. ``after_data``: the
    whole message had been sent when the error came (see ``Outbox.send``)."""

    def __init__(self, reason: str, *, temporary: bool, after_data: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.temporary = temporary
        self.after_data = after_data


def _text(value: bytes | str) -> str:
    text = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
    # A server's answer often names the recipient; the reasons are grouped on the progress
    # page, so addresses are taken out.
    return _ADDRESS.sub("<address>", " ".join(text.split()))


def reason_of(error: BaseException) -> tuple[bool, str]:
    """``(temporary, reason)`` for an error of the SMTP conversation: 4xx answers and
    broken connections are temporary; 5xx answers permanent."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, answer = next(iter(error.recipients.values()), (550, b""))
        return code < 500, f"SMTP {code}: {_text(answer)}"[:_REASON_LIMIT]
    if isinstance(error, smtplib.SMTPResponseException):
        code = error.smtp_code
        return code < 500, f"SMTP {code}: {_text(error.smtp_error)}"[:_REASON_LIMIT]
    name = type(error).__name__
    return True, f"{name}: {_text(str(error))}"[:_REASON_LIMIT]


def _angled(address: str) -> str:
    """``<address>`` for the envelope; a plain ASCII address is taken as it is."""
    if address.isascii() and "<" not in address and " " not in address:
        return f"<{address}>"
    return _quoted(address)


@functools.lru_cache(maxsize=16)  # the sender: one address for every message
def _quoted(address: str) -> str:
    return smtplib.quoteaddr(address)


def _command(smtp: smtplib.SMTP, command: str, argument: str) -> tuple[int, bytes]:
    smtp.putcmd(command, argument)
    return smtp.getreply()


def _reset(smtp: smtplib.SMTP) -> None:
    with contextlib.suppress(smtplib.SMTPServerDisconnected):
        smtp.rset()


class Outbox:
    """One batch's connection to the mail system: Django's configured backend, opened once
    and reused for every message; reopened if it breaks."""

    def __init__(self, backend=None) -> None:
        self.backend = backend or get_connection(timeout=settings.ACS_DELIVERY_SEND_TIMEOUT)
        self.is_smtp = isinstance(self.backend, SmtpBackend)
        self.opened = False

    def open(self) -> None:
        if not self.opened:
            self.backend.open()
            self.opened = True
            sock = getattr(getattr(self.backend, "connection", None), "sock", None)
            if sock is not None:
                # The final dot is a 3-byte write right after the message: with Nagle's
                # algorithm on, it would wait for the server's delayed ACK (40 ms a message).
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self) -> None:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            self.backend.close()
        self.opened = False

    def _drop(self) -> None:
        """Close the socket without a word: mid-DATA, a QUIT would be read as message text."""
        smtp = getattr(self.backend, "connection", None)
        if smtp is not None:
            smtp.close()
            self.backend.connection = None
        self.opened = False

    def send(
        self,
        *,
        sender: str,
        wire: Callable[[], tuple[str, bytes]],
        email: Callable[[], EmailMessage],
        commit: Callable[[], bool],
    ) -> None:
        """Send one message, then ``commit()`` (mark its row sent; False when the claim no
        longer held it). SMTP gets ``wire()`` (the envelope recipient and the message's bytes),
        any other backend ``email()``. Raises ``SendError`` when the message was not accepted,
        ``ClaimLost`` when it was accepted but the row was no longer this worker's."""
        if self.is_smtp:
            recipient, data = wire()
            try:
                self.open()
                self._transaction(sender, recipient, data)
            except SendError:
                raise
            except (smtplib.SMTPException, OSError) as error:
                self._drop()
                temporary, reason = reason_of(error)
                raise SendError(reason, temporary=temporary) from error
        else:
            self._send_other(email)
        if not commit():
            raise ClaimLost

    def _send_other(self, email: Callable[[], EmailMessage]) -> None:
        message = email()
        try:
            self.open()
            message.connection = self.backend
            message.send()
        except (smtplib.SMTPException, OSError) as error:
            temporary, reason = reason_of(error)
            raise SendError(reason, temporary=temporary, after_data=True) from error

    def _envelope(
        self, smtp: smtplib.SMTP, mail_from: str, rcpt_to: str, sender: str, recipient: str
    ) -> None:
        """MAIL, RCPT and DATA, each waiting for its answer."""
        code, answer = _command(smtp, "mail", mail_from)
        if code != 250:
            _reset(smtp)
            raise smtplib.SMTPSenderRefused(code, answer, sender)
        code, answer = _command(smtp, "rcpt", rcpt_to)
        if code not in (250, 251):
            _reset(smtp)
            raise smtplib.SMTPRecipientsRefused({recipient: (code, answer)})
        smtp.putcmd("data")
        code, answer = smtp.getreply()
        if code != 354:
            _reset(smtp)
            raise smtplib.SMTPDataError(code, answer)

    def _envelope_pipelined(
        self, smtp: smtplib.SMTP, mail_from: str, rcpt_to: str, sender: str, recipient: str
    ) -> None:
        """MAIL, RCPT and DATA in one write, then their three answers (RFC 2920, for a server
        that offers PIPELINING, as relays do): one round trip instead of three."""
        smtp.send(f"MAIL {mail_from}\r\nRCPT {rcpt_to}\r\nDATA\r\n")
        (mail, mail_answer), (rcpt, rcpt_answer) = smtp.getreply(), smtp.getreply()
        data, data_answer = smtp.getreply()
        if mail == 250 and rcpt in (250, 251) and data == 354:
            return
        if data == 354:
            # The server waits for a message it should not take: leave without one.
            self._drop()
        else:
            _reset(smtp)
        if mail != 250:
            raise smtplib.SMTPSenderRefused(mail, mail_answer, sender)
        if rcpt not in (250, 251):
            raise smtplib.SMTPRecipientsRefused({recipient: (rcpt, rcpt_answer)})
        raise smtplib.SMTPDataError(data, data_answer)

    def _transaction(self, sender: str, recipient: str, data: bytes) -> None:
        smtp: smtplib.SMTP = self.backend.connection
        smtp.ehlo_or_helo_if_needed()
        size = f" SIZE={len(data)}" if smtp.has_extn("size") else ""
        # The commands as smtplib's mail() and rcpt() write them, without their address
        # parsing (a tenth of a millisecond each, on every message of a broadcast).
        mail_from, rcpt_to = f"FROM:{_angled(sender)}{size}", f"TO:{_angled(recipient)}"
        if smtp.has_extn("pipelining"):
            self._envelope_pipelined(smtp, mail_from, rcpt_to, sender, recipient)
        else:
            self._envelope(smtp, mail_from, rcpt_to, sender, recipient)
        body = _DOT_LINES.sub(b"..", data)
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        # The message and its final dot in one write: one packet less, and no wait for the
        # server's delayed ACK between them.
        smtp.send(body + b".\r\n")
        try:
            code, answer = smtp.getreply()
        except (smtplib.SMTPException, OSError) as error:
            # The whole message went out and the answer did not come back: it may have been
            # delivered (RFC 1047). Sent again, with the same Message-ID, rather than perhaps
            # lost.
            self._drop()
            reason = _("%(reason)s (after the end of the message: it may arrive twice)") % {
                "reason": reason_of(error)[1]
            }
            raise SendError(reason[:_REASON_LIMIT], temporary=True, after_data=True) from error
        if code != 250:
            temporary, reason = reason_of(smtplib.SMTPDataError(code, answer))
            raise SendError(reason, temporary=temporary, after_data=True)
