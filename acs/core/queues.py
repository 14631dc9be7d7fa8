"""Celery queue names: the one place they are declared.

Every ``apply_async`` names one of these, and every queue here is consumed by a worker role
in ``WORKER_ROLES`` (a test checks both).
"""

from __future__ import annotations

from typing import Any

from acs.celery import app


class Queues:
    DEFAULT = "default"
    PERIODIC = "periodic"
    # Messages to enrollees (acs.alerts): the fan-out, the batches, the digests. A queue of
    # its own so that a broadcast of 100,000 emails never waits behind, nor delays, a
    # booking confirmation; production can run as many "senders" as the relay takes.
    DELIVERY = "delivery"

    @classmethod
    def all(cls) -> list[str]:
        return [cls.DEFAULT, cls.PERIODIC, cls.DELIVERY]


# What each kind of worker process consumes; `make demo` runs one worker with every role.
WORKER_ROLES = {
    "all": Queues.all(),
    "senders": [Queues.DELIVERY],
}


# ``apply_async`` options for a publication made from a request: once, without kombu's
# retries. With the broker down, the request must answer at once (what it queued is safe in
# the database, and a sweeper hands it over when the broker is back). Measured against a
# closed port: about 3 ms, where the default policy retries for seconds.
PUBLISH_ONCE = {"retry": True, "retry_policy": {"max_retries": 0}}


def task_send(name: str, *, args: list[Any], queue: str, **options: Any) -> Any:
    """Queue the task registered as ``name`` (``"acs.core.tasks.email_send"``) on ``queue``.

    Services send tasks by name and never import a tasks module: tasks import services to
    call them, so an import the other way round would close a cycle (tests/test_layers.py).
    The task object is used when this process knows it (every process does once Django is
    set up: ``CoreConfig.ready``), so eager mode and a test's stand-in apply; otherwise the
    broker takes it by name.
    """
    task = app.tasks.get(name)
    if task is None:
        return app.send_task(name, args=args, queue=queue, **options)
    return task.apply_async(args=args, queue=queue, **options)
