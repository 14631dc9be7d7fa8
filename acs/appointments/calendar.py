"""An appointment as an iCalendar file (RFC 5545): the manage page's download and the
emails' attachment are the same file, made by ``booking_ics``.

The text is written in the booking's language (the language the citizen booked in), whoever
asks for it: the email worker has no request, and the download must match the email.
"""

from __future__ import annotations

from datetime import UTC, timedelta

from django.utils import timezone, translation
from django.utils.translation import gettext as _
from icalendar import Calendar, Event

from acs.appointments.constants import BookingStatus
from acs.appointments.models import Booking

PRODID = "-//ACS Portal//EN"


def one_line_address(booking: Booking) -> str:
    """The post's street address on one line, for calendar locations and short texts."""
    lines = (line.strip().rstrip(",") for line in booking.post.street_address.splitlines())
    return ", ".join(line for line in lines if line)


def _description(booking: Booking, manage_url: str, *, cancelled: bool) -> str:
    lines = [_("Confirmation code: %(code)s") % {"code": booking.code}, ""]
    if cancelled:
        lines.append(_("This appointment has been cancelled."))
        return "\n".join(lines)
    checklist = booking.service.checklist
    if checklist:
        lines += [_("What to bring:"), *(f"- {item}" for item in checklist), ""]
    lines += [
        _(
            "Do not bring phones or other electronic devices, sealed packages or sealed "
            "envelopes: there is no storage. Food and drinks only for babies and small children."
        ),
        _(
            "If you arrive more than 15 minutes late, you will not be admitted and will have "
            "to book again."
        ),
        "",
        _("Change or cancel: %(url)s") % {"url": manage_url},
    ]
    return "\n".join(lines)


def booking_ics(booking: Booking, manage_url: str, *, cancelled: bool | None = None) -> bytes:
    """The booking as a calendar with one VEVENT, in the booking's language.

    Times are in UTC, so every calendar program places the event at the right instant
    whatever zone it runs in. The UID stays the same when the booking moves (and SEQUENCE
    goes up), so a calendar that imports a later file moves or cancels the event instead of
    adding a second one. ``cancelled`` (METHOD:CANCEL, STATUS:CANCELLED) defaults to the
    booking's own status.
    """
    if cancelled is None:
        cancelled = booking.status == BookingStatus.CANCELLED
    starts_at = booking.starts_at.astimezone(UTC)
    with translation.override(booking.language):
        summary = f"{booking.service.name} — {booking.post.display_name}"
        description = _description(booking, manage_url, cancelled=cancelled)

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "PUBLISH")

    event = Event()
    event.add("uid", f"{booking.token}@acs-portal")
    event.add("dtstamp", timezone.now().astimezone(UTC))
    event.add("dtstart", starts_at)
    event.add("dtend", starts_at + timedelta(minutes=booking.service.duration_minutes))
    # A cancellation must not rank below the last update a calendar has seen.
    event.add("sequence", booking.reschedule_count + (1 if cancelled else 0))
    event.add("summary", summary)
    event.add("location", one_line_address(booking))
    event.add("description", description)
    event.add("url", manage_url)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    calendar.add_component(event)
    return calendar.to_ical()
