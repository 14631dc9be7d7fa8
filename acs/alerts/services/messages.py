"""Changes of state of messages: draft, change, approve, publish, send alone, follow up.

Each service is keyword-only and owns one transaction, writes its audit entry inside it, and
refuses with a ``ValidationError`` that carries a plain message and a stable ``code``
(``own_draft``, ``permission``, ``not_draft``, …); nothing is saved when it refuses.

The workflow (docs/messages.md): a draft (``alerts.draft_message``) is approved by someone who
did not write any of it (``alerts.approve_message``), then published (``alerts.send_message``):
publishing writes the delivery rows in the same transaction and queues the sending once it
commits. In an emergency one officer may approve and publish in one step, with a written
reason (``alerts.send_emergency_alone``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from acs.alerts.constants import (
    KIND_CAP_DEFAULTS,
    CapUrgency,
    MessageKind,
    MessageStatus,
    MessageType,
)
from acs.alerts.models import Message
from acs.alerts.services.outbox import fanout_start
from acs.core.audit import audit_record, diff
from acs.core.models import AuditEntry
from acs.core.permissions import held_at
from acs.posts.models import Post, Region

__all__ = [
    "ALONE_KINDS",
    "NETWORK_PERMISSION",
    "REASON_MIN_WORDS",
    "Published",
    "message_approve",
    "message_draft_create",
    "message_draft_update",
    "message_follow_up",
    "message_publish",
    "message_send_alone",
]

# What a draft is made of; ``regions`` is a list of the post's Region rows.
TEXT_FIELDS = tuple(
    f"{part}_{language}"
    for part in ("title", "location", "event", "actions", "assistance")
    for language in ("en", "es")
)
EDITABLE_FIELDS = (
    "kind",
    *TEXT_FIELDS,
    "whole_country",
    "effective_from",
    "effective_until",
    "cap_category",
    "cap_urgency",
    "cap_severity",
    "cap_certainty",
)
_AUDITED = (*EDITABLE_FIELDS, "regions", "network_posts", "msg_type", "status")
NETWORK_PERMISSION = "alerts.send_network_message"

# The kinds one officer may send without a second person: the two that every enrollee gets
# unless they opted out (acs.enrollment.constants.ON_BY_DEFAULT), because they are about
# danger to life. A weather or health alert can wait for an approver.
ALONE_KINDS = frozenset({MessageKind.EMERGENCY, MessageKind.SECURITY})
# "A written reason": a few words someone reading the audit log later can understand.
REASON_MIN_WORDS = 4
REASON_MIN_LENGTH = 20

_AUTHORING_ACTIONS = ("acs.message.drafted", "acs.message.changed")


@dataclass(frozen=True)
class Published:
    """What ``message_publish`` and ``message_send_alone`` did."""

    message: Message
    new: bool  # False when the message had been published already: nothing more was done


# Checks -----------------------------------------------------------------------------------


def _refuse(message: str, code: str) -> ValidationError:
    return ValidationError(message, code=code)


def _may(actor: AbstractBaseUser, permission: str, post: Post) -> bool:
    return held_at(actor, permission, post)


def _require(actor: AbstractBaseUser, permission: str, post: Post) -> None:
    if not _may(actor, permission, post):
        raise _refuse(_("You are not allowed to do this."), "permission")


def _check_text(values: dict[str, Any]) -> None:
    for language, name in (("en", _("English")), ("es", _("Spanish"))):
        if not str(values.get(f"title_{language}") or "").strip():
            raise _refuse(_("Write the title in %(language)s.") % {"language": name}, "title")
        if not str(values.get(f"event_{language}") or "").strip():
            raise _refuse(
                _("Write what is happening (the event) in %(language)s.") % {"language": name},
                "event",
            )


def _check_dates(values: dict[str, Any]) -> None:
    starts, ends = values.get("effective_from"), values.get("effective_until")
    if not isinstance(starts, datetime) or not isinstance(ends, datetime):
        raise _refuse(_("Give the date and time the message is in effect from and until."), "dates")
    if timezone.is_naive(starts) or timezone.is_naive(ends):
        raise ValueError("effective_from and effective_until must be aware datetimes")
    if ends <= starts:
        raise _refuse(_("“Until” must be later than “from”."), "until_before_from")


def _check_area(post: Post, whole_country: bool, regions: list[Region]) -> None:
    if any(region.post_id != post.pk for region in regions):
        raise _refuse(
            _("A region you chose is served by another post. Choose regions of this post only."),
            "foreign_region",
        )
    if not whole_country and not regions:
        raise _refuse(_("Choose the affected regions, or the whole country."), "no_area")


def _check(post: Post, message: Message, regions: list[Region]) -> None:
    """Every rule a message must keep, whatever page or script made it."""
    values = {name: getattr(message, name) for name in EDITABLE_FIELDS}
    _check_text(values)
    _check_dates(values)
    _check_area(post, message.whole_country, regions)
    try:
        # Choices and lengths; the rules above already said what a person can fix.
        message.full_clean(exclude=["post", "created_by", "references"], validate_constraints=False)
    except ValidationError as error:
        first = next(iter(error.message_dict.items()))
        raise _refuse(f"{first[0]}: {' '.join(first[1])}", "invalid") from error


def _check_network(message: Message, posts: list[Post], actor: AbstractBaseUser) -> None:
    """A network message: only a network role writes, approves or sends one, and it covers
    each post's whole district (a list of regions of several districts would say two things)."""
    if not posts:
        return
    if not _may(actor, NETWORK_PERMISSION, message.post):
        raise _refuse(
            _("Only a network role may address a message to other posts."), "network_permission"
        )
    if not message.whole_country:
        raise _refuse(
            _(
                "A message for several posts covers each post's whole district, so it cannot "
                "name single regions: choose the whole district."
            ),
            "network_area",
        )


