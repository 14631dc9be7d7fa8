"""Two workers never send one outgoing email: eight workers at once, each handed every one of
forty rows (as duplicated and redelivered Celery messages would), send each exactly once.

The claim is a conditional update under ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite's
IMMEDIATE transaction serializes it). The control swaps it for a naive read-then-write claim
with a pause in between, and shows the duplicates it would send.
"""

from __future__ import annotations

import random
from collections import Counter
from time import sleep

import pytest
from django.core import mail
from django.core.mail import EmailMessage
from django.db import OperationalError
from django.db.models import F

from acs.core.constants import EmailStatus
from acs.core.models import OutgoingEmail
from acs.core.outbox import registry, sending, services
from acs.core.outbox.services import NewEmail, rows_create
from tests.concurrency.conftest import in_threads

WORKERS = 8
ROWS = 40
KIND = "tests.race-note"
WINDOW_SECONDS = 0.02


def _note(*, number: int) -> EmailMessage:
    return EmailMessage(subject=f"Race {number}", body="Hello", to=["ana@example.org"])


registry.kinds_register({KIND: _note})


@pytest.fixture
def rows(db) -> list[int]:
    return rows_create(
        emails=[NewEmail(KIND, "ana@example.org", "en", {"number": n}) for n in range(ROWS)]
    )


def every_worker_sends_every_row(ids: list[int]) -> list[object]:
    def work(number: int) -> list[str]:
        mine = list(ids)
        random.Random(number).shuffle(mine)  # noqa: S311 — an order, not a secret
        outcomes = []
        for pk in mine:
            for _try in range(20):  # SQLite: a busy database is tried again, as Celery would
                try:
                    outcomes.append(sending.email_send(email_id=pk))
                    break
                except OperationalError:
                    sleep(0.01)
        return outcomes

    return in_threads(work, WORKERS)


def sent_per_message_id() -> Counter[str]:
    return Counter(message.extra_headers["Message-ID"] for message in mail.outbox)


@pytest.mark.django_db(transaction=True)
def test_eight_workers_on_the_same_rows_send_each_once(rows):
    results = every_worker_sends_every_row(rows)

    assert all(isinstance(result, list) for result in results), results
    outcomes = Counter(outcome for result in results for outcome in result)
    assert outcomes["sent"] == ROWS
    assert set(OutgoingEmail.objects.values_list("status", flat=True)) == {EmailStatus.SENT}
    per_id = sent_per_message_id()
    assert len(per_id) == ROWS and set(per_id.values()) == {1}, per_id


@pytest.mark.django_db(transaction=True)
def test_control_a_naive_claim_sends_duplicates(rows, monkeypatch):
    def naive_claim(*, email_id, worker, now=None):
        # Read, then write without re-checking: two workers both see QUEUED.
        if OutgoingEmail.objects.get(pk=email_id).status != EmailStatus.QUEUED:
            return None
        sleep(WINDOW_SECONDS)
        OutgoingEmail.objects.filter(pk=email_id).update(
            status=EmailStatus.SENDING, claimed_by=worker, attempts=F("attempts") + 1
        )
        return OutgoingEmail.objects.get(pk=email_id)

    monkeypatch.setattr(services, "email_claim", naive_claim)
    every_worker_sends_every_row(rows)

    duplicates = {key: count for key, count in sent_per_message_id().items() if count > 1}
    assert duplicates, "the race did not happen: the control proves nothing"
