"""Emails committed by a web process go to the broker in batches (acs/core/outbox/queue.py,
``ACS_MAIL_HANDOVER_SECONDS``): one message per interval from a thread of the process, one
``email_send`` per row from the worker; a broker that refuses leaves the rows for the sweeper."""

from __future__ import annotations

import threading

import pytest
from kombu.exceptions import OperationalError

from acs.celery import app
from acs.core import tasks
from acs.core.models import OutgoingEmail
from acs.core.outbox import queue as outbox_queue
from acs.core.outbox.queue import _Batcher, email_queue


@pytest.fixture
def published_not_inline():
    """Tasks go to the broker, as deployed, rather than run in the test."""
    saved = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = saved


@pytest.fixture
def batches(settings, monkeypatch, published_not_inline):
    """Batches on (as deployed), tasks published rather than run inline; what would have
    gone to the broker is recorded."""
    settings.ACS_MAIL_HANDOVER_SECONDS = 0.05
    sent: list[tuple[str, list]] = []
    published = threading.Event()

    def record(name, *, args, queue, **options):
        sent.append((name, args))
        published.set()

    monkeypatch.setattr(outbox_queue, "task_send", record)
    return sent, published


def test_commits_of_one_interval_are_one_message(batches):
    sent, published = batches
    batcher = _Batcher()
    batcher.submit([1, 2])
    batcher.submit([3])
    assert sent == []  # the requests returned without publishing
    assert published.wait(timeout=5)
    assert sent == [("acs.core.tasks.emails_dispatch", [[1, 2, 3]])]


@pytest.mark.django_db
def test_a_booking_commit_leaves_its_email_to_the_batch(batches, monkeypatch):
    sent, _published = batches
    submitted = []
    monkeypatch.setattr(outbox_queue._batcher, "submit", submitted.append)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("django.db.transaction.on_commit", lambda callback: callback())
        pk = email_queue(kind="tests.note", to="ana@example.org", language="en", arguments={})
    assert submitted == [[pk]] and sent == []


@pytest.mark.django_db
def test_a_broker_that_refuses_a_batch_leaves_its_rows_for_the_sweeper(
    batches, monkeypatch, caplog
):
    def refuse(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    monkeypatch.setattr(outbox_queue, "task_send", refuse)
    ids = [
        email_queue(kind="tests.note", to="ana@example.org", language="en", arguments={"n": n})
        for n in range(2)
    ]
    batcher = _Batcher()
    batcher.ids = list(ids)
    assert batcher.flush() == 0
    assert not OutgoingEmail.objects.filter(pk__in=ids, enqueued_at__isnull=False).exists()
    assert "broker unreachable, 2 email(s) left for the sweeper" in caplog.text


@pytest.mark.django_db
def test_the_worker_queues_one_send_per_row(monkeypatch):
    queued = []
    monkeypatch.setattr(
        tasks.email_send, "apply_async", lambda *, args, queue, **options: queued.append(args)
    )
    assert tasks.emails_dispatch([7, 8, 9]) == 3
    assert queued == [[7], [8], [9]]


def test_eager_tasks_hand_over_in_the_request(settings, monkeypatch):
    handed = []
    monkeypatch.setattr(outbox_queue, "emails_hand_over", handed.append)
    settings.ACS_MAIL_HANDOVER_SECONDS = 0.05
    assert app.conf.task_always_eager  # as in every test
    _Batcher().submit([4])
    assert handed == [[4]]


def test_zero_seconds_hands_over_in_the_request(settings, monkeypatch, published_not_inline):
    handed = []
    monkeypatch.setattr(outbox_queue, "emails_hand_over", handed.append)
    settings.ACS_MAIL_HANDOVER_SECONDS = 0
    _Batcher().submit([5])
    assert handed == [[5]]
