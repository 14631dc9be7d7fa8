"""How often a citizen may try the booking pages that cost the post something: confirming a
booking (per client address and per email, ``ACS_BOOKING_RATE_*``) and looking one up by
code and email (per client address, so that codes cannot be guessed in bulk).

The counting itself is ``acs.core.ratelimit``; here are only the scopes and the limits, so
that a page says which limit it is under and nothing more.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from acs.core import ratelimit

# Lookups an hour from one client address.
FIND_PER_ADDRESS = 20


def booking_over_limit(request: HttpRequest, email: str) -> bool:
    """Count one confirm; True once the address or the email has passed its limit."""
    return ratelimit.over_limit(
        request,
        "booking",
        per_address=settings.ACS_BOOKING_RATE_PER_ADDRESS,
        email=email,
        per_email=settings.ACS_BOOKING_RATE_PER_EMAIL,
    )


def find_over_limit(request: HttpRequest) -> bool:
    """Count one lookup; True once the address has passed its limit."""
    return ratelimit.over_limit(request, "find", per_address=FIND_PER_ADDRESS)


def waitlist_over_limit(request: HttpRequest, email: str) -> bool:
    """Count one request to join a waitlist, under the booking's own limits: a place on the
    waitlist costs the post a seat later, as a booking does now."""
    return ratelimit.over_limit(
        request,
        "waitlist",
        per_address=settings.ACS_BOOKING_RATE_PER_ADDRESS,
        email=email,
        per_email=settings.ACS_BOOKING_RATE_PER_EMAIL,
    )


def request_over_limit(request: HttpRequest, email: str) -> bool:
    """Count one round request; the same limits as confirming a booking, counted apart."""
    return ratelimit.over_limit(
        request,
        "round-request",
        per_address=settings.ACS_BOOKING_RATE_PER_ADDRESS,
        email=email,
        per_email=settings.ACS_BOOKING_RATE_PER_EMAIL,
    )