def _network_list(post: Post, posts: Iterable[Post] | None) -> list[Post]:
    return sorted({other for other in posts or [] if other.pk != post.pk}, key=lambda p: p.pk)


def _regions_list(post: Post, whole_country: bool, regions: Iterable[Region] | None) -> list:
    # The whole country stands for every region; keeping a list besides would say two things.
    return [] if whole_country else list(regions or [])


def _snapshot(
    message: Message, regions: list[Region] | None = None, posts: list[Post] | None = None
) -> dict[str, Any]:
    lists = ("regions", "network_posts")
    state = {name: getattr(message, name) for name in _AUDITED if name not in lists}
    codes = regions if regions is not None else list(message.regions.all())
    state["regions"] = ", ".join(sorted(region.code for region in codes))
    posts = posts if posts is not None else list(message.network_posts.all())
    state["network_posts"] = ", ".join(sorted(other.slug for other in posts))
    for name in ("effective_from", "effective_until"):
        state[name] = state[name].isoformat() if state[name] else None
    return state


def _locked(message: Message) -> Message:
    """The message again, locked until the transaction ends: two officers pressing "publish"
    at once publish it once."""
    return Message.objects.select_for_update().select_related("post").get(pk=message.pk)


# Drafts -----------------------------------------------------------------------------------


def message_draft_create(*, post: Post, actor: AbstractBaseUser, **fields: Any) -> Message:
    """Write a new draft. ``fields`` are the message's parts (``EDITABLE_FIELDS``), plus
    ``regions`` and, for an update or a cancellation, ``msg_type`` and ``references``."""
    _require(actor, "alerts.draft_message", post)
    regions_given = fields.pop("regions", None)
    network = _network_list(post, fields.pop("network_posts", None))
    msg_type = fields.pop("msg_type", MessageType.ALERT)
    references = fields.pop("references", None)
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"message_draft_create() got unexpected fields: {sorted(unknown)}")
    if msg_type != MessageType.ALERT and (
        references is None
        or references.post_id != post.pk
        or references.status != MessageStatus.PUBLISHED
    ):
        raise _refuse(_("An update or a cancellation refers to a published message."), "references")
    if "cap_category" not in fields and fields.get("kind") in MessageKind.values:
        fields["cap_category"] = KIND_CAP_DEFAULTS[MessageKind(fields["kind"])]
    message = Message(
        post=post,
        created_by=actor,
        msg_type=msg_type,
        references=references if msg_type != MessageType.ALERT else None,
        status=MessageStatus.DRAFT,
        **fields,
    )
    regions = _regions_list(post, message.whole_country, regions_given)
    _check(post, message, regions)
    _check_network(message, network, actor)
    with transaction.atomic(durable=True):
        message.save()
        message.regions.set(regions)
        message.network_posts.set(network)
        audit_record(
            actor=actor,
            action="acs.message.drafted",
            target=message,
            summary=message.title_en,
            changes=diff(None, _snapshot(message, regions, network), list(_AUDITED)),
        )
    return message


