"""The Celery application. Workers and beat start with ``celery -A acs worker|beat``."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "acs.settings")

app = Celery("acs")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect(weak=False)
@task_postrun.connect(weak=False)
def _database_connections(sender=None, **kwargs) -> None:
    """A worker keeps its database connection from task to task (``CELERY_DB_REUSE_MAX``
    stops Celery's Django fix-up from closing it after each one: a broadcast is hundreds of
    batches), and, like a request, drops one that is broken or older than ``CONN_MAX_AGE``;
    with ``CONN_HEALTH_CHECKS`` a connection that died while idle (a database restart) is
    replaced before the task's first query."""
    from django.db import close_old_connections

    if getattr(getattr(sender, "request", None), "is_eager", False):
        return  # run inline, inside the caller's own connection and transaction
    close_old_connections()
