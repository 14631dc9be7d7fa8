"""The outbox: one row per (message, recipient, channel), written with the decision to send.

Workers claim rows, send them and record the outcome on the row; a row that is ``sent`` is
never sent again (see docs/delivery.md). A deleted account leaves its rows without a recipient
or an address, so that the message's figures stay true and nothing of the person remains.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from acs.alerts.models import Message
from acs.delivery.constants import Channel, DeliveryStatus, WelfareAnswer
from acs.enrollment.models import Enrollee


def forget_recipient(collector, field, sub_objs, using) -> None:
    """``on_delete`` of a delivery's enrollee: the row stays, so that the message's figures
    stay true, but without the person and without their address — a deleted account is gone
    from the database at once, outbox included."""
    collector.add_field_update(field, None, sub_objs)
    collector.add_field_update(field.model._meta.get_field("address"), "", sub_objs)


class Delivery(models.Model):
    # No index of its own: "delivery_progress" (message, status) and the unique constraint
    # both start with it. Every change of status rewrites each index of the row, 100,000
    # times a broadcast, so the table keeps no index it does not need.
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    enrollee = models.ForeignKey(
        Enrollee, on_delete=forget_recipient, null=True, related_name="deliveries"
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    # Where and how, as they were at the decision to send.
    address = models.CharField(_("address"), max_length=254)
    language = models.CharField(_("language"), max_length=5)
    # The personal links in the email (welfare answers, unsubscribe) carry this, not the id.
    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # Who holds the row, since when: a worker's "host:pid" while it sends (SENDING), or while
    # it sends a digest (the row stays DIGEST). A claim older than the timeout is dead.
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=100, blank=True)
    # When the sweeper last handed a waiting row to the broker again (QUEUED rows whose
    # task was lost); the first time, ``created_at`` serves.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    provider_id = models.CharField(_("Message-ID"), max_length=255, blank=True)
    error = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            # Exactly once: one row per person per channel per message, whatever the number of
            # trips or regions that matched them.
            models.UniqueConstraint(
                fields=["message", "enrollee", "channel"], name="delivery_once_per_channel"
            ),
        ]
        indexes = [
            models.Index(fields=["message", "status"], name="delivery_progress"),
            # The sweeper and the retry pass look only at unfinished rows.
            models.Index(
                fields=["status", "claimed_at"],
                condition=Q(
                    status__in=[
                        DeliveryStatus.QUEUED,
                        DeliveryStatus.SENDING,
                        DeliveryStatus.RETRYING,
                    ]
                ),
                name="delivery_open",
            ),
            # The daily digest: each person's rows still waiting for it.
            models.Index(
                fields=["enrollee", "channel"],
                condition=Q(status=DeliveryStatus.DIGEST),
                name="delivery_digest",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.message_id}/{self.channel}/{self.status}"


class WelfareResponse(models.Model):
    """An enrollee's answer to an emergency message: safe, or needs help. The latest counts."""

    delivery = models.OneToOneField(Delivery, on_delete=models.CASCADE, related_name="welfare")
    answer = models.CharField(_("answer"), max_length=10, choices=WelfareAnswer.choices)
    answered_at = models.DateTimeField(_("answered at"))

    class Meta:
        verbose_name = _("welfare answer")
        verbose_name_plural = _("welfare answers")

    def __str__(self) -> str:
        return f"{self.delivery_id}: {self.answer}"
