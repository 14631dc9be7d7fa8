"""Helpers for tests that look at the transactional-email outbox (acs/core/outbox)."""

from __future__ import annotations

import smtplib

from django.core.mail.backends import locmem

from acs.core.models import OutgoingEmail


def hold_emails(monkeypatch) -> None:
    """Write the outbox's rows but hand none to the workers: nothing is built or sent."""
    monkeypatch.setattr("acs.core.tasks.email_send.apply_async", lambda *args, **kwargs: None)


def booking_emails() -> list[tuple[int, str]]:
    """The booking emails in the outbox, oldest first: ``(booking id, kind)``."""
    return [
        (row.arguments["booking_id"], row.arguments["kind"])
        for row in OutgoingEmail.objects.filter(kind="appointments.booking").order_by("pk")
    ]


class FlakyBackend(locmem.EmailBackend):
    """The tests' mail outbox behind a relay that answers "421 try again later" to the next
    ``failures`` messages, then accepts."""

    failures = 0

    def send_messages(self, messages):
        if FlakyBackend.failures > 0:
            FlakyBackend.failures -= 1
            raise smtplib.SMTPDataError(421, b"4.3.2 Service not available, try again later")
        return super().send_messages(messages)
