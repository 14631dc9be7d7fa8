"""Fixed-window rate limits kept in the cache (Redis in production), shared by all processes.

A request that counts several limits at once (a booking: its client address and its email)
counts them in one round trip to Redis (``hits``): a pipeline of ``SET key 0 EX … NX`` and
``INCR key`` per limit. Django's ``cache.incr`` is two round trips per limit (``EXISTS``, then
``INCR``), and a first attempt in a window a third (``add``); at a release moment those were
four to six round trips per booking. Other caches (process memory in the tests, files in the
demo) count through Django's cache API, one limit after another.
"""

from __future__ import annotations

import hashlib
import ipaddress
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.http import HttpRequest
from ipware import get_client_ip


@dataclass(frozen=True)
class Limit:
    """``limit`` attempts at ``scope`` per ``window`` seconds by ``identity`` (an address,
    an email)."""

    scope: str
    identity: str
    limit: int
    window: int = 3600


def _key(scope: str, identity: str, window: int) -> str:
    digest = hashlib.sha256(identity.strip().lower().encode()).hexdigest()[:32]
    return f"rl:{scope}:{digest}:{int(time.time() // window)}"


def _count_in_cache(key: str, window: int) -> int:
    try:
        return cache.incr(key)  # one round trip in the common case
    except ValueError:  # first attempt in this window (or the key just expired)
        # add() fails only if another process created the key meanwhile: count on it.
        return 1 if cache.add(key, 1, timeout=window + 5) else cache.incr(key)


def _count_in_redis(backend: RedisCache, keys: list[tuple[str, int]]) -> list[int]:
    """Count one attempt for each (key, window) in one round trip."""
    redis_keys = [backend.make_and_validate_key(key) for key, _window in keys]
    pipe = backend._cache.get_client(redis_keys[0], write=True).pipeline(transaction=False)
    _queue(pipe, redis_keys, [window for _key_name, window in keys])
    return _counts(pipe.execute())


def _queue(pipe, redis_keys: list[str], windows: list[int]) -> None:
    """Add to ``pipe`` the commands that count one attempt per key. The values are the plain
    integers Django's Redis cache stores for ints, so ``cache.get`` reads them as before."""
    for redis_key, window in zip(redis_keys, windows, strict=True):
        # The window's first attempt. The command itself rather than ``pipe.set``, whose
        # check of its experimental arguments cost more CPU than the round trip.
        pipe.execute_command("SET", redis_key, 0, "EX", window + 5, "NX")
        pipe.incr(redis_key)


def _counts(replies: list) -> list[int]:
    return [int(count) for count in replies[1::2]]


def hits(limits: Sequence[Limit]) -> list[bool]:
    """Count one attempt against each of ``limits``; for each, whether it is still allowed
    (False once ``limit`` attempts were made in this window). One round trip on Redis."""
    keys = [(_key(lim.scope, lim.identity, lim.window), lim.window) for lim in limits]
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        counts = _count_in_redis(backend, keys)
    else:
        counts = [_count_in_cache(key, window) for key, window in keys]
    return _verdicts(counts, limits)


def hits_with(limits: Sequence[Limit], backend: RedisCache, pipe) -> Callable[[list], list[bool]]:
    """Queue the counting of ``limits`` in ``pipe``, a pipeline of ``backend`` that carries
    another check's commands too (the proof of work's mark), so that both cost one round
    trip. Returns what reads the verdicts (as ``hits`` gives them) from the replies of these
    commands, which come first."""
    keys = [
        backend.make_and_validate_key(_key(lim.scope, lim.identity, lim.window)) for lim in limits
    ]
    _queue(pipe, keys, [lim.window for lim in limits])
    size = 2 * len(limits)
    return lambda replies: _verdicts(_counts(replies[:size]), limits)


def _verdicts(counts: list[int], limits: Sequence[Limit]) -> list[bool]:
    return [count <= lim.limit for count, lim in zip(counts, limits, strict=True)]


def hit(scope: str, identity: str, *, limit: int, window: int) -> bool:
    """Count one attempt; return False once ``limit`` attempts were made in this window."""
    [allowed] = hits([Limit(scope, identity, limit, window)])
    return allowed


def over_limit(
    request: HttpRequest,
    scope: str,
    *,
    per_address: int,
    email: str = "",
    per_email: int = 0,
    window: int = 3600,
    email_from_address: bool = False,
) -> bool:
    """Count one attempt at ``scope`` from the client's address (an IPv6 address counts for
    its whole /64, ``address_group``), and for ``email`` when one is given; True once either
    has passed its limit in this window. Both are counted on every attempt, so that changing
    one (a new address, another email) does not escape the other.

    ``email_from_address``: the email is counted per address (the pair), not alone, so that
    nobody can use up someone else's allowance from elsewhere: wrong passwords typed against
    a citizen's email lock out the one who types them, never the owner at home."""
    group = address_group(client_address(request))
    limits = [Limit(f"{scope}-address", group, per_address, window)]
    if email:
        identity = f"{email}|{group}" if email_from_address else email
        limits.append(Limit(f"{scope}-email", identity, per_email, window))
    return not all(hits(limits))


def address_group(address: str) -> str:
    """What a limit counts as one client: an IPv4 address, or the /64 network of an IPv6
    one (a single subscriber or host is given a whole /64, and a bot in it has millions of
    addresses). Anything unreadable counts as itself."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv4Address):
        return str(parsed)
    if parsed.ipv4_mapped is not None:  # an IPv4 client seen through a dual stack
        return str(parsed.ipv4_mapped)
    return str(ipaddress.IPv6Network(f"{parsed}/64", strict=False))


def client_address(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or the right hop of X-Forwarded-For behind
    ``PROXY_COUNT`` trusted proxies (never a header a client could forge on its own)."""
    proxies = settings.AXES_IPWARE_PROXY_COUNT
    if not proxies:
        return request.META.get("REMOTE_ADDR", "")
    address, _routable = get_client_ip(request, proxy_count=proxies)
    return address or request.META.get("REMOTE_ADDR", "")
