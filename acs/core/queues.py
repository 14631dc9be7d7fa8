"""Celery queue names: the one place they are declared.

Every ``apply_async`` names one of these, and every queue here is consumed by a worker role
in ``WORKER_ROLES`` (a test checks both).
"""


class Queues:
    DEFAULT = "default"
    PERIODIC = "periodic"

    @classmethod
    def all(cls) -> list[str]:
        return [cls.DEFAULT, cls.PERIODIC]


# What each kind of worker process consumes; `make demo` runs one worker with every role.
WORKER_ROLES = {
    "all": Queues.all(),
}
