"""How often the account pages that send mail or check a password may be tried: per client
address and per email address an hour (``ACS_ACCOUNT_RATE_*``), each page under its own
scope, so that guessing passwords does not use up the sign-up allowance.

The counting itself is ``acs.core.ratelimit``; here are only the limits.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from acs.core import ratelimit

# Guessing a password, or asking for a sign-in link, is counted per email *and* address:
# an attacker who tries a citizen's email from elsewhere uses up only their own allowance,
# so the owner can always sign in, with the password or the emailed link. The link's email
# has, besides, a cap of its own per email (``ACS_SIGN_IN_LINK_PER_EMAIL``) so that nobody's
# inbox is flooded from many addresses.
PER_PAIR = frozenset({"sign-in", "sign-in-link"})


def account_over_limit(request: HttpRequest, scope: str, email: str = "") -> bool:
    """Count one attempt at ``scope``; True once the address or the email has passed its
    limit."""
    over = ratelimit.over_limit(
        request,
        scope,
        per_address=settings.ACS_ACCOUNT_RATE_PER_ADDRESS,
        email=email,
        per_email=settings.ACS_ACCOUNT_RATE_PER_EMAIL,
        email_from_address=scope in PER_PAIR,
    )
    if scope == "sign-in-link" and email and not over:
        over = not ratelimit.hit(
            "sign-in-link-inbox", email, limit=settings.ACS_SIGN_IN_LINK_PER_EMAIL, window=3600
        )
    return over
