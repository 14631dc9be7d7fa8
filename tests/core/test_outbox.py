"""The transactional-email outbox: rows written with their change, claimed once, sent with
their Message-ID, retried with backoff, failed with a reason, swept back when stuck."""

from __future__ import annotations

import re
import smtplib
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from acs.core import tasks
from acs.core.constants import EmailStatus
from acs.core.models import OutgoingEmail
from acs.core.outbox import queue as outbox_queue
from acs.core.outbox import registry, services
from acs.core.outbox.queue import email_queue
from tests.core.outbox import FlakyBackend

pytestmark = pytest.mark.django_db

KIND = "tests.note"


def note(*, number: int, gone: bool = False, broken: bool = False) -> EmailMessage | None:
    """A builder for the tests: ``gone`` says there is nothing to send any more."""
    if broken:
        raise ValueError("a bug")
    if gone:
        return None
    return EmailMessage(subject=f"Note {number}", body="Hello", to=["ana@example.org"])


registry.kinds_register({KIND: note})


def queue(number: int = 1, **arguments) -> OutgoingEmail:
    """A row written but not handed to a worker (no commit in these tests)."""
    pk = email_queue(
        kind=KIND, to="ana@example.org", language="en", arguments={"number": number, **arguments}
    )
    return OutgoingEmail.objects.get(pk=pk)


def later(monkeypatch, seconds: float) -> None:
    moment = timezone.now() + timedelta(seconds=seconds)
    monkeypatch.setattr(timezone, "now", lambda: moment)


def test_a_row_is_written_with_its_change_and_not_without_it():
    with transaction.atomic():
        row = queue()
        assert OutgoingEmail.objects.filter(pk=row.pk).exists()
        transaction.set_rollback(True)
    assert not OutgoingEmail.objects.filter(pk=row.pk).exists()
    row = queue()
    assert (row.status, row.attempts, row.kind) == (EmailStatus.QUEUED, 0, KIND)
    assert re.fullmatch(r"<[^<>@]+@example\.gov>", row.message_id)


def test_committed_rows_are_handed_to_the_workers_and_sent_with_their_message_id(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        row = queue()
    (message,) = mail.outbox
    row.refresh_from_db()
    assert (row.status, row.attempts, row.error) == (EmailStatus.SENT, 1, "")
    assert row.sent_at is not None
    assert message.extra_headers["Message-ID"] == row.message_id
    assert message.subject == "Note 1"


def test_a_row_is_claimed_once():
    row = queue()
    first = services.email_claim(email_id=row.pk, worker="one")
    assert first is not None and (first.status, first.attempts) == (EmailStatus.SENDING, 1)
    assert services.email_claim(email_id=row.pk, worker="two") is None
    assert tasks.email_send(row.pk) == "not claimed"  # a duplicate Celery message
    assert mail.outbox == []


def test_a_temporary_failure_retries_with_exponential_backoff_then_gives_up(settings, monkeypatch):
    settings.EMAIL_BACKEND = "tests.core.outbox.FlakyBackend"
    settings.ACS_MAIL_MAX_ATTEMPTS = 3
    monkeypatch.setattr(FlakyBackend, "failures", 3)
    row = queue()
    pauses = []
    for attempt in (1, 2):
        before = timezone.now()
        assert tasks.email_send(row.pk) == EmailStatus.RETRYING
        row.refresh_from_db()
        assert (row.attempts, row.claimed_by != "") == (attempt, True)
        assert row.error == "SMTP 421: 4.3.2 Service not available, try again later"
        pauses.append(round((row.next_attempt_at - before).total_seconds() / 60))
        # Not before its time; once it has come, the sweeper queues it again.
        assert services.emails_sweep().due == []
        later(monkeypatch, (row.next_attempt_at - before).total_seconds() + 1)
        assert services.emails_sweep().due == [row.pk]
        monkeypatch.undo()
        settings.EMAIL_BACKEND = "tests.core.outbox.FlakyBackend"
        settings.ACS_MAIL_MAX_ATTEMPTS = 3
        monkeypatch.setattr(FlakyBackend, "failures", 3 - attempt)
    assert pauses == [1, 2]  # base × 2^(attempt − 1), in minutes
    assert tasks.email_send(row.pk) == EmailStatus.FAILED
    row.refresh_from_db()
    assert row.error.startswith("Gave up after 3 attempts: SMTP 421")
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("error", "status", "reason"),
    [
        (smtplib.SMTPRecipientsRefused({"a": (550, b"5.1.1 <a@x.org> unknown")}), "failed", "550"),
        (smtplib.SMTPDataError(554, b"5.7.1 rejected"), "failed", "SMTP 554: 5.7.1 rejected"),
        (smtplib.SMTPServerDisconnected("gone"), "retrying", "SMTPServerDisconnected: gone"),
        (ConnectionRefusedError(111, "Connection refused"), "retrying", "ConnectionRefused"),
    ],
)
def test_5xx_fails_for_good_and_4xx_or_connection_errors_retry(monkeypatch, error, status, reason):
    def refuse(self, messages):
        raise error

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse)
    row = queue()
    assert tasks.email_send(row.pk) == status
    row.refresh_from_db()
    assert reason in row.error
    assert "a@x.org" not in row.error  # addresses are kept out of the reasons


