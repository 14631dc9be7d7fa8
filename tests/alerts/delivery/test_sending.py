"""Claim, send, record: the worker's side of delivery, with Django's test outbox and with a
real SMTP conversation against a local server."""

from __future__ import annotations

import email
import smtplib
from collections.abc import Callable
from datetime import timedelta
from email import policy

import pytest
from django.core import mail
from django.utils import timezone

from acs.alerts import letters as emails
from acs.alerts import sending, tasks
from acs.alerts.constants import DeliveryStatus
from acs.alerts.models import Delivery
from acs.alerts.rendering import message_parts
from acs.alerts.services import outbox as services
from acs.core.transport import Outbox

pytestmark = pytest.mark.django_db


def rows(message) -> list[Delivery]:
    return list(Delivery.objects.filter(message=message).order_by("pk"))


def ids(message) -> list[int]:
    return [row.pk for row in rows(message)]


# With Django's test outbox ------------------------------------------------------------------


def test_a_batch_sends_each_row_once_and_records_its_message_id(publish, in_cusco):
    in_cusco(), in_cusco(language="es")
    message = publish()
    assert dict(sending.batch_send(delivery_ids=ids(message))) == {"sent": 2}
    assert len(mail.outbox) == 2
    for row in rows(message):
        assert row.status == DeliveryStatus.SENT and row.sent_at and row.attempts == 1
        sent = next(item for item in mail.outbox if item.to == [row.address])
        assert sent.extra_headers["Message-ID"] == row.provider_id
    # The same batch again (a redelivered task) skips what was sent.
    assert dict(sending.batch_send(delivery_ids=ids(message))) == {}
    assert len(mail.outbox) == 2


def test_the_email_is_in_the_row_language_with_text_html_and_one_click_unsubscribe(
    publish, in_cusco
):
    in_cusco(language="es")
    message = publish()
    tasks.send_batch(ids(message))  # as a worker would
    [sent] = mail.outbox
    row = rows(message)[0]
    kind = message_parts(message, "es")["kind_title"]  # as the catalogue translates it
    assert sent.subject == f"{kind}: Bloqueos en la ruta a Machu Picchu"
    assert "Manifestantes bloquean carreteras." in sent.body
    [(html, mime)] = sent.alternatives
    assert mime == "text/html" and "<strong>bloquean carreteras</strong>" in html
    unsubscribe = f"/es/lima/m/unsubscribe/{row.token}/"
    assert sent.extra_headers["List-Unsubscribe"].endswith(f"{unsubscribe}>")
    assert sent.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe in sent.body and unsubscribe in html
    assert "/welfare/" not in sent.body  # only emergencies ask whether you are safe


def test_an_emergency_carries_the_two_personal_welfare_links(publish, in_cusco):
    in_cusco()
    message = publish(kind="emergency")
    sending.batch_send(delivery_ids=ids(message))
    [sent] = mail.outbox
    token = rows(message)[0].token
    for answer in ("safe", "help"):
        link = f"/en/lima/m/welfare/{token}/{answer}/"
        assert link in sent.body and link in sent.alternatives[0][0]


def test_rows_held_by_another_worker_or_finished_are_not_taken(publish, in_cusco):
    for _ in range(3):
        in_cusco()
    message = publish()
    held, failed, free = rows(message)
    Delivery.objects.filter(pk=held.pk).update(
        status=DeliveryStatus.SENDING, claimed_by="elsewhere:1:x", claimed_at=timezone.now()
    )
    Delivery.objects.filter(pk=failed.pk).update(status=DeliveryStatus.FAILED)
    assert dict(sending.batch_send(delivery_ids=ids(message))) == {"sent": 1}
    assert [item.to for item in mail.outbox] == [[free.address]]


