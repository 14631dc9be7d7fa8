"""The Celery application. Workers and beat start with ``celery -A acs worker|beat``."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "acs.settings")

app = Celery("acs")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