def message_draft_update(*, message: Message, actor: AbstractBaseUser, **fields: Any) -> Message:
    """Change a draft (or an approved message not yet published: the change sends it back to
    draft and withdraws the approval, since the approver approved other words)."""
    _require(actor, "alerts.draft_message", message.post)
    unknown = set(fields) - {*EDITABLE_FIELDS, "regions", "network_posts"}
    if unknown:
        raise TypeError(f"message_draft_update() got unexpected fields: {sorted(unknown)}")
    with transaction.atomic(durable=True):
        message = _locked(message)
        if message.status == MessageStatus.PUBLISHED:
            raise _refuse(
                _("A published message cannot be changed: write an update instead."), "published"
            )
        before = _snapshot(message)
        regions_given = fields.pop("regions", None)
        network_given = fields.pop("network_posts", None)
        for name, value in fields.items():
            setattr(message, name, value)
        if regions_given is None:
            regions_given = message.regions.all()
        if network_given is None:
            network_given = message.network_posts.all()
        regions = _regions_list(message.post, message.whole_country, regions_given)
        network = _network_list(message.post, network_given)
        _check(message.post, message, regions)
        _check_network(message, network, actor)
        after = _snapshot(message, regions, network)
        changes = diff(before, after, list(_AUDITED))
        if not changes:
            return message
        was_approved = message.status == MessageStatus.APPROVED
        if was_approved:
            changes["approved_by"] = [message.approved_by.get_username(), None]
            message.status = MessageStatus.DRAFT
            message.approved_at = message.approved_by = None
        message.save(
            update_fields=[
                *(name for name in EDITABLE_FIELDS if name in changes),
                "status",
                "approved_at",
                "approved_by",
                "updated_at",
            ]
        )
        message.regions.set(regions)
        message.network_posts.set(network)
        audit_record(
            actor=actor,
            action="acs.message.changed",
            target=message,
            summary=(
                _("Changed after approval: it needs approving again.")
                if was_approved
                else message.title_en
            ),
            changes=changes,
        )
    return message


# Approval and publication -----------------------------------------------------------------


def _wrote_part_of(message: Message, actor: AbstractBaseUser) -> bool:
    """Did ``actor`` write this message or change any of it? Then they may not approve it."""
    if message.created_by_id == actor.pk:
        return True
    return AuditEntry.objects.filter(
        object_type=message._meta.label_lower,
        object_id=str(message.pk),
        actor_id=actor.pk,
        action__in=_AUTHORING_ACTIONS,
    ).exists()


def message_may_approve(*, message: Message, actor: AbstractBaseUser) -> bool:
    """For the message page: whether the approve button would be accepted."""
    return (
        message.status == MessageStatus.DRAFT
        and _may(actor, "alerts.approve_message", message.post)
        and not _wrote_part_of(message, actor)
    )


def message_approve(*, message: Message, actor: AbstractBaseUser) -> Message:
    """A second person approves a draft. Nobody approves their own draft, nor one they
    changed."""
    _require(actor, "alerts.approve_message", message.post)
    with transaction.atomic(durable=True):
        message = _locked(message)
        if message.status != MessageStatus.DRAFT:
            raise _refuse(_("Only a draft can be approved."), "not_draft")
        if _wrote_part_of(message, actor):
            raise _refuse(
                _("Nobody approves their own draft: ask someone else to approve it."),
                "own_draft",
            )
        _check(message.post, message, list(message.regions.all()))
        _check_network(message, list(message.network_posts.all()), actor)
        message.status = MessageStatus.APPROVED
        message.approved_at, message.approved_by = timezone.now(), actor
        message.save(update_fields=["status", "approved_at", "approved_by", "updated_at"])
        audit_record(
            actor=actor,
            action="acs.message.approved",
            target=message,
            summary=message.title_en,
            changes={"status": [MessageStatus.DRAFT.value, MessageStatus.APPROVED.value]},
        )
    return message


def _dispatch_on_commit(message: Message) -> None:
    """Start the fan-out once the publication is committed (a worker must find it)."""
    pk = message.pk
    transaction.on_commit(lambda: fanout_start(message_id=pk))


def _still_in_effect(message: Message) -> None:
    if message.effective_until <= timezone.now():
        raise _refuse(
            _("This message is no longer in effect: change its dates before sending it."),
            "expired",
        )


def _publish(message: Message, actor: AbstractBaseUser) -> None:
    """Inside the caller's transaction: publish, and start the fan-out when it commits. The
    message's area, kind and dates are the audience's definition; the workers write one
    delivery row per person and channel from it (``outbox.deliveries_write_next``), so that
    the officer's request returns at once whatever the number of people."""
    now = timezone.now()
    message.status = MessageStatus.PUBLISHED
    message.published_at, message.published_by = now, actor
    message.fanout_cursor, message.fanout_at, message.fanout_done_at = 0, now, None
    # The other posts' public pages are cached under a stamp of their own rows: move it on,
    # so that they show the message within a second too (acs/core/pagecache.py).
    Post.objects.filter(network_messages=message).update(updated_at=now)
    message.save(
        update_fields=[
            "status",
            "published_at",
            "published_by",
            "approved_at",
            "approved_by",
            "emergency_reason",
            "fanout_cursor",
            "fanout_at",
            "fanout_done_at",
            "updated_at",
        ]
    )
    _dispatch_on_commit(message)


