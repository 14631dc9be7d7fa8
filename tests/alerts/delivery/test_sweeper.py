"""The sweeper: claims of dead workers, retries that are due, Celery messages that were lost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from acs.alerts import tasks
from acs.alerts.constants import DeliveryStatus, knob
from acs.alerts.models import Delivery, Message
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
    an_hour_ago = now - timedelta(hours=1)
    set_row(lost, created_at=an_hour_ago, enqueued_at=an_hour_ago)  # queued, never taken

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
    assert counts == {"stale": 2, "due": 0, "lost": 0, "abandoned": 0, "fanouts": 0}
    assert queued == [([five[0].pk, five[1].pk], Queues.DELIVERY)]
    assert len(mail.outbox) == 2
    sent = Delivery.objects.filter(pk__in=[five[0].pk, five[1].pk], status=DeliveryStatus.SENT)
    assert sent.count() == 2


def not_yet_fanned_out(message_id: int) -> None:
    """Back to the moment of publishing: no row written yet."""
    Delivery.objects.filter(message_id=message_id).delete()
    Message.objects.filter(pk=message_id).update(fanout_cursor=0, fanout_done_at=None)


def test_the_fan_out_queues_batches_of_the_configured_size(five, settings, monkeypatch):
    settings.ACS_DELIVERY_BATCH_SIZE = 2
    queued = []
    monkeypatch.setattr(
        tasks.send_batch, "apply_async", lambda *, args, queue: queued.append((args[0], queue))
    )
    message_id = five[0].message_id
    not_yet_fanned_out(message_id)
    assert tasks.dispatch_message(message_id) == 3
    pks = list(
        Delivery.objects.filter(message_id=message_id).order_by("pk").values_list("pk", flat=True)
    )
    assert len(pks) == 5
    assert queued == [
        (pks[0:2], Queues.DELIVERY),
        (pks[2:4], Queues.DELIVERY),
        (pks[4:5], Queues.DELIVERY),
    ]


def test_the_fan_out_writes_chunk_after_chunk_and_each_row_once(five, monkeypatch):
    monkeypatch.setattr(services, "FIRST_CHUNK", 2)
    monkeypatch.setattr(services, "CHUNK", 2)
    message_id = five[0].message_id
    not_yet_fanned_out(message_id)
    people = sorted(row.enrollee_id for row in five)

    first = services.deliveries_write_next(message_id=message_id, after=0)
    assert len(first.ids) == 2 and first.next_after == people[1]
    # The same step again (a redelivered task): the cursor has moved on, it does nothing.
    assert services.deliveries_write_next(message_id=message_id, after=0) == services.Chunk(
        [], None
    )
    second = services.deliveries_write_next(message_id=message_id, after=first.next_after)
    third = services.deliveries_write_next(message_id=message_id, after=second.next_after)
    assert len(second.ids) == 2 and len(third.ids) == 1 and third.next_after is None
    rows = Delivery.objects.filter(message_id=message_id)
    assert sorted(rows.values_list("enrollee_id", flat=True)) == people
    assert set(first.ids) | set(second.ids) | set(third.ids) == set(
        rows.values_list("pk", flat=True)
    )
    assert Message.objects.get(pk=message_id).fanout_done_at is not None


def test_a_fan_out_whose_worker_died_is_started_again_where_it_stopped(
    five, monkeypatch, dispatched
):
    monkeypatch.setattr(services, "FIRST_CHUNK", 2)
    message_id = five[0].message_id
    not_yet_fanned_out(message_id)
    # The first step writes two rows, then its worker dies before it queues anything.
    services.deliveries_write_next(message_id=message_id, after=0)
    assert services.fanouts_stalled() == []  # not yet: it may still be working
    later = timezone.now() + timedelta(seconds=knob("ACS_DELIVERY_CLAIM_TIMEOUT") + 1)
    [(stalled, cursor)] = services.fanouts_stalled(now=later)
    assert stalled == message_id and cursor > 0
    monkeypatch.setattr(services, "fanouts_stalled", lambda: [(stalled, cursor)])
    assert tasks.sweep()["fanouts"] == 1
    assert dispatched == [((message_id, cursor), Queues.DELIVERY)]
    tasks.dispatch_message(message_id, cursor)  # the step the sweeper queued, inline
    assert Delivery.objects.filter(message_id=message_id).count() == 5
    assert len(mail.outbox) == 3
    # The first step's two rows lost their Celery message with the worker: the sweeper's
    # rule for lost messages hands them over once they have waited too long.
    much_later = later + timedelta(seconds=knob("ACS_DELIVERY_REQUEUE_AFTER"))
    assert len(services.deliveries_sweep(now=much_later).lost) == 2
    assert Delivery.objects.filter(status=DeliveryStatus.QUEUED).count() == 2


def test_of_a_dead_worker_s_claim_only_the_row_it_was_on_is_in_doubt(five):
    now = timezone.now()
    long_ago = now - timedelta(hours=1)
    for row in five[:3]:
        set_row(row, status=DeliveryStatus.SENDING, claimed_by="dead:1:a", claimed_at=long_ago)
    set_row(five[3], status=DeliveryStatus.SENDING, claimed_by="dead:2:b", claimed_at=long_ago)
    swept = services.deliveries_sweep(now=now)
    assert sorted(swept.stale) == sorted(row.pk for row in five[:4])
    in_doubt = set(Delivery.objects.filter(in_doubt=True).values_list("pk", flat=True))
    # Each worker sends in id order and marks each row as soon as it is accepted: the first
    # row still claimed is the one that may have reached the server; the rest never started.
    assert in_doubt == {five[0].pk, five[3].pk}


def test_the_tasks_acknowledge_late_and_are_redelivered_if_their_worker_dies():
    for task in (tasks.dispatch_message, tasks.send_batch, tasks.sweep, tasks.send_digest):
        assert task.acks_late is True, task.name
        assert task.reject_on_worker_lost is True, task.name


def test_a_live_worker_giving_back_after_the_sweeper_still_marks_what_it_may_have_sent(five):
    """Its connection broke after the relay accepted two emails whose SENT marks were lost;
    while it waited for the database, the sweeper took the claim back (marking only the
    first row in doubt) and another worker sent them again. Both copies are duplicates:
    both rows must say so. A row whose mark did reach the server went out once."""
    first, accepted, marked, untouched, _other = five
    ids = [row.pk for row in (first, accepted, marked, untouched)]
    claim = services.deliveries_claim(delivery_ids=ids, worker="w:1:a")
    assert services.delivery_sent(pk=marked.pk, claim=claim, provider_id="<m@x>")
    # The sweeper takes the claim back; another worker sends the two again.
    later = timezone.now() + timedelta(seconds=knob("ACS_DELIVERY_CLAIM_TIMEOUT") + 1)
    assert sorted(services.deliveries_sweep(now=later).stale) == sorted(
        [first.pk, accepted.pk, untouched.pk]
    )
    again = services.deliveries_claim(delivery_ids=[first.pk, accepted.pk], worker="w:2:b")
    for row in (first, accepted):
        assert services.delivery_sent(pk=row.pk, claim=again, provider_id="<again@x>")

    services.deliveries_release(claim=claim, unconfirmed=[accepted.pk, marked.pk])

    doubt = dict(Delivery.objects.filter(pk__in=ids).values_list("pk", "in_doubt"))
    assert doubt == {first.pk: True, accepted.pk: True, marked.pk: False, untouched.pk: False}
