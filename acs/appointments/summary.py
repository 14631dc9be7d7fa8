"""A booking as the citizen's pages show it: when (on the post's wall clock, with its zone),
where, who, and whether it can still be moved or cancelled; and the same for a draft on the
review page, before it is booked.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from acs.appointments import selectors
from acs.appointments.availability import Slot
from acs.appointments.constants import BookingStatus
from acs.appointments.models import Booking, Service
from acs.appointments.wizard import Draft
from acs.core import clock
from acs.core.forms.phone import phone_display
from acs.posts.models import Post


def address_lines(post: Post) -> list[str]:
    return [line.strip() for line in post.street_address.splitlines() if line.strip()]


def changeable(booking: Booking) -> bool:
    """The citizen may still move or cancel it: booked, and not yet begun."""
    return booking.status == BookingStatus.BOOKED and booking.starts_at > timezone.now()


def nearest(service: Service, slots: list[Slot]) -> list[dict[str, str]]:
    """The free times a refusal offers instead, each with its full text."""
    return [
        {"key": slot.key, "label": clock.when_texts(service.post, slot.starts_at)["full"]}
        for slot in slots
    ]


def booking_summary(booking: Booking) -> dict[str, Any]:
    post = booking.post
    return {
        "booking": booking,
        "service": booking.service,
        "when": clock.when_texts(post, booking.starts_at),
        "address_lines": address_lines(post),
        "people": [person.full_name for person in booking.people.all()],
        "changeable": changeable(booking),
        "cancelled": booking.status == BookingStatus.CANCELLED,
    }


def cancel_page(booking: Booking) -> dict[str, Any]:
    """The cancel page: the booking, and whether cancelling now counts as late."""
    return {**booking_summary(booking), "late": selectors.cancellation_is_late(booking)}


def draft_summary(draft: Draft) -> dict[str, Any]:
    """The review page's account of a complete draft (the wizard made sure it is)."""
    service = draft.service
    post = service.post
    starts_at = draft.starts_at
    people = [
        {
            "full_name": person.full_name,
            "date_of_birth": date_format(person.date_of_birth, "DATE_FORMAT"),
            "passport_number": person.passport_number,
        }
        for person in draft.person_data()
    ]
    query = {"people": draft.people_count, "day": clock.today(post, starts_at).isoformat()}
    return {
        "service": service,
        "when": clock.when_texts(post, starts_at),
        "address_lines": address_lines(post),
        "people": people,
        "people_count": draft.people_count,
        "contact": {**draft.contact, "phone_display": phone_display(draft.contact["phone"])},
        "change_when_url": reverse("appointments:when", kwargs={"service": service.slug})
        + "?"
        + urlencode(query),
    }