def test_a_row_whose_account_was_deleted_after_publishing_is_not_sent(publish, in_cusco):
    from acs.enrollment.services.profile import enrollee_delete

    person = in_cusco()
    message = publish()
    enrollee_delete(enrollee=person)
    sending.batch_send(delivery_ids=ids(message))
    [row] = rows(message)
    assert row.status == DeliveryStatus.FAILED and "deleted" in row.error
    assert row.enrollee_id is None and row.address == ""  # nothing of the person is left
    assert mail.outbox == []


def test_the_fast_wire_form_is_the_same_email_as_the_slow_one(publish, in_cusco):
    in_cusco(language="es")
    message = publish(kind="emergency")
    row = rows(message)[0]
    cache = emails.WireCache()
    assert cache.wire(message, "es").template is not None  # the fast path is taken
    recipient, fast = cache.email_bytes(row, message, "<id@example.gov>")
    slow_email = emails.delivery_email(row, message_id="<id@example.gov>")
    slow = slow_email.message().as_bytes(linesep="\r\n")
    fast_mail = email.message_from_bytes(fast, policy=policy.default)
    slow_mail = email.message_from_bytes(slow, policy=policy.default)
    assert recipient == row.address
    for header in ("Subject", "To", "Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post"):
        assert fast_mail[header] == slow_mail[header], header
    for kind in ("plain", "html"):
        fast_part = fast_mail.get_body(preferencelist=(kind,)).get_content()
        slow_part = slow_mail.get_body(preferencelist=(kind,)).get_content()
        assert fast_part == slow_part
        assert str(row.token) in fast_part


def test_a_letter_whose_lines_are_too_long_for_the_fast_form_is_built_the_slow_way(
    publish, in_cusco
):
    in_cusco()
    message = publish(event_en="A very long paragraph. " * 80)  # one line of 1,840 characters
    row = rows(message)[0]
    cache = emails.WireCache()
    assert cache.wire(message, "en").template is None
    _recipient, data = cache.email_bytes(row, message, "<id@example.gov>")
    parsed = email.message_from_bytes(data, policy=policy.default)
    assert str(row.token) in parsed.get_body(preferencelist=("plain",)).get_content()


def test_the_preview_has_links_that_act_for_nobody(publish):
    message = publish(kind="emergency")
    for language in ("en", "es"):
        preview = emails.message_preview(message=message, language=language)
        assert preview.to == []
        assert f"/{language}/lima/m/welfare/{emails.PREVIEW_TOKEN}/safe/" in preview.body
        assert not Delivery.objects.filter(token=emails.PREVIEW_TOKEN).exists()


# With a real SMTP conversation -------------------------------------------------------------


def test_one_connection_carries_the_whole_batch(publish, in_cusco, smtp):
    people = [in_cusco() for _ in range(5)]
    message = publish()
    opened = []
    original = Outbox.open

    def counting_open(self):
        if not self.opened:
            opened.append(self)
        original(self)

    Outbox.open = counting_open
    try:
        sending.batch_send(delivery_ids=ids(message))
    finally:
        Outbox.open = original
    assert len(opened) == 1
    assert smtp.counts() == {person.email: 1 for person in people}
    for row in rows(message):
        [data] = [data for rcpts, data in smtp.received if rcpts == [row.address]]
        assert f"Message-ID: {row.provider_id}".encode() in data


def test_temporary_and_permanent_refusals_are_recorded_with_their_reason(publish, in_cusco, smtp):
    busy, unknown, fine = in_cusco(), in_cusco(), in_cusco()
    smtp.answers[busy.email] = (450, "4.2.1 Mailbox busy, try later")
    smtp.answers[unknown.email] = (550, f"5.1.1 <{unknown.email}>: user unknown")
    message = publish()
    before = timezone.now()
    counts = sending.batch_send(delivery_ids=ids(message))
    assert dict(counts) == {"sent": 1, "retrying": 1, "failed": 1}
    by_address = {row.address: row for row in rows(message)}
    retry = by_address[busy.email]
    assert retry.status == DeliveryStatus.RETRYING
    assert retry.error == "SMTP 450: 4.2.1 Mailbox busy, try later"
    assert retry.next_attempt_at >= before + timedelta(seconds=60)
    failed = by_address[unknown.email]
    assert failed.status == DeliveryStatus.FAILED
    assert failed.error == "SMTP 550: 5.1.1 <address>: user unknown"  # no address kept
    assert by_address[fine.email].status == DeliveryStatus.SENT
    assert smtp.counts() == {fine.email: 1}


