"""Celery tasks for enrollment: thin, they take ids, load, and call services or emails."""

from __future__ import annotations

import logging

from celery import shared_task

from acs.enrollment import emails
from acs.enrollment.models import Enrollee

logger = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=5, default_retry_delay=60)
def send_enrollee_email(self, enrollee_id: int, kind: str) -> None:
    """Send one account email (``emails.KINDS``). Links are made here, from the account as it
    is now, so a sign-in link is never older than the sign-in it follows."""
    enrollee = Enrollee.objects.select_related("post").filter(pk=enrollee_id).first()
    if enrollee is None:
        logger.info("enrollee %s is gone; no %s email", enrollee_id, kind)
        return
    try:
        emails.enrollee_message(enrollee, kind).send()
    except OSError as error:  # SMTP down or refused: try again later
        raise self.retry(exc=error) from error


# Retention (``services.retention``): daily jobs, and the two emails they send. Each email
# task checks, when it runs, that its reason still holds (the question is still open, the
# warning still stands), so a late or repeated task sends nothing stale.


@shared_task(bind=True, max_retries=5, default_retry_delay=60)
def send_residence_reconfirm(self, residence_id: int) -> bool:
    """The yearly "do you still live here?" email of one residence."""
    from acs.enrollment.models import Residence

    residence = (
        Residence.objects.select_related("enrollee__post")
        .filter(pk=residence_id, active=True, reconfirm_requested_at__isnull=False)
        .first()
    )
    if residence is None:
        logger.info("residence %s was answered or is gone; no question", residence_id)
        return False
    try:
        emails.enrollee_message(residence.enrollee, "residence_reconfirm").send()
    except OSError as error:  # SMTP down or refused: try again later
        raise self.retry(exc=error) from error
    return True


@shared_task(bind=True, max_retries=5, default_retry_delay=60)
def send_idle_warning(self, enrollee_id: int) -> bool:
    """The "your enrollment will be deleted unless you sign in" email."""
    enrollee = (
        Enrollee.objects.select_related("post")
        .filter(pk=enrollee_id, inactivity_warned_at__isnull=False)
        .first()
    )
    if enrollee is None:
        logger.info("enrollee %s signed in or is gone; no warning", enrollee_id)
        return False
    try:
        emails.enrollee_message(enrollee, "idle_warning").send()
    except OSError as error:  # SMTP down or refused: try again later
        raise self.retry(exc=error) from error
    return True


@shared_task
def purge_ended_trips() -> int:
    """Periodic: delete trips some days after they end (``post.trip_retention_days``)."""
    from acs.enrollment.services import retention

    return retention.trips_purge()


@shared_task
def reconfirm_residences() -> dict[str, int]:
    """Periodic: expire the questions nobody answered, then ask this year's."""
    from acs.enrollment.services import retention

    expired = retention.residences_expire()
    asked = retention.residences_reconfirm_request()
    return {"expired": expired, "asked": len(asked)}


@shared_task
def sweep_idle_accounts() -> dict[str, int]:
    """Periodic: delete never-verified and warned idle accounts, then warn the newly idle."""
    from acs.enrollment.services import retention

    unverified = retention.unverified_accounts_delete()
    deleted = retention.idle_accounts_delete()
    warned = retention.idle_accounts_warn()
    return {"unverified": unverified, "deleted": deleted, "warned": len(warned)}
