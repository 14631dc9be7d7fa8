"""A booking's story and the door's log, as staff pages read them from the audit log.

Every change of a booking (made, moved, cancelled, by the citizen, staff or a closure), every
answer the door gave for it and every staff look at it is an audit entry on the booking
(``acs.core.audit``); an answer to a code that matches no booking is an entry on the post
alone, and those make the door's log of the day. Here the entries become lines a person reads:
who (the citizen, a staff member, the staff member at the door, the system), when on the
post's clock with its zone, and what happened, in the reader's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from acs.appointments.constants import (
    AUDIT_BOOKING_CANCELLED,
    AUDIT_BOOKING_CANCELLED_BY_CLOSURE,
    AUDIT_BOOKING_CREATED,
    AUDIT_BOOKING_RESCHEDULED,
    DOOR_ACTIONS,
    DOOR_ADMITTED,
    DOOR_ANSWER_LABELS,
    DOOR_EARLY,
    BookingChannel,
    BookingStatus,
)
from acs.appointments.models import Booking
from acs.appointments.selectors import local_day_bounds
from acs.core import audit, clock
from acs.core.constants import ActorKind
from acs.core.models import AuditEntry
from acs.posts.models import Post

_LABELS = {
    AUDIT_BOOKING_CREATED: gettext_lazy("Booked"),
    AUDIT_BOOKING_RESCHEDULED: gettext_lazy("Moved to another time"),
    AUDIT_BOOKING_CANCELLED: gettext_lazy("Cancelled"),
    AUDIT_BOOKING_CANCELLED_BY_CLOSURE: gettext_lazy("Cancelled by a closure"),
    "acs.booking.viewed": gettext_lazy("Viewed by staff"),
    "acs.booking.served": gettext_lazy("Marked served"),
    "acs.booking.no_show": gettext_lazy("Marked a no-show"),
    **DOOR_ANSWER_LABELS,
}
# Changes already said by the line's label.
_UNSHOWN = {"channel"}
_BOOKING_TYPE = Booking._meta.label_lower


@dataclass(frozen=True)
class StoryLine:
    entry: AuditEntry
    when: str  # "2027-01-12 09:03:12" on the post's clock
    zone: str  # "UTC−05:00", or "EDT" where the zone has letters
    who: str
    what: str
    changes: list[dict[str, Any]]


@dataclass(frozen=True)
class DoorAnswer:
    """A door answer on the day page: its words, HH:MM on the post's clock, and its tone
    (``admit``, ``early``, ``refused``) for the colour."""

    label: str
    time: str
    tone: str


def who_text(entry: AuditEntry) -> str:
    kind = entry.kind
    if kind == ActorKind.CITIZEN:
        return _("Citizen")
    if kind == ActorKind.DOOR:
        return _("At the door: %(name)s") % {"name": entry.actor_name}
    if kind == ActorKind.SYSTEM:
        return _("System")
    return entry.actor_name


def what_text(entry: AuditEntry) -> str:
    if entry.action == AUDIT_BOOKING_CREATED:
        channel = (entry.changes or {}).get("channel")
        if channel in BookingChannel.values:
            return str(BookingChannel(channel).label)
    return str(_LABELS.get(entry.action, entry.action))


def _value(post: Post, field: str, value: Any) -> Any:
    """A change's value as staff read it: a status in words, an instant on the post's clock."""
    if field == "status" and value in BookingStatus.values:
        return BookingStatus(value).label
    if field == "starts_at" and isinstance(value, str):
        try:
            moment = clock.local(post, datetime.fromisoformat(value))
        except (TypeError, ValueError):
            return value
        return f"{moment:%Y-%m-%d %H:%M} {clock.zone_short(moment)}"
    return value


def _changes(post: Post, changes: Any) -> list[dict[str, Any]]:
    """``{field: [before, after]}`` as lines; any other shape is shown as a plain value."""
    if not isinstance(changes, dict):
        return [{"field": "", "value": changes}] if changes else []
    lines = []
    for field, value in changes.items():
        if field in _UNSHOWN:
            continue
        if isinstance(value, list | tuple) and len(value) == 2:
            before, after = (_value(post, field, part) for part in value)
            lines.append({"field": field, "before": before, "after": after, "pair": True})
        else:
            lines.append({"field": field, "value": _value(post, field, value)})
    return lines


def _line(post: Post, entry: AuditEntry) -> StoryLine:
    moment = clock.local(post, entry.created_at)
    return StoryLine(
        entry=entry,
        when=f"{moment:%Y-%m-%d %H:%M:%S}",
        zone=clock.zone_short(moment),
        who=who_text(entry),
        what=what_text(entry),
        changes=_changes(post, entry.changes),
    )


def booking_story(booking: Booking, *, limit: int) -> list[StoryLine]:
    """The booking's entries, newest first (at most ``limit``), as lines. One query."""
    return [_line(booking.post, entry) for entry in audit.history(booking)[:limit]]


def _tone(action: str) -> str:
    if action in DOOR_ADMITTED:
        return "admit"
    return "early" if action in DOOR_EARLY else "refused"


def door_answers_last(*, post: Post, bookings: list[Booking]) -> dict[int, DoorAnswer]:
    """The door's last answer for each of ``bookings`` that was scanned: one query."""
    if not bookings:
        return {}
    entries = (
        AuditEntry.objects.filter(
            object_type=_BOOKING_TYPE,
            object_id__in=[str(booking.pk) for booking in bookings],
            action__in=list(DOOR_ANSWER_LABELS),
        )
        .order_by("created_at", "id")
        .only("object_id", "action", "created_at")
    )
    last = {int(entry.object_id): entry for entry in entries}  # later entries win
    return {
        pk: DoorAnswer(
            label=str(DOOR_ANSWER_LABELS[entry.action]),
            time=clock.time_text(clock.local(post, entry.created_at)),
            tone=_tone(entry.action),
        )
        for pk, entry in last.items()
    }


@dataclass(frozen=True)
class DoorLogLine:
    when: str  # HH:MM:SS on the post's clock
    zone: str
    code: str  # as typed, normalised
    who: str


def door_log(*, post: Post, day: date) -> list[DoorLogLine]:
    """The codes the post's door refused on its local ``day`` because no booking has them,
    in order. No names: there is no booking behind them. One query."""
    start, end = local_day_bounds(post, day)
    entries = AuditEntry.objects.filter(
        post=post,
        action=DOOR_ACTIONS["not_found"],
        created_at__gte=start,
        created_at__lt=end,
    ).order_by("created_at", "id")
    lines = []
    for entry in entries:
        moment = clock.local(post, entry.created_at)
        lines.append(
            DoorLogLine(
                when=f"{moment:%H:%M:%S}",
                zone=clock.zone_short(moment),
                code=str((entry.changes or {}).get("code", "")),
                who=entry.actor_name,
            )
        )
    return lines
