"""Start-up checks: an integration switched on but misconfigured stops the start, with a
message that says what to set.

Django runs the check at ``manage.py check``, ``migrate`` and ``runserver``; a Celery worker
(which is what sends the texts) runs none of those, so the same test also runs when a worker
starts, and refuses to start it.
"""

from __future__ import annotations

from celery.signals import worker_init
from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured

from acs.core import sms


@register()
def sms_backend_check(app_configs, **kwargs) -> list[Error]:
    return [
        Error(message, hint="See the README's configuration table.", id="acs.alerts.E001")
        for message in sms.configuration_errors()
    ]


@worker_init.connect(weak=False)
def refuse_a_misconfigured_worker(**kwargs) -> None:
    errors = sms.configuration_errors()
    if errors:
        raise ImproperlyConfigured(" ".join(errors))
