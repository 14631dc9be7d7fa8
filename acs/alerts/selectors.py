"""Read queries over messages that the public pages, the feeds and the back office share."""

from __future__ import annotations

from uuid import UUID

from django.db.models import Prefetch, Q, QuerySet

from acs.alerts.constants import MessageStatus
from acs.alerts.models import Message
from acs.posts.models import Post, Region

FEED_LENGTH = 50  # entries in each feed: the newest messages
STAFF_PUBLISHED_SHOWN = 50


def _with_related(queryset: QuerySet[Message]) -> QuerySet[Message]:
    return queryset.select_related("post", "references").prefetch_related(
        Prefetch("regions", queryset=Region.objects.order_by("name"))
    )


def messages_published(*, post: Post, kind: str = "", region_code: str = "") -> QuerySet[Message]:
    """The post's published messages, newest first; optionally of one kind, and about one
    region (a message for the whole country is about every region)."""
    queryset = Message.objects.filter(post=post, status=MessageStatus.PUBLISHED)
    if kind:
        queryset = queryset.filter(kind=kind)
    if region_code:
        about = Message.regions.through.objects.filter(
            region__post=post, region__code=region_code
        ).values("message_id")
        queryset = queryset.filter(Q(whole_country=True) | Q(pk__in=about))
    return _with_related(queryset.order_by("-published_at", "-pk"))


def messages_for_feed(*, post: Post) -> list[Message]:
    return list(messages_published(post=post)[:FEED_LENGTH])


def message_published_get(*, post: Post, public_id: UUID) -> Message | None:
    """A published message by its public id; a draft's id finds nothing."""
    return messages_published(post=post).filter(public_id=public_id).first()


def message_followers(*, message: Message) -> list[Message]:
    """The published updates and cancellations of ``message``, oldest first."""
    return list(
        Message.objects.filter(references=message, status=MessageStatus.PUBLISHED).order_by(
            "published_at", "pk"
        )
    )


def messages_for_staff(*, post: Post) -> dict[str, list[Message]]:
    """The back office's list: drafts (awaiting approval), approved (awaiting sending), and
    the latest published."""
    base = _with_related(Message.objects.filter(post=post)).select_related(
        "created_by", "approved_by", "published_by"
    )
    return {
        "drafts": list(base.filter(status=MessageStatus.DRAFT).order_by("-updated_at")),
        "approved": list(base.filter(status=MessageStatus.APPROVED).order_by("-approved_at")),
        "published": list(
            base.filter(status=MessageStatus.PUBLISHED).order_by("-published_at")[
                :STAFF_PUBLISHED_SHOWN
            ]
        ),
    }


def message_for_staff(*, post: Post, pk: int) -> Message | None:
    return (
        _with_related(Message.objects.filter(post=post, pk=pk))
        .select_related("created_by", "approved_by", "published_by")
        .first()
    )
