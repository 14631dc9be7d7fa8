from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "acs.core"
    verbose_name = _("Core")

    def ready(self) -> None:
        # Services send tasks by name (``queues.task_send``) and never import a tasks module.
        # A worker loads every app's ``tasks`` when it starts; so does every other process
        # here (the app registry is full by now), so that one running tasks inline (tests,
        # ``CELERY_TASK_ALWAYS_EAGER``) knows them all.
        from acs.celery import app

        app.autodiscover_tasks(force=True)
