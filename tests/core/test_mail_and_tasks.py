import email
from pathlib import Path

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives, get_connection

from acs.celery import app
from acs.core import tasks
from acs.core.queues import WORKER_ROLES, Queues


def test_demo_email_lands_as_one_eml_file_per_message(tmp_path):
    connection = get_connection("acs.core.mail.EmlFileBackend", file_path=str(tmp_path))
    messages = []
    for number in range(3):
        message = EmailMultiAlternatives(
            subject=f"Cita {number}",
            body="Texto",
            to=[f"p{number}@example.org"],
            connection=connection,
        )
        message.attach_alternative("<p>Texto</p>", "text/html")
        messages.append(message)
    assert connection.send_messages(messages) == 3
    files = sorted(Path(tmp_path).glob("*.eml"))
    assert len(files) == 3
    parsed = email.message_from_bytes(files[0].read_bytes())
    assert parsed["Subject"].startswith("Cita")
    assert parsed.is_multipart()
    assert not list(Path(tmp_path).glob(".*.part"))


def test_demo_settings_use_the_eml_backend(settings):
    assert settings.EMAIL_BACKEND in (
        "acs.core.mail.EmlFileBackend",
        "django.core.mail.backends.locmem.EmailBackend",
    )
    assert mail.outbox == []


def test_every_queue_is_consumed_by_a_worker_role():
    consumed = {queue for queues in WORKER_ROLES.values() for queue in queues}
    assert set(Queues.all()) <= consumed


def test_periodic_work_names_a_declared_queue_and_a_real_task():
    app.loader.import_default_modules()
    for name, entry in app.conf.beat_schedule.items():
        assert entry["options"]["queue"] in Queues.all(), name
        assert entry["task"] in app.tasks, name


def test_celery_acknowledges_late_so_a_dead_worker_loses_nothing():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True


@pytest.mark.django_db
def test_heartbeat_records_when_a_worker_last_ran():
    from django.core.cache import cache

    stamp = tasks.heartbeat()
    assert cache.get("acs:worker-heartbeat") == stamp
