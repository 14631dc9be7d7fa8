"""Fixed-window rate limits kept in the cache (Redis in production), shared by all processes."""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from ipware import get_client_ip


def _key(scope: str, identity: str, window: int) -> str:
    digest = hashlib.sha256(identity.strip().lower().encode()).hexdigest()[:32]
    return f"rl:{scope}:{digest}:{int(time.time() // window)}"


def hit(scope: str, identity: str, *, limit: int, window: int) -> bool:
    """Count one attempt; return False once ``limit`` attempts were made in this window."""
    key = _key(scope, identity, window)
    try:
        count = cache.incr(key)  # one round trip in the common case
    except ValueError:  # first attempt in this window (or the key just expired)
        # add() fails only if another process created the key meanwhile: count on it.
        count = 1 if cache.add(key, 1, timeout=window + 5) else cache.incr(key)
    return count <= limit


def over_limit(
    request: HttpRequest,
    scope: str,
    *,
    per_address: int,
    email: str = "",
    per_email: int = 0,
    window: int = 3600,
) -> bool:
    """Count one attempt at ``scope`` from the client's address, and for ``email`` when one is
    given; True once either has passed its limit in this window. Both are counted on every
    attempt, so that changing one (a new address, another email) does not escape the other."""
    allowed = hit(f"{scope}-address", client_address(request), limit=per_address, window=window)
    if email:
        allowed = hit(f"{scope}-email", email, limit=per_email, window=window) and allowed
    return not allowed


def client_address(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or the right hop of X-Forwarded-For behind
    ``PROXY_COUNT`` trusted proxies (never a header a client could forge on its own)."""
    proxies = settings.AXES_IPWARE_PROXY_COUNT
    if not proxies:
        return request.META.get("REMOTE_ADDR", "")
    address, _routable = get_client_ip(request, proxy_count=proxies)
    return address or request.META.get("REMOTE_ADDR", "")
