"""The door: check-in under the post's rules, overrides, served, and no-shows.

The life cycle of a booking after it is made::

    booked ──► checked_in ──► served
      │
      ├──► cancelled       (booking.booking_cancel, closures)
      ├──► late_refused    (scanned more than ``post.late_limit_minutes`` after the start)
      └──► no_show         (still booked once the start plus the late limit has passed)

Rules, all from the post's own settings and clock:

- "today" is the post's local date; a booking on another local date is refused;
- late: more than ``late_limit_minutes`` after the start is refused (exactly the limit is
  admitted: 15:00 late yes, 15:01 — even 15 minutes and 1 second — no);
- early: more than ``early_window_minutes`` before the start is asked to come back at
  start − window (exactly the window is admitted). Durations are measured between instants,
  so a daylight-saving change in between cannot add or remove an hour.

Every change of state locks the booking's row first (``select_for_update``; on SQLite the
``IMMEDIATE`` transaction already holds the write lock), so two tablets scanning the same code
at once cannot both admit: the second one waits, then sees "already checked in". Every change
of state writes its audit entry in the same transaction.

Every answer is in the audit log, one entry per scan, as the booking's story tells it (who was
at the door, when, what it answered): the answers that change nothing too (another day,
cancelled, already in, early, a second late scan), on their booking. A code that matches no
booking is kept as an entry on the post alone, with the code as typed: the door's log of the
day (``selectors.door_log``). Recording an answer is one INSERT in the scan's transaction.
The screens still show no one's name on a refusal (only the admit screen does): the story is
read on the booking's staff page, by those allowed to see it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from acs.appointments.constants import DOOR_ACTIONS, BookingStatus
from acs.appointments.models import CODE_ALPHABET, Booking, BookingPerson
from acs.appointments.services.mail import booking_email_queue
from acs.core import clock
from acs.core.audit import audit_record
from acs.core.clock import long_date
from acs.core.constants import ActorKind
from acs.posts.models import Post

# An override needs a reason someone can read later, not "ok".
OVERRIDE_REASON_MIN_LENGTH = 10

ADMIT = "admit"
REFUSED = "refused"
EARLY = "early"

# Refusals an officer may override: the booking exists and was never cancelled or used.
_OVERRIDABLE = {"other_day", "late", "early"}
_CODE_PATTERN = re.compile(rf"^[{CODE_ALPHABET}]{{4}}-[{CODE_ALPHABET}]{{4}}$")


class CheckinRefused(Exception):
    """A door action the rules do not allow; ``code`` is stable for pages, the API and
    tests (``reason_required``, ``not_overridable``, ``not_checked_in``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class CheckinResult:
    """What the door screen shows.

    ``outcome`` is ``admit`` (green), ``refused`` (red) or ``early`` (amber); ``code`` is the
    stable reason (``admitted``, ``overridden``, ``not_found``, ``other_day``, ``cancelled``,
    ``already_checked_in``, ``late``, ``early``); ``message`` is in plain words.
    """

    outcome: str
    code: str
    message: str
    booking: Booking | None = None
    queue_position: int | None = None
    come_back_at: datetime | None = None  # in the post's zone, for ``early``
    overridable: bool = False

    @property
    def admitted(self) -> bool:
        return self.outcome == ADMIT


def normalize_code(raw: str) -> str:
    """``k7mx 3qpa``, ``K7MX3QPA`` and `` K7MX-3QPA `` are all ``K7MX-3QPA``."""
    compact = re.sub(r"[^0-9A-Za-z]", "", raw or "").upper()
    if len(compact) == 8:
        return f"{compact[:4]}-{compact[4:]}"
    return compact


def _hhmm(instant: datetime, post: Post) -> str:
    return clock.time_text(clock.local(post, instant))


def queue_position(booking: Booking, *, now: datetime) -> int:
    """Where ``booking`` stands among the post's bookings checked in today (post-local),
    by check-in time; 1 is the first person admitted today."""
    post = booking.post
    # The post's local day: 23 or 25 hours long on a daylight-saving change.
    today = clock.today(post, now)
    start, end = clock.midnight(post, today), clock.midnight(post, today + timedelta(days=1))
    return (
        Booking.objects.filter(
            post=post,
            status__in=[BookingStatus.CHECKED_IN, BookingStatus.SERVED],
            checked_in_at__gte=start,
            checked_in_at__lt=end,
        )
        .filter(
            Q(checked_in_at__lt=booking.checked_in_at)
            | Q(checked_in_at=booking.checked_in_at, pk__lte=booking.pk)
        )
        .count()
    )


# Judging -------------------------------------------------------------------------------------


def _refused(code: str, message: str, booking: Booking | None = None) -> CheckinResult:
    return CheckinResult(
        outcome=REFUSED,
        code=code,
        message=message,
        booking=booking,
        overridable=code in _OVERRIDABLE,
    )


def _late_message(booking: Booking) -> str:
    return _(
        "More than %(minutes)d minutes late: the appointment was at %(time)s. Not admitted; "
        "a link to book a new appointment has been emailed."
    ) % {"minutes": booking.post.late_limit_minutes, "time": _hhmm(booking.starts_at, booking.post)}


def _status_refusal(booking: Booking) -> CheckinResult | None:
    """Refusals that follow from the booking's state alone."""
    if booking.status == BookingStatus.CANCELLED:
        return _refused("cancelled", _("This appointment was cancelled."), booking)
    if booking.status in (BookingStatus.CHECKED_IN, BookingStatus.SERVED):
        when = booking.checked_in_at or booking.starts_at
        return _refused(
            "already_checked_in",
            _("Already checked in at %(time)s.") % {"time": _hhmm(when, booking.post)},
            booking,
        )
    if booking.status == BookingStatus.LATE_REFUSED:
        return _refused("late", _late_message(booking), booking)
    return None


def _time_verdict(booking: Booking, now: datetime) -> CheckinResult | None:
    """Refusals that follow from the post's clock: another day, late, early."""
    post = booking.post
    zone = post.zone
    booking_day = clock.today(post, booking.starts_at)
    today = clock.today(post, now)
    if booking_day != today:
        values = {"date": long_date(booking_day)}
        if booking_day > today:
            message = _("This appointment is on %(date)s.") % values
        else:
            message = _("This appointment was on %(date)s.") % values
        return _refused("other_day", message, booking)
    if now - booking.starts_at > timedelta(minutes=post.late_limit_minutes):
        return _refused("late", _late_message(booking), booking)
    if booking.starts_at - now > timedelta(minutes=post.early_window_minutes):
        come_back_at = (
            booking.starts_at - timedelta(minutes=post.early_window_minutes)
        ).astimezone(zone)
        return CheckinResult(
            outcome=EARLY,
            code="early",
            message=_("Too early. Come back at %(time)s.") % {"time": f"{come_back_at:%H:%M}"},
            booking=booking,
            come_back_at=come_back_at,
            overridable=True,
        )
    return None


def _locked_booking(post: Post, code: str) -> Booking | None:
    code = normalize_code(code)
    if not _CODE_PATTERN.match(code):
        return None
    return (
        # ``of=("self",)``: lock the booking's row only, not the post's and service's rows
        # that the join reads (PostgreSQL would lock those too, and every door would queue).
        Booking.objects.select_for_update(of=("self",))
        .select_related("post", "service")
        .filter(post=post, code=code)
        .first()
    )


def _not_found() -> CheckinResult:
    return _refused(
        "not_found",
        _("No booking has this code. Check the code, or ask to see the confirmation email."),
    )


# The longest code the door's log keeps as typed (the door's form takes 40 characters).
_TYPED_KEPT = 40


def _record_answer(
    result: CheckinResult, *, post: Post, code: str, actor: AbstractBaseUser, now: datetime
) -> None:
    """The entry of an answer that changes nothing: on its booking, or, for a code that
    matches none, on the post with the code as typed (normalised), for the door's log."""
    action = DOOR_ACTIONS[result.code]
    booking = result.booking
    if booking is None:
        typed = normalize_code(code)[:_TYPED_KEPT]
        audit_record(
            actor=actor,
            actor_kind=ActorKind.DOOR,
            action=action,
            post=post,
            summary=f"{typed}: no such booking",
            changes={"code": typed},
            at=now,
        )
        return
    audit_record(
        actor=actor,
        actor_kind=ActorKind.DOOR,
        action=action,
        target=booking,
        summary=f"{booking.code}: {result.code}",
        at=now,
    )


# Changes of state ----------------------------------------------------------------------------


def _admit(
    booking: Booking,
    *,
    actor: AbstractBaseUser,
    now: datetime,
    action: str,
    summary: str,
    reason: str = "",
) -> None:
    before = booking.status
    booking.status = BookingStatus.CHECKED_IN
    booking.checked_in_at = now
    booking.save(update_fields=["status", "checked_in_at"])
    changes = {"status": [before, BookingStatus.CHECKED_IN], "checked_in_at": [None, str(now)]}
    if reason:
        # The summary is cut at 300 characters; the reason is kept whole here.
        changes["override_reason"] = ["", reason]
    audit_record(
        actor=actor,
        actor_kind=ActorKind.DOOR,
        action=action,
        target=booking,
        summary=summary,
        changes=changes,
        at=now,
    )


def _refuse_late(booking: Booking, *, actor: AbstractBaseUser, now: datetime) -> None:
    """booked (or no-show) → late_refused, once; the citizen is emailed a link to book again.

    Their people are released so that they can book again at once.
    """
    before = booking.status
    booking.status = BookingStatus.LATE_REFUSED
    booking.save(update_fields=["status"])
    booking.people.update(active=False)
    audit_record(
        actor=actor,
        actor_kind=ActorKind.DOOR,
        action=DOOR_ACTIONS["late"],
        target=booking,
        summary=f"{booking.code}: more than {booking.post.late_limit_minutes} minutes late",
        changes={"status": [before, BookingStatus.LATE_REFUSED]},
        at=now,
    )
    booking_email_queue(booking=booking, kind="late_refused")


def _admitted(booking: Booking, *, code: str, message: str, now: datetime) -> CheckinResult:
    return CheckinResult(
        outcome=ADMIT,
        code=code,
        message=message,
        booking=booking,
        queue_position=queue_position(booking, now=now),
    )


def checkin_perform(
    *, post: Post, code: str, actor: AbstractBaseUser, now: datetime | None = None
) -> CheckinResult:
    """Judge the booking with confirmation ``code`` at ``post``'s door at ``now``, and admit it
    (booked → checked_in) when the rules allow.

    Never raises for a refusal: the answer is in the result. Repeating a scan is harmless: a
    second scan answers "already checked in at HH:MM" and changes nothing; a second scan of
    a late booking answers "late" again without a second email. Every answer, refusals
    included, is one audit entry (``_record_answer``).
    """
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        booking = _locked_booking(post, code)
        if booking is None:
            result = _not_found()
            _record_answer(result, post=post, code=code, actor=actor, now=now)
            return result
        verdict = _status_refusal(booking) or _time_verdict(booking, now)
        if verdict is not None:
            if verdict.code == "late" and booking.status != BookingStatus.LATE_REFUSED:
                _refuse_late(booking, actor=actor, now=now)
            else:
                _record_answer(verdict, post=post, code=code, actor=actor, now=now)
            return verdict
        _admit(
            booking,
            actor=actor,
            now=now,
            action=DOOR_ACTIONS["admitted"],
            summary=f"{booking.code} admitted",
        )
        return _admitted(booking, code="admitted", message=_("Admitted."), now=now)


def checkin_override(
    *,
    post: Post,
    code: str,
    actor: AbstractBaseUser,
    reason: str,
    now: datetime | None = None,
) -> CheckinResult:
    """Admit the booking with ``code`` although the rules refuse it (late, early, another
    day), for the written ``reason``; audited as ``acs.checkin.overridden`` with the reason.

    Raises CheckinRefused (``reason_required``) when the reason is missing or too short, and
    (``not_overridable``) for a booking that was cancelled or is already in; nothing changes
    then. An unknown code answers ``not_found``; an override of a booking the rules admit
    anyway is an ordinary admission.
    """
    now = now or timezone.now()
    reason = " ".join((reason or "").split())
    if len(reason) < OVERRIDE_REASON_MIN_LENGTH:
        raise CheckinRefused(
            "reason_required",
            _("Write why you admit this person (at least %(count)d characters).")
            % {"count": OVERRIDE_REASON_MIN_LENGTH},
        )
    with transaction.atomic(durable=True):
        booking = _locked_booking(post, code)
        if booking is None:
            result = _not_found()
            _record_answer(result, post=post, code=code, actor=actor, now=now)
            return result
        refusal = _status_refusal(booking)
        if refusal is not None and refusal.code != "late":
            raise CheckinRefused("not_overridable", refusal.message)
        verdict = refusal or _time_verdict(booking, now)
        if verdict is None:  # nothing to override: the rules admit them
            _admit(
                booking,
                actor=actor,
                now=now,
                action=DOOR_ACTIONS["admitted"],
                summary=f"{booking.code} admitted",
            )
            return _admitted(booking, code="admitted", message=_("Admitted."), now=now)
        _admit(
            booking,
            actor=actor,
            now=now,
            action=DOOR_ACTIONS["overridden"],
            summary=f"{booking.code} admitted despite “{verdict.code}”: {reason}",
            reason=reason,
        )
        return _admitted(
            booking,
            code="overridden",
            message=_("Admitted by override: %(reason)s") % {"reason": reason},
            now=now,
        )


def booking_mark_served(
    *, booking: Booking, actor: AbstractBaseUser, now: datetime | None = None
) -> Booking:
    """checked_in → served. Marking twice is harmless; a booking that was not checked in
    raises CheckinRefused (``not_checked_in``)."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        booking = (
            Booking.objects.select_for_update(of=("self",))
            .select_related("post")
            .get(pk=booking.pk)
        )
        if booking.status == BookingStatus.SERVED:
            return booking
        if booking.status != BookingStatus.CHECKED_IN:
            raise CheckinRefused(
                "not_checked_in", _("Only someone who has been checked in can be served.")
            )
        booking.status = BookingStatus.SERVED
        booking.served_at = now
        booking.save(update_fields=["status", "served_at"])
        booking.people.update(active=False)
        audit_record(
            actor=actor,
            action="acs.booking.served",
            target=booking,
            summary=f"{booking.code} served",
            changes={
                "status": [BookingStatus.CHECKED_IN, BookingStatus.SERVED],
                "served_at": [None, str(now)],
            },
            at=now,
        )
    return booking


def no_shows_mark(*, now: datetime | None = None) -> int:
    """booked → no_show for every booking whose start plus its post's late limit has passed.

    The limit is a duration between instants, so no post-local reasoning is needed. One
    transaction: lock the candidates, then one conditional UPDATE (``status = booked``) that
    a concurrent check-in cannot slip through, then one audit entry per booking (actor:
    system), so that each booking's history shows why it ended. Returns how many were marked;
    running it again marks nothing.
    """
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        candidates = [
            booking
            for booking in Booking.objects.select_for_update(of=("self",))
            .select_related("post")
            .filter(status=BookingStatus.BOOKED, starts_at__lt=now)
            if now - booking.starts_at > timedelta(minutes=booking.post.late_limit_minutes)
        ]
        ids = [booking.pk for booking in candidates]
        marked = Booking.objects.filter(pk__in=ids, status=BookingStatus.BOOKED).update(
            status=BookingStatus.NO_SHOW
        )
        if not marked:
            return 0
        BookingPerson.objects.filter(booking_id__in=ids).update(active=False)
        for booking in candidates:
            audit_record(
                actor=None,
                action="acs.booking.no_show",
                target=booking,
                summary=f"{booking.code}: no-show",
                changes={"status": [BookingStatus.BOOKED, BookingStatus.NO_SHOW]},
                at=now,
            )
    return marked
