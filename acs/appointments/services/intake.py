"""Writing round requests at a round's busiest moment: the requests that threads of one
process are taking at the same time are written in one transaction (a group commit).

Why: each request was its own transaction of six round trips (the "already booked" check,
BEGIN, three INSERTs, COMMIT), half of the request's CPU in the web process and most of
PostgreSQL's. Written together, k requests cost those six round trips once.

How, with no thread of its own and no added wait: a thread with a request to write puts it
in the queue. If no write is under way, that thread leads: it takes everything queued
(its own request included) and writes it. Requests that arrive meanwhile wait in the queue;
when the write ends, the leader hands the lead to the first of them, which writes them all.
So under no load a request is written alone, at once, exactly as before; under load the
batches grow by themselves to what arrives during one write. A request waits for its own
commit before it is answered: nothing is acknowledged that is not stored.

Each request keeps its own outcome: one whose person already holds a booking for the
service is refused alone (``RoundError``), and the others of its batch are written. If the
write itself fails (the database is down), every request of the batch gets that error.

A caller already inside a transaction (a test, a management command) has its request
written there, alone, so that it commits or rolls back with the caller's work.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from acs.appointments.models import BookingPerson, Round, RoundRequest, RoundRequestPerson
from acs.appointments.services.booking import PersonData, normalize_passport
from acs.appointments.services.mail import round_emails_queue
from acs.core.rows import rows_insert

# The most requests one transaction writes; a bigger queue is written in several.
BATCH_MOST = 100
BOOKING_PEOPLE = connection.ops.quote_name(BookingPerson._meta.db_table)


class AlreadyBooked(Exception):
    """One of the request's people holds an active booking for the round's service."""


@dataclass(eq=False)
class Pending:
    """A request waiting to be written, and once written its row or its error."""

    round_: Round
    people: list[PersonData]
    keys: list[str]
    email: str
    phone: str
    language: str
    choices: list[str]
    wake: threading.Event = field(default_factory=threading.Event)
    lead: bool = False
    done: bool = False
    written: RoundRequest | None = None
    error: BaseException | None = None


class _Intake:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.queue: list[Pending] = []
        self.writing = False

    def write(self, pending: Pending) -> RoundRequest:
        """Write ``pending`` (with whatever else is queued) and return its row, or raise
        its error."""
        if connection.in_atomic_block:
            _write_batch([pending])
        else:
            with self.lock:
                self.queue.append(pending)
                pending.lead = not self.writing
                self.writing = True
            while not pending.done:
                if pending.lead:
                    self._lead()
                else:
                    pending.wake.wait()
                    pending.wake.clear()
        if pending.error is not None or pending.written is None:
            raise pending.error or RuntimeError("request not written")
        return pending.written

    def _lead(self) -> None:
        with self.lock:
            batch, self.queue = self.queue[:BATCH_MOST], self.queue[BATCH_MOST:]
        try:
            _write_batch(batch)
        finally:
            with self.lock:
                if self.queue:
                    following = self.queue[0]
                    following.lead = True
                    following.wake.set()
                else:
                    self.writing = False
            for pending in batch:
                pending.lead = False
                pending.wake.set()


_intake = _Intake()


def request_write(pending: Pending) -> RoundRequest:
    """Store ``pending`` unconfirmed with its people and its confirmation email, in a
    transaction shared with the requests this process takes at the same moment."""
    return _intake.write(pending)


def _write_batch(batch: list[Pending]) -> None:
    """Write every request of ``batch`` that may be written; set each one's outcome. Never
    raises: an error of the whole write becomes every request's error."""
    try:
        with transaction.atomic():
            kept = _not_booked(batch)
            _rows_create(kept)
    except Exception as error:  # handed to each request of the batch, raised in its thread
        for pending in batch:
            if pending.error is None:
                pending.error = error
                pending.written = None
    for pending in batch:
        pending.done = True


def _not_booked(batch: list[Pending]) -> list[Pending]:
    """The requests none of whose people holds an active booking for the service; the
    others get ``AlreadyBooked``. One query for the whole batch."""
    keys = sorted({key for pending in batch for key in pending.keys})
    with connection.cursor() as cursor:
        # The ORM's own query, written out: building it cost more than running it.
        cursor.execute(
            f"SELECT service_id, identity_key FROM {BOOKING_PEOPLE} "  # noqa: S608 — a table name  # nosec B608
            f"WHERE active AND identity_key IN ({', '.join(['%s'] * len(keys))})",
            keys,
        )
        booked = set(cursor.fetchall())
    kept = []
    for pending in batch:
        service_id = pending.round_.service_id
        if any((service_id, key) in booked for key in pending.keys):
            pending.error = AlreadyBooked()
        else:
            kept.append(pending)
    return kept


def _rows_create(batch: list[Pending]) -> None:
    """The requests, their people and their confirmation emails: three INSERTs for the
    whole batch (``rows_insert``)."""
    if not batch:
        return
    requests = [
        RoundRequest(
            round=pending.round_,
            email=pending.email,
            phone=pending.phone,
            language=pending.language,
            people_count=len(pending.people),
            choices=pending.choices,
            created_at=timezone.now(),
        )
        for pending in batch
    ]
    ids = rows_insert(RoundRequest, [_columns(request, REQUEST_FIELDS) for request in requests])
    for request, pk in zip(requests, ids, strict=True):
        request.pk = pk
    rows_insert(
        RoundRequestPerson,
        [
            {
                "request_id": request.pk,
                "round_id": request.round_id,
                "full_name": person.full_name.strip(),
                "date_of_birth": person.date_of_birth,
                "passport_number": normalize_passport(person.passport_number),
                "identity_key": key,
            }
            for pending, request in zip(batch, requests, strict=True)
            for person, key in zip(pending.people, pending.keys, strict=True)
        ],
    )
    round_emails_queue(requests=requests, kind="confirm")
    for pending, request in zip(batch, requests, strict=True):
        pending.written = request


REQUEST_FIELDS = [
    field.attname for field in RoundRequest._meta.concrete_fields if not field.primary_key
]


def _columns(request: RoundRequest, names: list[str]) -> dict:
    return {name: getattr(request, name) for name in names}