def test_a_refusal_at_the_end_of_the_message_is_never_marked_sent(publish, in_cusco, smtp):
    in_cusco()
    smtp.data_answer = "554 5.6.0 Message rejected"
    message = publish()
    sending.batch_send(delivery_ids=ids(message))
    [row] = rows(message)
    assert row.status == DeliveryStatus.FAILED and row.error.startswith("SMTP 554")
    assert row.sent_at is None and row.provider_id == ""


def test_an_unreachable_relay_leaves_every_row_to_retry(publish, in_cusco, settings):
    from tests.alerts.delivery.conftest import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens
    for _ in range(3):
        in_cusco()
    message = publish()
    sending.batch_send(delivery_ids=ids(message))
    assert {row.status for row in rows(message)} == {DeliveryStatus.RETRYING}
    assert all(row.attempts == 1 and row.error for row in rows(message))


def test_temporary_failures_back_off_then_give_up(publish, in_cusco, smtp, settings):
    person = in_cusco()
    smtp.answers[person.email] = (451, "4.7.1 Greylisted")
    message = publish()
    delays = []
    for attempt in range(1, 6):
        sending.batch_send(delivery_ids=ids(message))
        row = rows(message)[0]
        if row.status == DeliveryStatus.RETRYING:
            delays.append(services.retry_delay(row.attempts).total_seconds())
            Delivery.objects.filter(pk=row.pk).update(status=DeliveryStatus.QUEUED)
        assert row.attempts == attempt
    assert delays == [60, 120, 240, 480]
    assert row.status == DeliveryStatus.FAILED
    assert row.error.startswith("Gave up after 5 attempts: SMTP 451")
    assert services.retry_delay(20) == timedelta(seconds=1800)  # capped


# The order that makes "sent" true ------------------------------------------------------------


