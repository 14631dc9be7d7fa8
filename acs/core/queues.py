"""Celery queue names: the one place they are declared.

Every ``apply_async`` names one of these, and every queue here is consumed by a worker role
in ``WORKER_ROLES`` (a test checks both).
"""


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
