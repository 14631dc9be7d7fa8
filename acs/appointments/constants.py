"""Status vocabularies for appointments, grouped, in one place."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class BookingStatus(models.TextChoices):
    BOOKED = "booked", _("Booked")
    CHECKED_IN = "checked_in", _("Checked in")
    SERVED = "served", _("Served")
    CANCELLED = "cancelled", _("Cancelled")
    LATE_REFUSED = "late_refused", _("Refused: late")
    NO_SHOW = "no_show", _("No-show")


# Bookings that hold their seats and count against a person's one-booking-per-service rule.
ACTIVE = {BookingStatus.BOOKED, BookingStatus.CHECKED_IN}
# Bookings that are over, one way or another.
ENDED = {
    BookingStatus.SERVED,
    BookingStatus.CANCELLED,
    BookingStatus.LATE_REFUSED,
    BookingStatus.NO_SHOW,
}

# A cancellation closer than this to the appointment is allowed, and counted as late.
LATE_CANCELLATION_HOURS = 24

# Audit actions of closures and capacity changes (``acs.core.audit``).
AUDIT_CLOSURE_CREATED = "acs.closure.created"
AUDIT_BOOKING_CANCELLED_BY_CLOSURE = "acs.booking.cancelled_by_closure"
AUDIT_SERVICE_CAPACITY_CHANGED = "acs.service.capacity_changed"
AUDIT_SERVICE_ROUNDS_CHANGED = "acs.service.rounds_changed"


# A booking's story (docs/appointments.md, "A booking's history") --------------------------

AUDIT_BOOKING_CREATED = "acs.booking.created"
AUDIT_BOOKING_RESCHEDULED = "acs.booking.rescheduled"
AUDIT_BOOKING_CANCELLED = "acs.booking.cancelled"


class BookingChannel(models.TextChoices):
    """How a booking was made, as its history tells it."""

    PAGES = "pages", _("Booked through the booking pages")
    API = "api", _("Booked through the API")
    WAITLIST = "waitlist", _("Booked from a waitlist offer")
    DRAW = "draw", _("Booked by a request round's draw")


# Every answer of the door (``services.door``, by its stable code) is one audit entry with
# this action: on the booking, or, for a code that matches none, on the post alone (the
# door's log of the day).
DOOR_ACTIONS = {
    "admitted": "acs.checkin.admitted",
    "overridden": "acs.checkin.overridden",
    "early": "acs.checkin.early",
    "late": "acs.checkin.refused_late",
    "other_day": "acs.checkin.refused_other_day",
    "cancelled": "acs.checkin.refused_cancelled",
    "already_checked_in": "acs.checkin.refused_already_checked_in",
    "not_found": "acs.checkin.refused_not_found",
}
DOOR_ANSWER_LABELS = {
    "acs.checkin.admitted": _("Admitted"),
    "acs.checkin.overridden": _("Admitted by override"),
    "acs.checkin.early": _("Early: asked to come back"),
    "acs.checkin.refused_late": _("Not admitted: late"),
    "acs.checkin.refused_other_day": _("Not admitted: another day"),
    "acs.checkin.refused_cancelled": _("Not admitted: cancelled"),
    "acs.checkin.refused_already_checked_in": _("Not admitted: already checked in"),
    "acs.checkin.refused_not_found": _("Not admitted: no booking has this code"),
}
# Answers shown green, amber and red on the day page and in the door's log.
DOOR_ADMITTED = {"acs.checkin.admitted", "acs.checkin.overridden"}
DOOR_EARLY = {"acs.checkin.early"}


# The waitlist of first-come services (services/waitlist.py, docs/appointments.md).
class WaitlistStatus(models.TextChoices):
    UNCONFIRMED = "unconfirmed", _("Email not yet confirmed")
    WAITING = "waiting", _("Waiting")
    OFFERED = "offered", _("Offered a seat")
    BOOKED = "booked", _("Booked")
    LEFT = "left", _("Left the waitlist")
    REPLACED = "replaced", _("Replaced by a newer request")
    LAPSED = "lapsed", _("Offer not claimed in time")


# Entries that hold their people's place on the waitlist (one per person per service).
WAITLIST_ACTIVE = {WaitlistStatus.WAITING, WaitlistStatus.OFFERED}


class HoldStatus(models.TextChoices):
    HELD = "held", _("Held")
    CLAIMED = "claimed", _("Claimed")
    EXPIRED = "expired", _("Expired")
    RELEASED = "released", _("Released")


AUDIT_WAITLIST_JOINED = "acs.waitlist.joined"
AUDIT_WAITLIST_CONFIRMED = "acs.waitlist.confirmed"
AUDIT_WAITLIST_REPLACED = "acs.waitlist.replaced"
AUDIT_WAITLIST_LEFT = "acs.waitlist.left"
AUDIT_WAITLIST_OFFERED = "acs.waitlist.offered"
AUDIT_WAITLIST_CLAIMED = "acs.waitlist.claimed"
AUDIT_WAITLIST_OFFER_EXPIRED = "acs.waitlist.offer_expired"
AUDIT_WAITLIST_OFFER_RELEASED = "acs.waitlist.offer_released"

# Bookings made without JavaScript: the seat held until the emailed link is followed
# (services/emailhold.py).
AUDIT_EMAIL_HOLD_CREATED = "acs.email_hold.created"
AUDIT_EMAIL_HOLD_CONFIRMED = "acs.email_hold.confirmed"
AUDIT_EMAIL_HOLD_EXPIRED = "acs.email_hold.expired"


# Request rounds (docs/release-rounds.md) ------------------------------------------------------


class ReleaseMode(models.TextChoices):
    """How a service's seats reach citizens."""

    FIRST_COME = "first_come", _("First come, first served")
    ROUNDS = "rounds", _("Request rounds with a draw")


class RoundState(models.TextChoices):
    OPEN = "open", _("Taking requests")
    DRAWN = "drawn", _("Drawn")


class RequestStatus(models.TextChoices):
    UNCONFIRMED = "unconfirmed", _("Waiting for the email to be confirmed")
    CONFIRMED = "confirmed", _("Confirmed, waiting for the draw")
    REPLACED = "replaced", _("Replaced by a later request")
    WON = "won", _("Drawn, being booked")
    BOOKED = "booked", _("Drawn and booked")
    LOST = "lost", _("Not drawn: this round is full")
    REFUSED = "refused", _("Not in the draw")


# Requests the draw has settled: their emails are due (``notified_at``).
REQUEST_SETTLED = {RequestStatus.LOST, RequestStatus.REFUSED}

AUDIT_ROUND_OPENED = "acs.round.opened"
AUDIT_ROUND_DRAWN = "acs.round.drawn"
AUDIT_ROUND_BOOKED = "acs.round.booked"
AUDIT_ROUND_NOT_BOOKED = "acs.round.not_booked"
AUDIT_ROUND_NOTIFIED = "acs.round.notified"
