from django.conf import settings
from django.db import models


class ProofOfWorkUse(models.Model):
    """A solved proof-of-work challenge, kept until it expires so it cannot be used twice."""

    signature = models.CharField(max_length=128, unique=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.signature[:12]


class AuditEntry(models.Model):
    """One staff action or one staff view of personal data. Append-only: the application
    never updates or deletes a row (PostgreSQL enforces it with a trigger)."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    post = models.ForeignKey(
        "posts.Post", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # PROTECT: a staff account with a history is deactivated, never deleted.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    actor_name = models.CharField(max_length=150)  # kept when the account is deleted
    action = models.CharField(max_length=100, db_index=True)  # acs.booking.cancelled
    object_type = models.CharField(max_length=100, blank=True)  # appointments.booking
    object_id = models.CharField(max_length=64, blank=True)
    summary = models.CharField(max_length=300, blank=True)
    changes = models.JSONField(default=dict, blank=True)  # {"field": [before, after]}
    address = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name} {self.action}"
