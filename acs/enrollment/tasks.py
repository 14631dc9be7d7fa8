"""Celery tasks for enrollment: thin, they take ids, load, and call services.

The emails go through the outbox (acs/core/outbox, docs/mail.md): services write their rows
in the transaction of the change, and ``acs.core.tasks.email_send`` sends them.
"""

from __future__ import annotations

import logging

from celery import shared_task

from acs.core.outbox.queue import email_queue
from acs.enrollment.models import Enrollee, Residence
from acs.enrollment.services import retention
from acs.enrollment.services.accounts import account_email_queue

logger = logging.getLogger(__name__)


@shared_task
def purge_ended_trips() -> int:
    """Periodic: delete trips some days after they end (``post.trip_retention_days``)."""
    return retention.trips_purge()


@shared_task
def reconfirm_residences() -> dict[str, int]:
    """Periodic: expire the questions nobody answered, then ask this year's."""
    expired = retention.residences_expire()
    asked = retention.residences_reconfirm_request()
    return {"expired": expired, "asked": len(asked)}


@shared_task
def sweep_idle_accounts() -> dict[str, int]:
    """Periodic: delete never-verified and warned idle accounts, then warn the newly idle."""
    unverified = retention.unverified_accounts_delete()
    deleted = retention.idle_accounts_delete()
    warned = retention.idle_accounts_warn()
    return {"unverified": unverified, "deleted": deleted, "warned": len(warned)}


# Before the outbox, services queued these tasks to send the emails themselves. Messages of
# theirs may still wait in the broker when this version starts: each now writes its email to
# the outbox instead, so none is lost across the upgrade. Remove them in the next release.


@shared_task
def send_enrollee_email(enrollee_id: int, kind: str) -> None:
    """Superseded by the outbox (``services.accounts``)."""
    enrollee = Enrollee.objects.filter(pk=enrollee_id).first()
    if enrollee is not None:
        account_email_queue(enrollee=enrollee, kind=kind)


@shared_task
def send_residence_reconfirm(residence_id: int) -> None:
    """Superseded by the outbox (``services.retention``)."""
    residence = Residence.objects.select_related("enrollee").filter(pk=residence_id).first()
    if residence is not None:
        email_queue(
            kind=retention.RESIDENCE_EMAIL,
            to=residence.enrollee.email,
            language=residence.enrollee.language,
            arguments={"residence_id": residence_id},
        )


@shared_task
def send_idle_warning(enrollee_id: int) -> None:
    """Superseded by the outbox (``services.retention``)."""
    enrollee = Enrollee.objects.filter(pk=enrollee_id).first()
    if enrollee is not None:
        email_queue(
            kind=retention.IDLE_EMAIL,
            to=enrollee.email,
            language=enrollee.language,
            arguments={"enrollee_id": enrollee_id},
        )
