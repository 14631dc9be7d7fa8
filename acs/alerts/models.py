"""Messages a post publishes: on its site, in its feeds, and to the enrollees in the area.

The text has the fixed parts the embassy uses (location, event, actions to take, assistance) in
English and Spanish, as Markdown that is sanitised when shown. An update or a cancellation is
a message of its own that references the earlier one (CAP ``references``).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from acs.alerts.constants import (
    CapCategory,
    CapCertainty,
    CapSeverity,
    CapUrgency,
    Channel,
    DeliveryStatus,
    MessageKind,
    MessageStatus,
    MessageType,
    WelfareAnswer,
)
from acs.enrollment.models import Enrollee
from acs.posts.models import Post, Region
from acs.posts.selectors import post_whole_area_text


class Message(models.Model):
    post = models.ForeignKey(Post, on_delete=models.PROTECT, related_name="messages")
    # In URLs, feeds and the CAP identifier: never the sequential primary key.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=20, choices=MessageKind.choices)
    msg_type = models.CharField(
        _("type"), max_length=10, choices=MessageType.choices, default=MessageType.ALERT
    )
    references = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="followed_by",
        verbose_name=_("updates or cancels"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=MessageStatus.choices, default=MessageStatus.DRAFT
    )

    title_en = models.CharField(_("title (English)"), max_length=200)
    title_es = models.CharField(_("title (Spanish)"), max_length=200)
    location_en = models.TextField(_("location (English)"), blank=True)
    location_es = models.TextField(_("location (Spanish)"), blank=True)
    event_en = models.TextField(_("event (English)"))
    event_es = models.TextField(_("event (Spanish)"))
    actions_en = models.TextField(_("actions to take (English)"), blank=True)
    actions_es = models.TextField(_("actions to take (Spanish)"), blank=True)
    assistance_en = models.TextField(_("for assistance (English)"), blank=True)
    assistance_es = models.TextField(_("for assistance (Spanish)"), blank=True)

    whole_country = models.BooleanField(_("the whole country"), default=False)
    regions = models.ManyToManyField(
        Region, blank=True, related_name="+", verbose_name=_("affected regions")
    )
    # A network message (a worldwide caution): also published on these posts' pages and sent
    # to everyone in their whole districts, besides the post's own (acs/alerts/services).
    network_posts = models.ManyToManyField(
        Post, blank=True, related_name="network_messages", verbose_name=_("also for the posts")
    )
    effective_from = models.DateTimeField(_("effective from"))
    effective_until = models.DateTimeField(_("effective until"))

    cap_category = models.CharField(
        _("CAP category"), max_length=10, choices=CapCategory.choices, default=CapCategory.SAFETY
    )
    cap_urgency = models.CharField(
        _("CAP urgency"), max_length=10, choices=CapUrgency.choices, default=CapUrgency.EXPECTED
    )
    cap_severity = models.CharField(
        _("CAP severity"), max_length=10, choices=CapSeverity.choices, default=CapSeverity.MODERATE
    )
    cap_certainty = models.CharField(
        _("CAP certainty"),
        max_length=10,
        choices=CapCertainty.choices,
        default=CapCertainty.LIKELY,
    )

    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The single-officer emergency path: who sent it without a second person, and why.
    emergency_reason = models.TextField(_("why it could not wait for approval"), blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    # The staged fan-out (acs/alerts/services/outbox.py): the delivery rows are written after
    # publishing, a chunk of people at a time. The cursor is the last enrollee id written;
    # ``fanout_at`` the last progress (a fan-out idle for longer than the claim timeout is
    # started again from its cursor); ``fanout_done_at`` when every row was written.
    fanout_cursor = models.BigIntegerField(default=0, editable=False)
    fanout_at = models.DateTimeField(null=True, blank=True, editable=False)
    fanout_done_at = models.DateTimeField(null=True, blank=True, editable=False)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-published_at", "-created_at"]
        permissions = [
            ("draft_message", _("Write and change draft messages")),
            ("approve_message", _("Approve another person's message")),
            ("send_message", _("Publish and send an approved message")),
            ("send_emergency_alone", _("Send an emergency message without a second person")),
            ("view_delivery", _("See how a message's delivery is going")),
            ("view_welfare", _("See welfare answers and who needs help")),
            ("send_network_message", _("Address a message to several posts' enrollees")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(effective_until__gt=F("effective_from")),
                name="message_until_after_from",
            ),
            models.CheckConstraint(
                condition=Q(msg_type=MessageType.ALERT) | Q(references__isnull=False),
                name="message_update_references_another",
            ),
        ]
        indexes = [
            # The public page and the feeds: one post's published messages, newest first.
            models.Index(
                fields=["post", "-published_at"],
                condition=Q(status=MessageStatus.PUBLISHED),
                name="message_published",
            ),
        ]

    def __str__(self) -> str:
        return self.title_en

    def whole_area_text(self) -> str:
        """For a message about whole districts (``whole_country``): each post's, named as its
        reader knows it (the country, or an embassy's part of a country it shares)."""
        posts = [self.post, *self.network_posts.all()]
        return "; ".join(post_whole_area_text(post) for post in posts)


# The outbox: one row per (message, recipient, channel), written with the decision to send.
# Workers claim rows, send them and record the outcome on the row (docs/delivery.md). A
# deleted account leaves its rows without a recipient or an address, so that the message's
# figures stay true and nothing of the person remains.


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
    # The row may have reached the server on an attempt whose outcome nobody recorded (its
    # worker died, or the connection broke after the whole message had gone out): it is sent
    # again with the same Message-ID, and the progress page counts it (docs/delivery.md).
    in_doubt = models.BooleanField(_("in doubt"), default=False)
    error = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # The table keeps the name it had when delivery was an app of its own.
        db_table = "delivery_delivery"
        # "alerts.view_delivery" is the message's permission (seeing a message's progress);
        # the rows themselves are changed only by the services.
        default_permissions = ()
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
        db_table = "delivery_welfareresponse"
        default_permissions = ()
        verbose_name = _("welfare answer")
        verbose_name_plural = _("welfare answers")

    def __str__(self) -> str:
        return f"{self.delivery_id}: {self.answer}"