class Recorder:
    """A stand-in SMTP connection that records the conversation and, when the message and its
    final dot are written, what the database said about the row. ``answer_at_dot``: the
    server's answer to the dot, or None for a connection that breaks before it comes."""

    def __init__(
        self,
        row_pk: int,
        answer_at_dot: int | None = 250,
        pipelining: bool = False,
        answers: dict[str, int] | None = None,
    ) -> None:
        self.row_pk = row_pk
        self.answer_at_dot = answer_at_dot
        self.pipelining = pipelining
        self.answers = {"mail": 250, "rcpt": 250, "data": 354} | (answers or {})
        self.sent: list[bytes] = []
        self.status_at_dot: str | None = None
        self.closed = False
        self.at_first_dot: Callable[[], object] = lambda: None
        self.esmtp_features: dict = {}
        self.replies: list[int | None] = []

    def ehlo_or_helo_if_needed(self) -> None:
        pass

    def has_extn(self, name: str) -> bool:
        return name == "pipelining" and self.pipelining

    def putcmd(self, command: str, argument: str = "") -> None:
        self.replies.append(self.answers[command])

    def getreply(self):
        code = self.replies.pop(0)
        if code is None:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return code, b"ok"

    def send(self, data: bytes | str) -> None:
        if isinstance(data, str):  # pipelined commands: one answer per line
            for line in data.splitlines():
                self.replies.append(self.answers[line.split()[0].lower()])
            self.sent.append(data.encode())
            return
        if data.endswith(b"\r\n.\r\n"):
            if self.status_at_dot is None:  # the first message's end (no mark on its way)
                self.status_at_dot = Delivery.objects.get(pk=self.row_pk).status
                self.at_first_dot()
            self.replies.append(self.answer_at_dot)
        self.sent.append(data)

    def rset(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


class RecordingBackend:
    def __init__(self, recorder: Recorder) -> None:
        self.connection = recorder

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass


def recording_outbox(recorder: Recorder) -> Outbox:
    from django.core.mail.backends.smtp import EmailBackend

    outbox = Outbox(backend=EmailBackend())
    outbox.backend = RecordingBackend(recorder)
    outbox.opened = True
    return outbox


def test_the_row_is_marked_sent_only_after_the_server_accepted_it(publish, in_cusco):
    in_cusco()
    message = publish()
    [row] = rows(message)
    recorder = Recorder(row.pk)
    sending.batch_send(delivery_ids=[row.pk], outbox=recording_outbox(recorder))
    assert recorder.status_at_dot == DeliveryStatus.SENDING  # not yet SENT at the end
    row.refresh_from_db()
    assert row.status == DeliveryStatus.SENT and row.provider_id.startswith("<")
    assert not recorder.closed


def test_an_answer_lost_after_the_end_of_the_message_leaves_the_row_in_doubt(publish, in_cusco):
    """The connection breaks after the final dot: the message may have arrived. The row is not
    SENT; it will go out again, in doubt, with the same Message-ID."""
    in_cusco()
    message = publish()
    [row] = rows(message)
    recorder = Recorder(row.pk, answer_at_dot=None)
    counts = sending.batch_send(delivery_ids=[row.pk], outbox=recording_outbox(recorder))
    assert dict(counts) == {"retrying": 1}
    row.refresh_from_db()
    assert row.status == DeliveryStatus.RETRYING and row.in_doubt
    assert "may arrive twice" in row.error
    first_id = recorder.sent[-1].split(b"Message-ID: ")[1].split(b"\r\n")[0]
    # Its pause over, it goes out again carrying the Message-ID of the first attempt.
    Delivery.objects.filter(pk=row.pk).update(status=DeliveryStatus.QUEUED)
    again = Recorder(row.pk)
    sending.batch_send(delivery_ids=[row.pk], outbox=recording_outbox(again))
    assert again.sent[-1].split(b"Message-ID: ")[1].split(b"\r\n")[0] == first_id
    row.refresh_from_db()
    assert row.status == DeliveryStatus.SENT and row.provider_id == first_id.decode()


def test_a_worker_whose_claim_was_taken_back_stops_its_batch(publish, in_cusco):
    for _ in range(3):
        in_cusco()
    message = publish()
    recorder = Recorder(rows(message)[0].pk)
    # While the first message is on the wire, the sweeper decides this worker is dead and
    # gives its rows to another.
    recorder.at_first_dot = lambda: Delivery.objects.filter(message=message).update(
        claimed_by="another:2:y"
    )
    counts = sending.batch_send(delivery_ids=ids(message), outbox=recording_outbox(recorder))
    assert counts["lost"] >= 1
    # The worker learns it at the first message's mark (on PostgreSQL, whose marks do not
    # wait for their answer, one message later) and sends nothing more; the other worker
    # sends those again, with their Message-IDs.
    messages_sent = [data for data in recorder.sent if data.endswith(b"\r\n.\r\n")]
    assert 1 <= len(messages_sent) <= 2
    assert set(Delivery.objects.values_list("claimed_by", flat=True)) == {"another:2:y"}
    assert not Delivery.objects.filter(status=DeliveryStatus.SENT).exists()
    # What the server accepted from this worker will arrive twice: those rows, and only
    # those, are marked in doubt, for the progress page to count.
    accepted = {data.split(b"\r\nTo: ")[1].split(b"\r\n")[0].decode() for data in messages_sent}
    assert set(Delivery.objects.filter(in_doubt=True).values_list("address", flat=True)) == (
        accepted
    )


def test_reasons_name_the_code_and_hide_addresses():
    from acs.core.transport import reason_of

    refused = smtplib.SMTPRecipientsRefused({"a@b.org": (550, b"5.1.1 <a@b.org> unknown")})
    assert reason_of(refused) == (False, "SMTP 550: 5.1.1 <address> unknown")
    assert reason_of(smtplib.SMTPDataError(421, b"try later")) == (True, "SMTP 421: try later")
    temporary, reason = reason_of(ConnectionRefusedError(111, "Connection refused"))
    assert temporary and reason.startswith("ConnectionRefusedError")


def test_the_demo_writes_one_eml_file_per_email(publish, in_cusco, settings, tmp_path):
    settings.EMAIL_BACKEND = "acs.core.mail.EmlFileBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    in_cusco(), in_cusco()
    message = publish(kind="emergency")
    assert dict(sending.batch_send(delivery_ids=ids(message))) == {"sent": 2}
    files = sorted(tmp_path.glob("*.eml"))
    assert len(files) == 2
    parsed = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed["Message-ID"] in {row.provider_id for row in rows(message)}


def test_a_database_error_mid_batch_gives_the_rest_back_with_the_row_in_flight_in_doubt(
    publish, in_cusco, monkeypatch
):
    from django.db import OperationalError

    for _ in range(3):
        in_cusco()
    message = publish()
    first, second, third = rows(message)
    mark = services.SentMarks.mark

    def database_gone_at_the_second(marks, **kwargs):
        if kwargs["pk"] == second.pk:
            raise OperationalError("server closed the connection unexpectedly")
        return mark(marks, **kwargs)

    monkeypatch.setattr(services.SentMarks, "mark", database_gone_at_the_second)
    with pytest.raises(OperationalError):
        sending.batch_send(delivery_ids=ids(message))
    after = {row.pk: (row.status, row.in_doubt) for row in rows(message)}
    # The first was accepted and recorded; the second was accepted but not recorded: it goes
    # out again, in doubt, with its Message-ID; the third was never started.
    assert after == {
        first.pk: (DeliveryStatus.SENT, False),
        second.pk: (DeliveryStatus.QUEUED, True),
        third.pk: (DeliveryStatus.QUEUED, False),
    }
    monkeypatch.setattr(services.SentMarks, "mark", mark)
    assert dict(sending.batch_send(delivery_ids=ids(message))) == {"sent": 2}
    copies = [
        item.extra_headers["Message-ID"] for item in mail.outbox if item.to == [second.address]
    ]
    assert len(copies) == 2 and len(set(copies)) == 1


def test_a_relay_that_offers_pipelining_gets_the_envelope_in_one_write(publish, in_cusco):
    in_cusco()
    message = publish()
    [row] = rows(message)
    recorder = Recorder(row.pk, pipelining=True)
    sending.batch_send(delivery_ids=[row.pk], outbox=recording_outbox(recorder))
    envelope, body = recorder.sent
    assert envelope.startswith(b"MAIL FROM:<") and envelope.endswith(b"\r\nDATA\r\n")
    assert b"\r\nRCPT TO:<" + row.address.encode() + b">\r\n" in envelope
    assert body.endswith(b"\r\n.\r\n")
    row.refresh_from_db()
    assert row.status == DeliveryStatus.SENT


@pytest.mark.parametrize(
    ("answers", "status"),
    [({"rcpt": 550, "data": 554}, "failed"), ({"mail": 451, "rcpt": 503, "data": 503}, "retrying")],
)
def test_a_refusal_of_a_pipelined_envelope_sends_no_message(publish, in_cusco, answers, status):
    in_cusco()
    message = publish()
    [row] = rows(message)
    recorder = Recorder(row.pk, pipelining=True, answers=answers)
    sending.batch_send(delivery_ids=[row.pk], outbox=recording_outbox(recorder))
    assert len(recorder.sent) == 1  # the envelope; never the message
    row.refresh_from_db()
    assert row.status == status and row.error.startswith(
        "SMTP 5" if status == "failed" else "SMTP 4"
    )
