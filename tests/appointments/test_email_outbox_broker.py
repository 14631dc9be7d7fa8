"""A broker outage delays the booking confirmation but never loses it (docs/mail.md).

The booking goes through the real pages with Celery as in production (tasks published to a
broker, not run inline) and the broker unreachable: the booking succeeds at once. Then the
broker answers again (the real Redis of ``REDIS_URL``, or a folder broker without one), the
sweeper runs as beat would run it, a worker takes what the broker holds — each message twice,
as a redelivery would — and the confirmation goes out exactly once, with its Message-ID.
"""

from __future__ import annotations

import os
import time

import pytest
from django.core import mail

from acs.appointments.models import Booking
from acs.celery import app
from acs.core import tasks
from acs.core.constants import EmailStatus
from acs.core.models import OutgoingEmail
from tests.appointments.test_booking_pages import (
    free_slots,
    person,
    reach_review,
    seed_service,
    url,
)

CLOSED_PORT = "redis://127.0.0.1:1/0"


@pytest.fixture
def broker(tmp_path):
    """Publish through a real broker; ``point(url, **transport_options)`` moves it."""
    saved = (app.conf.broker_url, app.conf.broker_transport_options, app.conf.task_always_eager)

    def point(url: str, **options) -> None:
        # The app keeps its connection pools; new ones are made for the new address.
        app._pool = None
        app.amqp._producer_pool = None
        app.conf.broker_url = url
        app.conf.broker_transport_options = options

    app.conf.task_always_eager = False
    yield point
    point(saved[0], **saved[1])
    app.conf.task_always_eager = saved[2]


def broker_back(point, tmp_path) -> None:
    """The real Redis when there is one (``REDIS_URL``, the tests' own database), else a
    folder broker: either way a broker that answers."""
    redis_url = os.environ.get("REDIS_URL", "")
    if redis_url.startswith("redis://"):
        point(redis_url)
    else:
        folder = tmp_path / "broker"
        for name in ("queue", "processed", "control"):
            (folder / name).mkdir(parents=True)
        # Every folder named, or kombu makes a "control" folder in the working directory.
        point(
            "filesystem://",
            data_folder_in=str(folder / "queue"),
            data_folder_out=str(folder / "queue"),
            processed_folder=str(folder / "processed"),
            control_folder=str(folder / "control"),
        )
    with app.connection_for_read() as connection:
        connection.SimpleQueue("default").clear()  # what an earlier run may have left


def work_off_the_queue() -> list[str]:
    """Be a worker: run every ``email_send`` the broker holds, each twice (a redelivery)."""
    outcomes = []
    with app.connection_for_read() as connection:
        queue = connection.SimpleQueue("default")
        while True:
            try:
                message = queue.get(timeout=1)
            except queue.Empty:
                break
            assert message.headers["task"] == "acs.core.tasks.email_send"
            args = message.payload[0]
            outcomes += [tasks.email_send(*args), tasks.email_send(*args)]
            message.ack()
        queue.close()
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_broker_down_booking_succeeds_and_the_confirmation_goes_out_once_later(
    client, lima, settings, broker, tmp_path
):
    settings.ACS_POW_ENABLED = False
    service = seed_service(lima)
    slot = free_slots(service)[0]
    reach_review(client, service, slot, [person(passport="123456789")])

    broker(CLOSED_PORT)
    started = time.monotonic()
    done = client.post(url("review", service=service.slug), {})
    elapsed = time.monotonic() - started

    assert done.status_code == 302, done.content.decode()
    assert elapsed < 2, f"the booking page took {elapsed:.1f} s with the broker down"
    booking = Booking.objects.get()
    row = OutgoingEmail.objects.get()
    assert row.arguments == {"booking_id": booking.pk, "kind": "confirmation"}
    assert row.status == EmailStatus.QUEUED
    assert row.enqueued_at is None  # marked for the sweeper's next run
    assert mail.outbox == []

    broker_back(broker, tmp_path)
    assert tasks.emails_sweep()["lost"] == 1
    assert work_off_the_queue() == ["sent", "not claimed"]

    (confirmation,) = mail.outbox
    row.refresh_from_db()
    assert row.status == EmailStatus.SENT
    assert confirmation.to == [booking.email]
    assert booking.code in confirmation.subject
    assert confirmation.extra_headers["Message-ID"] == row.message_id
    # Later sweeps find nothing to hand over, and nothing more is sent.
    assert tasks.emails_sweep() == {"stale": 0, "due": 0, "lost": 0, "abandoned": 0}
    assert work_off_the_queue() == []
    assert len(mail.outbox) == 1
