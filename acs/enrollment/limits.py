"""How often the account pages that send mail or check a password may be tried: per client
address and per email address an hour (``ACS_ACCOUNT_RATE_*``), each page under its own
scope, so that guessing passwords does not use up the sign-up allowance.

The counting itself is ``acs.core.ratelimit``; here are only the limits.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from acs.core import ratelimit


def account_over_limit(request: HttpRequest, scope: str, email: str = "") -> bool:
    """Count one attempt at ``scope``; True once the address or the email has passed its
    limit."""
    return ratelimit.over_limit(
        request,
        scope,
        per_address=settings.ACS_ACCOUNT_RATE_PER_ADDRESS,
        email=email,
        per_email=settings.ACS_ACCOUNT_RATE_PER_EMAIL,
    )
