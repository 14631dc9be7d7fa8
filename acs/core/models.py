from django.conf import settings
from django.db import models
from django.utils import timezone

from acs.core.constants import ActorKind, EmailStatus


class ProofOfWorkUse(models.Model):
    """A solved proof-of-work challenge, kept until it expires so it cannot be used twice."""

    signature = models.CharField(max_length=128, unique=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.signature[:12]


class AuditEntry(models.Model):
    """One action on a record (by staff, a citizen, the door or the system) or one staff view
    of personal data. Append-only: the application never updates or deletes a row
    (PostgreSQL enforces it with a trigger)."""

    # The instant of the change the entry records: the service's own ``now`` (which is the
    # present, except in tests that set the clock), so that the entry and the change agree.
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    post = models.ForeignKey(
        "posts.Post", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # PROTECT: a staff account with a history is deactivated, never deleted.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    actor_name = models.CharField(max_length=150)  # kept when the account is deleted
    # Blank on entries written before kinds were recorded: staff when ``actor`` is set, else
    # the system (``kind``).
    actor_kind = models.CharField(max_length=10, choices=ActorKind.choices, blank=True)
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

    @property
    def kind(self) -> str:
        """The actor's kind, for entries of every age."""
        if self.actor_kind:
            return self.actor_kind
        return ActorKind.STAFF if self.actor_id else ActorKind.SYSTEM


class OutgoingEmail(models.Model):
    """One transactional email (a booking confirmation, a sign-in link, …): written in the
    transaction of the change that causes it, built and sent later by a worker.

    What the worker needs to build it is ``kind`` (a key of ``acs.core.outbox.registry``,
    filled by the apps) and ``arguments`` (ids, never rendered text: a request does not pay
    for rendering). ``message_id`` is fixed here and kept for life, so a resend after a
    worker died is recognisably the same email. See docs/mail.md.
    """

    kind = models.CharField(max_length=64)  # "appointments.booking"
    arguments = models.JSONField(default=dict, blank=True)  # {"booking_id": 7, "kind": "…"}
    # The address it goes to: the one known when queued, updated to the one it was sent to
    # if the record's address changed in between (links are made from the record as it is).
    to = models.CharField(max_length=254)
    language = models.CharField(max_length=10, default="en")
    message_id = models.CharField(max_length=255, unique=True)  # "<…@example.gov>"
    status = models.CharField(
        max_length=10, choices=EmailStatus.choices, default=EmailStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    # When it was last handed to the broker; empty when handing it over failed (broker down),
    # so that the sweeper hands it over at its next run.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=100, blank=True)  # "host:pid:nonce"
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # The sweeper and the purge ask by status, then by a time.
        indexes = [models.Index(fields=["status", "created_at"], name="core_email_status")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=EmailStatus.values), name="core_email_status_known"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to} ({self.status})"
