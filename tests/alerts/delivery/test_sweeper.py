"""The sweeper: claims of dead workers, retries that are due, Celery messages that were lost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from acs.alerts import tasks
from acs.alerts.constants import DeliveryStatus, knob
from acs.alerts.models import Delivery
from acs.alerts.services import outbox as services
from acs.core.queues import Queues

pytestmark = pytest.mark.django_db


@pytest.fixture
def five(publish, in_cusco) -> list[Delivery]:
    for _ in range(5):
        in_cusco()
    message = publish()
    return list(Delivery.objects.filter(message=message).order_by("pk"))


def set_row(row: Delivery, **fields) -> None:
    Delivery.objects.filter(pk=row.pk).update(**fields)


def test_it_hands_back_what_is_stuck_and_leaves_the_rest(five):
    now = timezone.now()
    timeout = timedelta(seconds=knob("ACS_DELIVERY_CLAIM_TIMEOUT"))
    dead, alive, due, not_due, lost = five
    set_row(dead, status=DeliveryStatus.SENDING, claimed_by="w:1:a", claimed_at=now - timeout * 2)
    set_row(alive, status=DeliveryStatus.SENDING, claimed_by="w:2:b", claimed_at=now)
    set_row(due, status=DeliveryStatus.RETRYING, next_attempt_at=now - timedelta(seconds=1))
    set_row(not_due, status=DeliveryStatus.RETRYING, next_attempt_at=now + timedelta(hours=1))
    set_row(lost, created_at=now - timedelta(hours=1))  # QUEUED an hour ago, never taken

    swept = services.deliveries_sweep(now=now)

    assert (swept.stale, swept.due, swept.lost) == ([dead.pk], [due.pk], [lost.pk])
    statuses = dict(Delivery.objects.values_list("pk", "status"))
    assert statuses == {
        dead.pk: DeliveryStatus.QUEUED,
        alive.pk: DeliveryStatus.SENDING,
        due.pk: DeliveryStatus.QUEUED,
        not_due.pk: DeliveryStatus.RETRYING,
        lost.pk: DeliveryStatus.QUEUED,
    }
    assert Delivery.objects.get(pk=dead.pk).claimed_by == ""
    # Swept again at once: everything just handed back is fresh, nothing moves.
    assert services.deliveries_sweep(now=now).ids == []


def test_a_row_that_killed_its_worker_on_every_attempt_fails(five):
    now = timezone.now()
    row = five[0]
    set_row(
        row,
        status=DeliveryStatus.SENDING,
        claimed_by="w:1:a",
        claimed_at=now - timedelta(hours=1),
        attempts=knob("ACS_DELIVERY_MAX_ATTEMPTS"),
    )
    swept = services.deliveries_sweep(now=now)
    assert swept.abandoned == 1 and swept.ids == []
    assert Delivery.objects.get(pk=row.pk).status == DeliveryStatus.FAILED


def test_the_periodic_task_sends_what_it_hands_back(five, monkeypatch):
    queued = []
    original = tasks.send_batch.apply_async

    def record(*, args, queue, **options):
        queued.append((args[0], queue))
        return original(args=args, queue=queue, **options)

    monkeypatch.setattr(tasks.send_batch, "apply_async", record)
    long_ago = timezone.now() - timedelta(hours=1)
    for row in five[:2]:
        set_row(row, status=DeliveryStatus.SENDING, claimed_by="dead:1:a", claimed_at=long_ago)
    counts = tasks.sweep()
    assert counts == {"stale": 2, "due": 0, "lost": 0, "abandoned": 0}
    assert queued == [([five[0].pk, five[1].pk], Queues.DELIVERY)]
    assert len(mail.outbox) == 2
    sent = Delivery.objects.filter(pk__in=[five[0].pk, five[1].pk], status=DeliveryStatus.SENT)
    assert sent.count() == 2


def test_the_fan_out_queues_batches_of_the_configured_size(five, settings, monkeypatch):
    settings.ACS_DELIVERY_BATCH_SIZE = 2
    queued = []
    monkeypatch.setattr(
        tasks.send_batch, "apply_async", lambda *, args, queue: queued.append((args[0], queue))
    )
    message_id = five[0].message_id
    assert tasks.dispatch_message(message_id) == 3
    pks = [row.pk for row in five]
    assert queued == [
        (pks[0:2], Queues.DELIVERY),
        (pks[2:4], Queues.DELIVERY),
        (pks[4:5], Queues.DELIVERY),
    ]


def test_the_tasks_acknowledge_late_and_are_redelivered_if_their_worker_dies():
    for task in (tasks.dispatch_message, tasks.send_batch, tasks.sweep, tasks.send_digest):
        assert task.acks_late is True, task.name
        assert task.reject_on_worker_lost is True, task.name
