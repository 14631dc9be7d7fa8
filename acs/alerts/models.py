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
    MessageKind,
    MessageStatus,
    MessageType,
)
from acs.posts.models import Post, Region


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
