"""``manage.py mail_status``: how the transactional-email outbox stands (docs/mail.md).

Counts by status and the age of the oldest email still waiting, and the last failures' reasons
(without addresses: the command prints no personal data).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db.models import Count, Min
from django.utils import timezone

from acs.core.constants import EMAIL_OPEN, EmailStatus
from acs.core.models import OutgoingEmail


class Command(BaseCommand):
    help = "Show the outbox of transactional email: counts by status, oldest waiting, failures."

    def handle(self, *args: object, **options: object) -> None:
        counts = dict(
            OutgoingEmail.objects.values_list("status").annotate(n=Count("pk")).order_by()
        )
        for status in EmailStatus:
            self.stdout.write(f"{status.value:<9} {counts.get(status.value, 0)}")
        oldest = OutgoingEmail.objects.filter(status__in=EMAIL_OPEN).aggregate(
            at=Min("created_at")
        )["at"]
        if oldest is not None:
            age = int((timezone.now() - oldest).total_seconds())
            self.stdout.write(f"oldest not yet sent: {age} s ago")
        failures = (
            OutgoingEmail.objects.filter(status=EmailStatus.FAILED)
            .values_list("kind", "error")
            .annotate(n=Count("pk"))
            .order_by("-n")[:10]
        )
        for kind, error, number in failures:
            self.stdout.write(f"failed: {number} × {kind}: {error}")
