"""Start-up checks: an integration switched on but misconfigured stops the start, with a
message that says what to set.

Django runs the check at ``manage.py check``, ``migrate`` and ``runserver``; a Celery worker
(which is what sends the texts) runs none of those, so the same test also runs when a worker
starts, and refuses to start it.
"""

from __future__ import annotations

from celery.signals import worker_init
from django.conf import settings
from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

from acs.core import sms


def timeout_errors() -> list[str]:
    """The delivery timeouts, checked against each other (docs/delivery.md):

    - every timeout is positive;
    - the broker's visibility timeout (Redis, SQS: they hand an unacknowledged message to
      another worker after it) outlasts the claim timeout, else a batch that a live worker
      is still sending is handed to a second one;
    - the requeue age is at least the batch's time limit (half the claim timeout), else a
      batch waiting behind a running one is handed out again before it can start.
    """
    claim = settings.ACS_DELIVERY_CLAIM_TIMEOUT
    requeue = settings.ACS_DELIVERY_REQUEUE_AFTER
    errors = [
        _("%(name)s must be a positive number of seconds.") % {"name": name}
        for name in (
            "ACS_DELIVERY_CLAIM_TIMEOUT",
            "ACS_DELIVERY_REQUEUE_AFTER",
            "ACS_DELIVERY_SEND_TIMEOUT",
        )
        if getattr(settings, name) <= 0
    ]
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {}
    visibility = options.get("visibility_timeout")
    if visibility is not None and visibility <= claim:
        errors.append(
            _(
                "ACS_BROKER_VISIBILITY_TIMEOUT (%(visibility)s s) must be longer than "
                "ACS_DELIVERY_CLAIM_TIMEOUT (%(claim)s s)."
            )
            % {"visibility": visibility, "claim": claim}
        )
    if 0 < requeue < claim // 2:
        errors.append(
            _(
                "ACS_DELIVERY_REQUEUE_AFTER (%(requeue)s s) must be at least half of "
                "ACS_DELIVERY_CLAIM_TIMEOUT (%(claim)s s)."
            )
            % {"requeue": requeue, "claim": claim}
        )
    return errors


def _all_errors() -> list[str]:
    return [*sms.configuration_errors(), *timeout_errors()]


@register()
def delivery_settings_check(app_configs, **kwargs) -> list[Error]:
    return [
        Error(message, hint="See the README's configuration table.", id="acs.alerts.E001")
        for message in _all_errors()
    ]


@worker_init.connect(weak=False)
def refuse_a_misconfigured_worker(**kwargs) -> None:
    errors = _all_errors()
    if errors:
        raise ImproperlyConfigured(" ".join(str(error) for error in errors))