def message_publish(*, message: Message, actor: AbstractBaseUser) -> Published:
    """Publish an approved message: on the site and feeds, and one delivery row per
    recipient and channel, written in this transaction; the sending is queued when it
    commits. Publishing a published message again does nothing (``new`` is False)."""
    _require(actor, "alerts.send_message", message.post)
    with transaction.atomic(durable=True):
        message = _locked(message)
        if message.status == MessageStatus.PUBLISHED:
            return Published(message, False)
        if message.status != MessageStatus.APPROVED:
            raise _refuse(_("Only an approved message can be sent."), "not_approved")
        _check(message.post, message, list(message.regions.all()))
        _check_network(message, list(message.network_posts.all()), actor)
        _still_in_effect(message)
        _publish(message, actor)
        audit_record(
            actor=actor,
            action="acs.message.published",
            target=message,
            summary=_("Published; sending to the enrollees in its area."),
            changes={"status": [MessageStatus.APPROVED.value, MessageStatus.PUBLISHED.value]},
        )
    return Published(message, True)


def _check_reason(reason: str) -> str:
    reason = " ".join((reason or "").split())
    if len(reason.split(" ")) < REASON_MIN_WORDS or len(reason) < REASON_MIN_LENGTH:
        raise _refuse(
            _(
                "Write why this cannot wait for a second person to approve it "
                "(a sentence: it is kept in the audit log)."
            ),
            "reason",
        )
    return reason


def message_send_alone(*, message: Message, actor: AbstractBaseUser, reason: str) -> Published:
    """The emergency path: one officer approves and publishes in one step, with a written
    reason that the audit entry keeps. Only for ``ALONE_KINDS``."""
    _require(actor, "alerts.send_emergency_alone", message.post)
    reason = _check_reason(reason)
    with transaction.atomic(durable=True):
        message = _locked(message)
        if message.status == MessageStatus.PUBLISHED:
            return Published(message, False)
        if message.kind not in ALONE_KINDS:
            raise _refuse(
                _("Only an emergency or a security alert may be sent without approval."),
                "not_emergency",
            )
        if message.network_posts.exists():
            raise _refuse(
                _("A message for several posts always needs a second person's approval."),
                "network_alone",
            )
        _check(message.post, message, list(message.regions.all()))
        _still_in_effect(message)
        before = message.status
        now = timezone.now()
        if message.status != MessageStatus.APPROVED:
            message.approved_at, message.approved_by = now, actor
        message.emergency_reason = reason
        _publish(message, actor)
        audit_record(
            actor=actor,
            action="acs.message.sent_alone",
            target=message,
            summary=reason,
            changes={
                "status": [before, MessageStatus.PUBLISHED.value],
                "emergency_reason": [None, reason],
            },
        )
    return Published(message, True)


# Updates and cancellations ----------------------------------------------------------------


def _prefixed(title: str, msg_type: str, language: str) -> str:
    with override(language):
        label = (
            _("Update: %(title)s") if msg_type == MessageType.UPDATE else _("Cancelled: %(title)s")
        )
        return (label % {"title": title})[:200]


def message_follow_up(*, original: Message, actor: AbstractBaseUser, msg_type: str) -> Message:
    """A draft of an update or a cancellation of a published message, prefilled from it and
    referring to it (CAP ``references``)."""
    if msg_type not in (MessageType.UPDATE, MessageType.CANCEL):
        raise _refuse(_("Choose an update or a cancellation."), "msg_type")
    if original.status != MessageStatus.PUBLISHED:
        raise _refuse(_("Only a published message can be updated or cancelled."), "references")
    if original.msg_type == MessageType.CANCEL:
        raise _refuse(_("A cancellation cannot be updated or cancelled."), "cancelled")
    now = timezone.now().replace(second=0, microsecond=0)
    until = original.effective_until
    if until <= now:
        until = now + timedelta(days=1)
    fields = {name: getattr(original, name) for name in EDITABLE_FIELDS}
    fields |= {
        "title_en": _prefixed(original.title_en, msg_type, "en"),
        "title_es": _prefixed(original.title_es, msg_type, "es"),
        "effective_from": now,
        "effective_until": until,
    }
    if msg_type == MessageType.CANCEL:
        # CAP: the event is over; nobody needs to act on the earlier message any more.
        fields["cap_urgency"] = CapUrgency.PAST
    return message_draft_create(
        post=original.post,
        actor=actor,
        msg_type=msg_type,
        references=original,
        regions=list(original.regions.all()),
        network_posts=list(original.network_posts.all()),
        **fields,
    )
