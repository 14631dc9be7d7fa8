"""Changes of state of delivery. The fan-out writes the rows (``deliveries_write_next``);
workers claim, send and record outcomes (see ``docs/delivery.md``)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import islice
from typing import NamedTuple

from django.db import OperationalError, connection, transaction
from django.db.models import F, Min, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from kombu.exceptions import KombuError

from acs.alerts.constants import (
    Channel,
    DeliveryStatus,
    MessageKind,
    MessageStatus,
    WelfareAnswer,
    knob,
)
from acs.alerts.models import Delivery, Message, WelfareResponse
from acs.core import clock
from acs.core.claims import REASON_LENGTH, retry_pause, row_failed, rows_take
from acs.core.queues import PUBLISH_ONCE, Queues, task_send
from acs.core.sweeping import Swept, rows_sweep
from acs.enrollment.constants import ON_BY_DEFAULT
from acs.enrollment.constants import Cadence as When
from acs.enrollment.models import Enrollee, MessagePreference, Phone
from acs.enrollment.selectors import enrollees_to_reach
from acs.posts.models import Region

logger = logging.getLogger(__name__)

INSERT_BATCH = 5000
_ACCOUNT_DELETED = _("The account was deleted before it was sent.")


def message_dates(message: Message) -> tuple[date, date]:
    """The first and last day (the post's calendar) on which the message is in effect."""
    post = message.post
    return clock.today(post, message.effective_from), clock.today(post, message.effective_until)


def message_region_ids(message: Message) -> list[int]:
    """The regions the message is about: those chosen, or the post's whole district, and for
    a network message the whole districts of its other posts too."""
    if message.whole_country:
        posts = [message.post_id, *message.network_posts.values_list("pk", flat=True)]
        return list(Region.objects.filter(post__in=posts).values_list("pk", flat=True))
    return list(message.regions.values_list("pk", flat=True))


def _reached(message: Message):
    starts, ends = message_dates(message)
    return enrollees_to_reach(
        post=message.post,
        region_ids=message_region_ids(message),
        starts=starts,
        ends=ends,
        kind=message.kind,
    )


def recipients_count(*, message: Message) -> int:
    """How many people the message would reach now (for the preview before sending)."""
    return _reached(message).count()


class _Row(NamedTuple):
    """What the decision to send sets on one row; the rest are the model's defaults."""

    enrollee_id: int
    channel: str
    address: str
    language: str
    status: str


def _rows_of(
    message: Message, people: list[tuple[int, str, str]], within: QuerySet | None = None
) -> Iterator[_Row]:
    """The rows of ``people`` (``(pk, email, language)``, in order). Email unless they
    switched email off for this kind; text message only where they asked for it and have a
    phone that takes texts. A person who chose the daily digest for this kind gets a row that
    the digest sends. ``within`` narrows the reading of choices and phones to these people
    (a chunk's range of ids); without it, the whole audience's are read."""
    if not people:
        return
    scope = {"enrollee__in": within if within is not None else _reached(message).values("pk")}
    default_on = message.kind in ON_BY_DEFAULT
    choices = {
        (enrollee_id, channel): (enabled, when)
        for enrollee_id, channel, enabled, when in MessagePreference.objects.filter(
            kind=message.kind, **scope
        ).values_list("enrollee_id", "channel", "enabled", "delivery")
    }
    texts = dict(
        Phone.objects.filter(sms_capable=True, **scope)
        .order_by("enrollee_id", "-id")
        .values_list("enrollee_id", "number")
    )
    email, sms = Channel.EMAIL.value, Channel.SMS.value
    queued, digest = DeliveryStatus.QUEUED.value, DeliveryStatus.DIGEST.value
    for pk, address_email, language in people:
        for channel, address in ((email, address_email), (sms, texts.get(pk))):
            choice = choices.get((pk, channel))
            # No choice made for this channel: email for the kinds everyone gets until they
            # say otherwise; never a text message.
            wanted = choice[0] if choice else (channel == email and default_on)
            if not (wanted and address):
                continue
            by_digest = choice is not None and choice[1] == When.DIGEST
            yield _Row(pk, channel, address, language, digest if by_digest else queued)


# The columns COPY fills; every other NOT NULL column is set in the INSERT to the model's
# default (attempts 0, empty claimed_by, provider_id and error, not in doubt; created_at now),
# the rest NULL.
_INCOMING_CREATE = (
    "CREATE TEMPORARY TABLE delivery_incoming (enrollee_id bigint NOT NULL, "
    "channel varchar(10) NOT NULL, address varchar(254) NOT NULL, "
    "language varchar(5) NOT NULL, status varchar(10) NOT NULL, token uuid NOT NULL) "
    "ON COMMIT DROP"
)
_INCOMING_COPY = (
    "COPY delivery_incoming (enrollee_id, channel, address, language, status, token) FROM STDIN"
)
_INCOMING_INSERT = (
    "INSERT INTO delivery_delivery (message_id, enrollee_id, channel, address, language, token, "
    "status, attempts, claimed_by, provider_id, error, in_doubt, created_at) "
    "SELECT %s, enrollee_id, channel, address, language, token, status, 0, '', '', '', "
    "false, %s "
    "FROM delivery_incoming ON CONFLICT (message_id, enrollee_id, channel) DO NOTHING"
)


def _deliveries_copy(message: Message, rows: Iterator[_Row]) -> None:
    """PostgreSQL: stream the rows with COPY into a temporary table, then one INSERT … SELECT
    that skips the rows already there (the constraint ``delivery_once_per_channel``).

    The people are read through a server-side cursor on the same connection, which cannot
    run a query while a COPY is open: so one COPY per ``INSERT_BATCH`` rows read."""
    connection.ensure_connection()
    with connection.wrap_database_errors, connection.connection.cursor() as cursor:
        cursor.execute(_INCOMING_CREATE)
        while batch := list(islice(rows, INSERT_BATCH)):
            with cursor.copy(_INCOMING_COPY) as copy:
                for row in batch:
                    copy.write_row((*row, uuid.uuid4()))
        cursor.execute(_INCOMING_INSERT, [message.pk, timezone.now()])
        # Dropped now rather than at the commit, so that a second call in the same
        # transaction can create it again.
        cursor.execute("DROP TABLE delivery_incoming")


def _deliveries_bulk_create(message: Message, rows: Iterator[_Row]) -> None:
    batch: list[Delivery] = []
    for row in rows:
        batch.append(Delivery(message=message, **row._asdict()))
        if len(batch) >= INSERT_BATCH:
            Delivery.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    if batch:
        Delivery.objects.bulk_create(batch, ignore_conflicts=True)


def _deliveries_write(message: Message, rows: Iterator[_Row]) -> None:
    if connection.vendor == "postgresql":
        _deliveries_copy(message, rows)
    else:
        _deliveries_bulk_create(message, rows)


# The staged fan-out (docs/delivery.md): publishing records the message, whose regions, kind
# and dates are the audience's definition, and returns; ``deliveries_write_next`` then writes
# the rows a chunk of people at a time, each chunk in a transaction of its own that also
# moves the message's cursor, and hands back the new rows' ids for the workers. The first
# chunk is small, so that the first email leaves within a second or two of publishing.

FIRST_CHUNK = 1_000
CHUNK = 20_000


@dataclass(frozen=True)
class Chunk:
    """What one step of the fan-out wrote: ``ids`` to hand to the workers, and where the
    next step starts (``None``: every row is written, or another step had taken over)."""

    ids: list[int]
    next_after: int | None


def deliveries_write_next(*, message_id: int, after: int, now: datetime | None = None) -> Chunk:
    """Write the rows of the next chunk of the message's audience: the people whose id is
    above ``after``. One transaction, with the message locked; a step whose ``after`` is no
    longer the message's cursor (a redelivered task, a second chain started by the sweeper)
    does nothing, so that each chunk is written by one step. Writing a chunk twice would add
    nothing anyway (the unique constraint on message, recipient and channel)."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        message = (
            Message.objects.select_for_update(of=("self",))
            .select_related("post")
            .filter(pk=message_id, fanout_cursor=after, fanout_done_at__isnull=True)
            .first()
        )
        if message is None:
            return Chunk([], None)
        size = FIRST_CHUNK if after == 0 else CHUNK
        people = list(
            _reached(message)
            .filter(pk__gt=after)
            .order_by("pk")
            .values_list("pk", "email", "language")[:size]
        )
        last = people[-1][0] if people else after
        within = Enrollee.objects.filter(pk__gt=after, pk__lte=last).values("pk")
        _deliveries_write(message, _rows_of(message, people, within))
        fresh = Delivery.objects.filter(
            message_id=message_id,
            enrollee_id__gt=after,
            enrollee_id__lte=last,
            status=DeliveryStatus.QUEUED,
            enqueued_at__isnull=True,
        )
        ids = list(fresh.order_by("pk").values_list("pk", flat=True))
        fresh.update(enqueued_at=now)
        done = len(people) < size
        Message.objects.filter(pk=message_id).update(
            fanout_cursor=last, fanout_at=now, fanout_done_at=now if done else None
        )
    return Chunk(ids, None if done else last)


def deliveries_write_all(*, message_id: int) -> int:
    """Run the message's fan-out to its end here, without handing anything to the workers
    (the rows are written and QUEUED): for tests and tools. Returns the message's rows."""
    after: int | None = Message.objects.values_list("fanout_cursor", flat=True).get(pk=message_id)
    while after is not None:
        after = deliveries_write_next(message_id=message_id, after=after).next_after
    return Delivery.objects.filter(message_id=message_id).count()


def fanout_start(*, message_id: int) -> bool:
    """Hand a just-published message's fan-out to the workers (``tasks.dispatch_message``,
    sent by name: tasks call services, not the other way round). Never raises for a broker
    that is down: the officer's publication stands, the message is marked for the sweeper,
    which starts the fan-out at its next run once the broker answers. Returns whether it was
    handed over."""
    try:
        task_send(
            "acs.alerts.tasks.dispatch_message",
            args=[message_id, 0],
            queue=Queues.DELIVERY,
            **PUBLISH_ONCE,
        )
    except (KombuError, OSError) as error:
        logger.error("broker unreachable; message %s left for the sweeper: %s", message_id, error)
        fanout_not_handed_over(message_id=message_id)
        return False
    return True


def fanout_not_handed_over(*, message_id: int) -> None:
    """The broker was down when the message was published: its fan-out is for the sweeper's
    next run (``fanouts_stalled``)."""
    Message.objects.filter(pk=message_id, fanout_done_at__isnull=True).update(fanout_at=None)


def fanouts_stalled(*, now: datetime | None = None) -> list[tuple[int, int]]:
    """``(message id, cursor)`` of published messages whose fan-out was never handed to the
    broker (it was down), or made no progress for longer than the claim timeout (its worker
    died, its task was lost): to start again where they stopped."""
    now = now or timezone.now()
    before = now - timedelta(seconds=knob("ACS_DELIVERY_CLAIM_TIMEOUT"))
    return list(
        Message.objects.filter(status=MessageStatus.PUBLISHED, fanout_done_at__isnull=True)
        .filter(Q(fanout_at__isnull=True) | Q(fanout_at__lt=before))
        .values_list("pk", "fanout_cursor")
    )


# Claims, outcomes and the sweeper (docs/delivery.md) ----------------------------------------
#
# A row moves QUEUED → SENDING (claimed by one worker) → SENT, or → RETRYING (a temporary
# failure; the sweeper makes it QUEUED again when its pause is over) or FAILED (permanent, or
# out of attempts). Every change is a conditional UPDATE on the state it expects, so two
# workers, a redelivered task or a sweeper running at the same time can never both act on a
# row: the one whose condition no longer holds changes nothing.


@dataclass(frozen=True)
class Claim:
    """Who holds a set of rows: ``worker`` is "host:pid:batch", unique to one claim, so that
    a worker can tell its claim from a later one on the same row."""

    worker: str
    at: datetime


def deliveries_claim(*, delivery_ids: list[int], worker: str, now: datetime | None = None) -> Claim:
    """Claim the rows of ``delivery_ids`` that are still QUEUED: SENDING, this worker's, one
    more attempt. Rows already sent, failed or held by another worker are left alone (a
    redelivered batch skips them). Rows whose account was deleted fail at once: the person
    asked for their data to be gone. The claimed rows are ``deliveries_claimed(claim)``."""
    now = now or timezone.now()
    claim = Claim(worker=worker, at=now)
    Delivery.objects.filter(
        pk__in=delivery_ids, status=DeliveryStatus.QUEUED, enrollee__isnull=True
    ).update(status=DeliveryStatus.FAILED, error=_ACCOUNT_DELETED)
    rows_take(
        Delivery.objects.filter(pk__in=delivery_ids, status=DeliveryStatus.QUEUED),
        len(delivery_ids),
        status=DeliveryStatus.SENDING,
        claimed_at=now,
        claimed_by=worker,
        attempts=F("attempts") + 1,
        error="",
    )
    return claim


def deliveries_claimed(claim: Claim) -> QuerySet[Delivery]:
    return Delivery.objects.filter(status=DeliveryStatus.SENDING, claimed_by=claim.worker)


_MARK_SENT = (
    "UPDATE %s SET status = %%s, sent_at = %%s, provider_id = %%s, error = '' "
    "WHERE id = %%s AND status = %%s AND claimed_by = %%s"
)


def delivery_sent(*, pk: int, claim: Claim, provider_id: str, now: datetime | None = None) -> bool:
    """Mark one row SENT if ``claim`` still holds it; False when it does not (send nothing).

    The hottest statement of a broadcast (once per email, while the SMTP server waits for
    the end of the message), so it is one UPDATE written out rather than an ORM query, whose
    building costs more than the database's work here; on PostgreSQL a prepared statement
    through psycopg itself (parsed and planned once per connection)."""
    sql = _MARK_SENT % connection.ops.quote_name(Delivery._meta.db_table)
    params = [
        DeliveryStatus.SENT.value,
        connection.ops.adapt_datetimefield_value(now or timezone.now()),
        provider_id[:255],
        pk,
        DeliveryStatus.SENDING.value,
        claim.worker,
    ]
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        with connection.wrap_database_errors, connection.connection.cursor() as cursor:
            cursor.execute(sql, params, prepare=True)
            return cursor.rowcount == 1
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount == 1


_MARK_STATEMENT = b"acs_delivery_mark_sent"
# ``_MARK_SENT`` with libpq's numbered parameters (the table and statuses written out).
_MARK_SENT_NUMBERED = (
    "UPDATE delivery_delivery SET status = 'sent', sent_at = $1, provider_id = $2, error = '' "
    "WHERE id = $3 AND status = 'sending' AND claimed_by = $4"
)
_COMMAND_OK = 1  # libpq's PGRES_COMMAND_OK (psycopg.pq.ExecStatus.COMMAND_OK)


class SentMarks:
    """The SENT marks of one batch, in the order the server accepted its emails.

    On PostgreSQL a mark does not wait for its answer: the UPDATE goes to the server, and the
    answer is read while the next email is on the wire (``settle``, before anything else uses
    the connection). The server commits the UPDATE whether or not this worker is alive to
    read the answer. But a server that ends the session first (a restart) never runs it:
    then two accepted emails are unconfirmed, and ``unconfirmed`` names both, so that the
    rows given back are marked in doubt (``deliveries_release``). A claim found lost is known
    one email later, so a slow worker whose claim the sweeper took back sends one more email
    that the other worker sends again (with the same Message-ID); ``refused`` names the rows
    the server accepted whose marks found the claim gone, so that they are marked in doubt
    (``deliveries_doubt``). Elsewhere (SQLite) each mark waits."""

    def __init__(self, claim: Claim) -> None:
        self.claim = claim
        self.deferred = connection.vendor == "postgresql"
        self.accepted: int | None = None  # accepted by the server, its mark not yet sent
        self.waiting: int | None = None  # its mark sent, the answer not yet read
        self.refused: list[int] = []  # accepted, but the claim no longer held them

    @property
    def unconfirmed(self) -> list[int]:
        """Rows the server accepted whose SENT mark is not confirmed."""
        return [pk for pk in (self.waiting, self.accepted) if pk is not None]

    def mark(self, *, pk: int, provider_id: str) -> bool:
        """Mark row ``pk`` SENT. False when the claim no longer held a row (this one, or the
        one before it whose answer is read now): the caller stops its batch."""
        self.accepted = pk
        if not self.deferred:
            held = delivery_sent(pk=pk, claim=self.claim, provider_id=provider_id)
            self.accepted = None
            if not held:
                self.refused.append(pk)
            return held
        held = self.settle()
        pgconn = self._pgconn()
        params = [
            timezone.now().isoformat().encode(),
            provider_id[:255].encode(),
            str(pk).encode(),
            self.claim.worker.encode(),
        ]
        with connection.wrap_database_errors:
            pgconn.send_query_prepared(_MARK_STATEMENT, params)
        self.waiting, self.accepted = pk, None
        return held

    def settle(self) -> bool:
        """Read the answer of the mark on its way, if there is one. False when its row was
        no longer this claim's. Raises ``OperationalError`` when the connection broke."""
        if self.waiting is None:
            return True
        pgconn = connection.connection.pgconn
        with connection.wrap_database_errors:
            result = pgconn.get_result()
            while (extra := pgconn.get_result()) is not None:  # until the query's end
                result = result or extra
        if result is None or result.status != _COMMAND_OK:
            message = result.error_message.decode(errors="replace") if result else "no answer"
            raise OperationalError(f"marking a delivery sent: {message}")
        held = int(result.command_tuples or 0) == 1
        if not held:
            self.refused.append(self.waiting)
        self.waiting = None
        return held

    def _pgconn(self):
        """The connection's libpq handle, with the mark's statement prepared on it once."""
        connection.ensure_connection()
        pgconn = connection.connection.pgconn
        if getattr(connection, "_acs_marks_prepared_on", None) is not pgconn:
            with connection.wrap_database_errors:
                result = pgconn.prepare(_MARK_STATEMENT, _MARK_SENT_NUMBERED.encode())
            if result.status != _COMMAND_OK:
                raise OperationalError(result.error_message.decode(errors="replace"))
            connection._acs_marks_prepared_on = pgconn
        return pgconn


def retry_delay(attempts: int) -> timedelta:
    """The pause before the next try after ``attempts`` tries: exponential, capped."""
    return retry_pause(attempts, knobs="ACS_DELIVERY")


def delivery_failed(
    *,
    pk: int,
    claim: Claim,
    reason: str,
    temporary: bool,
    doubt: bool = False,
    now: datetime | None = None,
) -> str:
    """Record a failed try of one row this claim holds: RETRYING after a pause, or FAILED
    when permanent or out of attempts (``core.claims.row_failed``, the rule both outboxes
    keep). ``doubt``: the whole message had gone out when the error came, so it may have
    arrived (the row is marked in doubt; it goes out again with the same Message-ID).
    Returns the status written ("" when the claim no longer held it)."""
    status, _changed = row_failed(
        Delivery.objects.filter(pk=pk, status=DeliveryStatus.SENDING, claimed_by=claim.worker),
        statuses=DeliveryStatus,
        knobs="ACS_DELIVERY",
        reason=reason,
        temporary=temporary,
        now=now or timezone.now(),
        **({"in_doubt": True} if doubt else {}),
    )
    return status


def deliveries_release(
    *, claim: Claim, unconfirmed: Sequence[int] = (), now: datetime | None = None
) -> int:
    """A live worker gives back what is left of its claim (its database connection broke
    mid-batch): QUEUED again, the row it was on marked in doubt, as the sweeper does for a
    dead worker's, and so are the ``unconfirmed`` rows (accepted by the server, their SENT
    mark lost with the connection), even those the sweeper took back meanwhile. Returns the
    rows given back."""
    now = now or timezone.now()
    with transaction.atomic():
        held = deliveries_claimed(claim)
        _mark_in_doubt(held)
        if unconfirmed:
            # Whoever holds them now: while this worker waited for the database to come
            # back, the sweeper may have taken its claim back (marking only the first row in
            # doubt, all it can know), and another worker may have sent them again already.
            # Only a row whose SENT mark from this claim did reach the server went out once.
            Delivery.objects.filter(pk__in=unconfirmed).exclude(
                status=DeliveryStatus.SENT, claimed_by=claim.worker
            ).update(in_doubt=True)
        return held.update(
            status=DeliveryStatus.QUEUED,
            claimed_by="",
            enqueued_at=now,
            error=_("The database connection broke while it was being sent; sent again."),
        )


def deliveries_doubt(pks: list[int]) -> int:
    """Mark these rows in doubt, whoever holds them now: the server accepted them from a
    worker whose claim had been taken back, so the worker that has them now sends them again
    (a duplicate, with the same Message-ID), and the progress page counts them."""
    return Delivery.objects.filter(pk__in=pks).update(in_doubt=True) if pks else 0


def _mark_in_doubt(stuck: QuerySet[Delivery]) -> int:
    """Of each dead worker's claim, mark the row it may have been sending when it died.

    A worker sends its rows in one order (email before text, then by id) and marks each SENT
    as soon as the server accepts it; so of a dead claim's rows still SENDING, all but the
    first were never started, and the first may have reached the server without being
    marked (or may not have been started either: no way to tell without another write per
    email). That one is *in doubt*: it goes out again like the others, with the same
    Message-ID, and the progress page counts it. Returns the rows marked."""
    first = (
        stuck.values("claimed_by")
        .annotate(first=Min("pk", filter=Q(channel=Channel.EMAIL)), first_any=Min("pk"))
        .values_list("first", "first_any")
    )
    ids = [email or any_row for email, any_row in first]
    return Delivery.objects.filter(pk__in=ids).update(in_doubt=True) if ids else 0


def _lost(queued: QuerySet[Delivery], before: datetime) -> QuerySet[Delivery]:
    """Handed to the broker before ``before``; a row written but never handed over counts
    from when it was written."""
    return queued.annotate(handed=Coalesce("enqueued_at", "created_at")).filter(handed__lt=before)


def deliveries_sweep(*, now: datetime | None = None, limit: int = 50_000) -> Swept:
    """Hand back what got stuck; the caller enqueues ``Swept.ids``. Safe to run anywhere, any
    number of times: each step is a conditional update of the rows it moves (the steps are
    ``core.sweeping.rows_sweep``, shared with the transactional emails' outbox).

    - SENDING claimed longer ago than ``ACS_DELIVERY_CLAIM_TIMEOUT``: the worker died (a
      live one finishes a batch well within it). Nothing of theirs reached a server without
      being marked SENT (see ``transport``), so they are QUEUED again; those already tried
      ``ACS_DELIVERY_MAX_ATTEMPTS`` times FAIL instead (a message that kills workers). The
      first row of each claim given back is marked in doubt first (``_mark_in_doubt``).
    - RETRYING whose ``next_attempt_at`` has come: QUEUED again.
    - QUEUED and handed to the broker longer ago than ``ACS_DELIVERY_REQUEUE_AFTER``: its
      Celery message was lost; handed over once more (a duplicate message finds the row
      claimed and does nothing).
    """
    return rows_sweep(
        rows=Delivery.objects.all(),
        statuses=DeliveryStatus,
        knobs="ACS_DELIVERY",
        lost=_lost,
        before_requeue=_mark_in_doubt,
        now=now,
        limit=limit,
    )


# The daily digest -----------------------------------------------------------------------------
# A digest row stays DIGEST until its digest is sent; while a worker builds and sends it, the
# worker's claim is on the row (claimed_by, claimed_at), and a claim older than the timeout
# is free to take again by the next run.


def _digest_waiting(now: datetime) -> QuerySet[Delivery]:
    stale_before = now - timedelta(seconds=knob("ACS_DELIVERY_CLAIM_TIMEOUT"))
    return Delivery.objects.filter(status=DeliveryStatus.DIGEST).filter(
        Q(claimed_at__isnull=True) | Q(claimed_at__lt=stale_before)
    )


def digest_recipients(*, now: datetime | None = None) -> list[tuple[int, str]]:
    """``(enrollee id, channel)`` of everyone with messages waiting for their digest. Rows
    whose account was deleted fail (nobody to send them to)."""
    now = now or timezone.now()
    Delivery.objects.filter(status=DeliveryStatus.DIGEST, enrollee__isnull=True).update(
        status=DeliveryStatus.FAILED, error=_ACCOUNT_DELETED
    )
    return list(
        _digest_waiting(now)
        .order_by("enrollee_id", "channel")
        .values_list("enrollee_id", "channel")
        .distinct()
    )


def digest_claim(
    *, enrollee_id: int, channel: str, worker: str, now: datetime | None = None
) -> Claim:
    """Claim the person's waiting digest rows of ``channel`` (``digest_claimed(claim)``)."""
    now = now or timezone.now()
    rows_take(
        _digest_waiting(now).filter(enrollee_id=enrollee_id, channel=channel),
        10_000,
        claimed_at=now,
        claimed_by=worker,
        attempts=F("attempts") + 1,
    )
    return Claim(worker=worker, at=now)


def digest_claimed(claim: Claim) -> QuerySet[Delivery]:
    return Delivery.objects.filter(status=DeliveryStatus.DIGEST, claimed_by=claim.worker)


def digest_sent(*, claim: Claim, provider_id: str, now: datetime | None = None) -> bool:
    """All of the claim's digest rows SENT at once, with the digest's one Message-ID."""
    return bool(
        digest_claimed(claim).update(
            status=DeliveryStatus.SENT,
            sent_at=now or timezone.now(),
            provider_id=provider_id[:255],
            error="",
        )
    )


def digest_failed(*, claim: Claim, reason: str, temporary: bool) -> int:
    """A digest that was not accepted: its rows wait for the next run (temporary, within the
    attempts), or FAIL."""
    rows = Delivery.objects.filter(
        status__in=[DeliveryStatus.DIGEST, DeliveryStatus.SENT], claimed_by=claim.worker
    )
    if temporary:
        waiting = rows.filter(attempts__lt=knob("ACS_DELIVERY_MAX_ATTEMPTS"))
        count = waiting.update(
            status=DeliveryStatus.DIGEST,
            claimed_at=None,
            claimed_by="",
            sent_at=None,
            provider_id="",
            error=reason[:REASON_LENGTH],
        )
        # The rows given back no longer carry this claim: what is left is out of attempts.
        return count + rows.update(status=DeliveryStatus.FAILED, error=reason[:REASON_LENGTH])
    return rows.update(status=DeliveryStatus.FAILED, error=reason[:REASON_LENGTH])


# The citizen's links: unsubscribe, welfare -----------------------------------------------


def delivery_by_token(token: uuid.UUID | str) -> Delivery | None:
    """The row a personal link names, with its message and post; None if there is none."""
    return Delivery.objects.select_related("message__post").filter(token=token).first()


def unsubscribe_kinds(delivery: Delivery) -> list[str]:
    """The kinds an unsubscribe link of ``delivery`` turns off: its message's kind, or for a
    digest (rows sent in one email share its Message-ID) every kind that email carried."""
    if not delivery.provider_id or delivery.enrollee_id is None:
        return [delivery.message.kind]
    kinds = (
        Delivery.objects.filter(
            enrollee_id=delivery.enrollee_id,
            channel=delivery.channel,
            provider_id=delivery.provider_id,
        )
        .values_list("message__kind", flat=True)
        .distinct()
    )
    return sorted(set(kinds) | {delivery.message.kind})


def delivery_unsubscribe(*, delivery: Delivery) -> list[str]:
    """The person no longer receives the kinds of this delivery's email (or text) on its
    channel: their preference for each is set to off, keeping whether they took it at once
    or in the digest. Their other channels and kinds are untouched. Returns the kinds;
    empty when the account was deleted. Repeating it changes nothing."""
    if delivery.enrollee_id is None:
        return []
    kinds = unsubscribe_kinds(delivery)
    with transaction.atomic(durable=True):
        for kind in kinds:
            when = (
                MessagePreference.objects.filter(enrollee_id=delivery.enrollee_id, kind=kind)
                .values_list("delivery", flat=True)
                .first()
            )
            MessagePreference.objects.update_or_create(
                enrollee_id=delivery.enrollee_id,
                kind=kind,
                channel=delivery.channel,
                defaults={"enabled": False},
                create_defaults={"enabled": False, "delivery": when or When.IMMEDIATE},
            )
    return kinds


class WelfareRefused(Exception):
    """This delivery takes no welfare answer (not an emergency message)."""

    code = "not_emergency"


def welfare_answer(*, delivery: Delivery, answer: str, now: datetime | None = None) -> None:
    """Record the person's answer to an emergency message: safe, or needs help. A second
    answer replaces the first (the latest is what the officer sees).

    One statement, ``INSERT … ON CONFLICT (delivery) DO UPDATE``: when thousands answer at
    once, and one person taps twice, the two answers cannot both insert (which would fail on
    the unique delivery) and nothing is read first."""
    if delivery.message.kind != MessageKind.EMERGENCY:
        raise WelfareRefused(delivery.pk)
    answer = WelfareAnswer(answer)
    WelfareResponse.objects.bulk_create(
        [WelfareResponse(delivery=delivery, answer=answer, answered_at=now or timezone.now())],
        update_conflicts=True,
        unique_fields=["delivery"],
        update_fields=["answer", "answered_at"],
    )
