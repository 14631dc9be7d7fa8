"""What the pages of a booking made without JavaScript show (``services.emailhold``): the
"check your email" page after the review, and the page behind the emailed link, in each of
its states (open to confirm, already confirmed, expired)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from acs.appointments import summary
from acs.appointments.constants import HoldStatus
from acs.appointments.models import SeatHold, Service
from acs.appointments.services import emailhold
from acs.appointments.services.holds import HoldError, hold_refusal
from acs.core import clock


def sent_page(service: Service, sent: dict | None) -> dict[str, Any]:
    """``sent``: what the review put in this browser's session (the address the link went
    to); another browser sees the same page without it."""
    return {
        "service": service,
        "email": (sent or {}).get("email", ""),
        "hold_minutes": emailhold.hold_minutes(),
    }


def _state(hold: SeatHold, error: Exception | None) -> tuple[str, int]:
    """The page's state and status: ``open`` (200), ``confirmed`` (200), ``expired`` or
    ``gone`` (410), ``refused`` (409: the booking rules said no)."""
    if hold.status == HoldStatus.CLAIMED:
        return "confirmed", 200
    refusal = error if isinstance(error, HoldError) else hold_refusal(hold, now=timezone.now())
    if refusal is not None:
        return ("expired" if refusal.code == "expired" else "gone"), 410
    if error is not None:
        return "refused", 409
    return "open", 200


def hold_page(hold: SeatHold, *, error: Exception | None = None) -> dict[str, Any]:
    post = hold.service.post
    held = hold.email_hold
    state, status = _state(hold, error)
    return {
        "hold": hold,
        "service": hold.service,
        "state": state,
        "status": status,
        "when": clock.when_texts(post, hold.starts_at),
        "until": clock.when_text(post, hold.expires_at),
        "address_lines": summary.address_lines(post),
        "people": [person.full_name for person in held.people.all()],
        "booking": held.booking if state == "confirmed" else None,
        "error_message": getattr(error, "message", "") if state == "refused" else "",
    }