def test_unknown_kind_fails_with_its_reason():
    pk = email_queue(
        kind="tests.nobody-builds-this", to="a@example.org", language="en", arguments={}
    )
    assert tasks.email_send(pk) == EmailStatus.FAILED
    row = OutgoingEmail.objects.get(pk=pk)
    assert row.error == "Unknown kind of email: tests.nobody-builds-this"


def test_nothing_to_send_any_more_is_skipped_and_a_broken_builder_fails():
    gone, broken = queue(gone=True), queue(broken=True)
    assert tasks.email_send(gone.pk) == EmailStatus.SKIPPED
    assert tasks.email_send(broken.pk) == EmailStatus.FAILED
    broken.refresh_from_db()
    assert broken.error == "The email could not be built: ValueError"
    assert mail.outbox == []


def test_a_worker_dying_after_the_server_accepted_means_a_resend_with_the_same_message_id(
    monkeypatch,
):
    """The server took the email; the worker died before writing "sent". Its claim expires,
    the sweeper hands the row back, and it is sent again: a duplicate, never a loss, and one
    the receiving system recognises by its Message-ID."""
    row = queue()

    class WorkerDied(BaseException):
        pass

    def die(**kwargs):
        raise WorkerDied

    monkeypatch.setattr(services, "email_sent", die)
    with pytest.raises(WorkerDied):
        tasks.email_send(row.pk)
    monkeypatch.undo()
    row.refresh_from_db()
    assert row.status == EmailStatus.SENDING and len(mail.outbox) == 1

    assert services.emails_sweep().stale == []  # the claim has not expired yet
    later(monkeypatch, services.knob("ACS_MAIL_CLAIM_TIMEOUT") + 1)
    assert tasks.emails_sweep()["stale"] == 1  # handed back, and (inline here) sent again

    first, second = mail.outbox
    row.refresh_from_db()
    assert (row.status, row.attempts) == (EmailStatus.SENT, 2)
    assert first.extra_headers["Message-ID"] == second.extra_headers["Message-ID"]
    assert second.extra_headers["Message-ID"] == row.message_id
    assert first.message().as_bytes().count(row.message_id.encode()) == 1


def test_the_sweeper_fails_a_row_whose_worker_died_on_every_attempt(settings, monkeypatch):
    settings.ACS_MAIL_MAX_ATTEMPTS = 1
    row = queue()
    services.email_claim(email_id=row.pk, worker="died")
    later(monkeypatch, services.knob("ACS_MAIL_CLAIM_TIMEOUT") + 1)
    assert services.emails_sweep().abandoned == 1
    row.refresh_from_db()
    assert row.status == EmailStatus.FAILED
    assert row.error == "The worker sending it stopped, on every attempt."


def test_the_sweeper_hands_over_rows_never_published_at_once_and_lost_ones_after_a_while(
    monkeypatch,
):
    never, lost = queue(1), queue(2)
    services.rows_not_handed_over(ids=[never.pk])  # the broker was down after the commit
    assert services.emails_sweep().lost == [never.pk]  # at once
    later(monkeypatch, services.knob("ACS_MAIL_REQUEUE_AFTER") - 5)
    assert services.emails_sweep().lost == []  # handed over, perhaps waiting behind others
    monkeypatch.undo()
    later(monkeypatch, services.knob("ACS_MAIL_REQUEUE_AFTER") + 5)
    assert services.emails_sweep().lost == [never.pk, lost.pk]  # their messages were lost


def test_a_broker_that_refuses_leaves_the_rows_for_the_sweeper(monkeypatch, caplog):
    def refuse(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    monkeypatch.setattr(tasks.email_send, "apply_async", refuse)
    rows = [queue(1), queue(2)]
    assert outbox_queue.emails_hand_over([row.pk for row in rows]) == 0
    assert not OutgoingEmail.objects.filter(enqueued_at__isnull=False).exists()
    assert "broker unreachable, 2 email(s) left for the sweeper" in caplog.text


def test_done_rows_are_forgotten_after_the_days_kept(monkeypatch):
    sent, waiting = queue(1), queue(2)
    tasks.email_send(sent.pk)
    later(monkeypatch, services.knob("ACS_MAIL_KEEP_DAYS") * 86400 + 1)
    assert tasks.emails_purge() == 1
    assert list(OutgoingEmail.objects.values_list("pk", flat=True)) == [waiting.pk]


def test_every_kind_the_apps_send_has_a_builder():
    assert {
        "appointments.booking",
        "appointments.closure",
        "enrollment.account",
        "enrollment.residence_reconfirm",
        "enrollment.idle_warning",
    } <= set(registry.kinds())


def test_a_kind_cannot_get_a_second_builder():
    with pytest.raises(registry.KindTaken):
        registry.kinds_register({KIND: lambda **kwargs: None})
    registry.kinds_register({KIND: note})  # the same one again is harmless


# Nothing sends mail but the outbox's worker (and the messages' own outbox in acs/alerts).
SENDS = re.compile(r"\.send\(\)|\bsend_mail\(|send_mass_mail\(|mail_admins\(|\.send_messages\(")
ALLOWED = {"core/outbox/sending.py", "core/mail/eml.py", "core/transport.py"}


def test_no_code_sends_mail_except_through_an_outbox():
    root = Path(__file__).resolve().parents[2] / "acs"
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if str(path.relative_to(root)) not in ALLOWED
        and not str(path.relative_to(root)).startswith(("alerts/", "delivery/"))
        and SENDS.search(path.read_text())
    ]
    assert offenders == []
