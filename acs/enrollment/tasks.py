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
