"""The public pages' shared cache, and the headers that let a CDN and browsers cache them.

In an emergency a crowd reads the same few pages (home, messages, one message, the feeds).
Each costs 10–20 ms of CPU to render, the same for every anonymous reader; served from the
cache it costs one Redis read. ``PublicPageCacheMiddleware`` sits right after WhiteNoise, so
a cached page is answered before the session, locale, CSRF and auth middleware run.

Which pages: views marked ``@public_page``, answering a GET from a visitor with no session
(signed-in citizens and staff are never served from, nor stored into, the shared cache; their
answers say ``Cache-Control: private``). An answer is stored only if it is a plain 200 that
sets no cookie: a page that hands out a CSRF token or a flash message is never cached.

Invalidation needs no hook in any service: the cache key holds a *stamp* of the post, read in
one query (``site_stamp``): the post's ``updated_at``, and the latest ``updated_at`` and the
row count of each table the pages show (``ACS_PAGE_CACHE_TABLES``: pages, messages, closures;
named in the settings, because core sits below the apps and imports none of them). Any
change, addition or deletion changes the stamp, so every process finds a new key and renders
afresh; old entries die with their TTL. Each
process reuses the stamp it read for ``ACS_PAGE_CACHE_STAMP_SECONDS`` (1 s), and keeps the
pages it served for as long, so a change shows everywhere within a second while a crowd
costs one stamp query and one Redis read per page per process per second.

Changes that only the clock makes (a message's effective period ends, a closure starts or
ends, a change not in the stamp, such as a service's name) are bounded by the entry's TTL,
``ACS_PAGE_CACHE_SECONDS``, which is also the ``max-age`` a CDN or browser may keep the page.

ETag is a hash of the stored body and Last-Modified the time it was rendered, so a
conditional request is answered with 304 exactly when the reader already has these bytes
(a time-made change renders different bytes, a new ETag and a later date).

If the cache fails (Redis down or slow), pages are rendered and sent with the same headers,
uncached; the process leaves the cache alone for ``_DOWN_SECONDS`` before trying it again,
so that a dead Redis costs one short timeout per process, not one per request.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import DisallowedHost
from django.db.models import Count, Max, OuterRef, Subquery
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils import translation
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.http import http_date

from acs.posts.models import Post
from acs.posts.routing import post_named

logger = logging.getLogger(__name__)

V = TypeVar("V")

_MARK = "acs_public_page"
# Cookies that mean "this visitor is not anonymous" or "this page must show them something
# of their own": the session (citizens and staff) and Django's flash messages.
_MESSAGES_COOKIE = "messages"  # django.contrib.messages' CookieStorage.cookie_name
_DOWN_SECONDS = 10.0
_KEY_PREFIX = "acs:page:"
_clock = time.monotonic  # the tests move it on


def public_page(view: V) -> V:
    """Mark a view (a function, or a class such as a Feed) whose answer to an anonymous GET
    is the same for every reader of the URL, and may be cached and shared."""
    setattr(view, _MARK, True)
    return view


# The stamp ---------------------------------------------------------------------------------


def _changed(label: str) -> tuple[Subquery, Subquery]:
    rows = apps.get_model(label).objects.filter(post=OuterRef("pk")).order_by().values("post")
    return (
        Subquery(rows.annotate(latest=Max("updated_at")).values("latest")),
        Subquery(rows.annotate(count=Count("pk")).values("count")),
    )


def site_stamp(slug: str) -> tuple | None:
    """What the public pages of the post ``slug`` show, summed up in one query: the post's
    last change, and the latest change and the number of rows of each table in
    ``ACS_PAGE_CACHE_TABLES`` (counts, so that a deletion counts too). None if there is no
    such post."""
    columns = {}
    for number, label in enumerate(settings.ACS_PAGE_CACHE_TABLES):
        columns[f"changed_{number}"], columns[f"rows_{number}"] = _changed(label)
    return (
        Post.objects.filter(slug=slug)
        .annotate(**columns)
        .values_list("pk", "updated_at", *columns)
        .first()
    )


_stamps: dict[str, tuple[float, str | None]] = {}
_stamps_lock = threading.Lock()


def _stamp(slug: str) -> str | None:
    """The post's stamp as a short string, read at most once per
    ``ACS_PAGE_CACHE_STAMP_SECONDS`` by this process."""
    now = _clock()
    known = _stamps.get(slug)
    if known and known[0] > now:
        return known[1]
    row = site_stamp(slug)
    value = None
    if row is not None:
        value = hashlib.blake2b(repr(row).encode(), digest_size=8).hexdigest()
    with _stamps_lock:
        _stamps[slug] = (now + settings.ACS_PAGE_CACHE_STAMP_SECONDS, value)
    return value


def stamps_forget() -> None:
    """Forget the stamps and the pages this process keeps (tests: "a second later")."""
    with _stamps_lock:
        _stamps.clear()
        _recent.clear()


# The pages this process served in the last ACS_PAGE_CACHE_STAMP_SECONDS: a crowd on one page
# costs one Redis read per process per second instead of one per request (the read and its
# unpickling were half of a cached page's CPU time). Keyed like Redis, stamp included, and
# kept no longer than the stamp itself, so it adds no staleness of its own.
_recent: dict[str, tuple[float, tuple]] = {}
_RECENT_MAX = 256  # pages; when full, it starts afresh


def _recent_get(key: str) -> tuple | None:
    found = _recent.get(key)
    return found[1] if found and found[0] > _clock() else None


def _recent_put(key: str, entry: tuple) -> None:
    lifetime = settings.ACS_PAGE_CACHE_STAMP_SECONDS
    if lifetime <= 0:
        return
    if len(_recent) >= _RECENT_MAX:
        _recent.clear()
    _recent[key] = (_clock() + lifetime, entry)


# Which requests ----------------------------------------------------------------------------


@lru_cache(maxsize=2048)
def _is_public(path: str, languages: frozenset[str], urlconf: Any) -> bool:
    """Does ``path`` lead to a ``@public_page`` view? The URLs carry their language, and
    Django matches the prefix against the active one, so resolve in the path's language,
    in the URLconf of the post the request is for (acs/posts/routing.py)."""
    language = path.split("/", 2)[1] if path.count("/") >= 2 else ""
    if language not in languages:
        return False
    with translation.override(language):
        try:
            match = resolve(path, urlconf=urlconf)
        except Resolver404:
            return False
    return bool(getattr(match.func, _MARK, False))


def _storable(request: HttpRequest, response: HttpResponse) -> bool:
    if request.method != "GET" or response.status_code != 200 or response.streaming:
        return False
    if response.cookies:
        return False  # a CSRF token, a flash message: that page is this visitor's own
    control = response.get("Cache-Control", "")
    if any(word in control for word in ("private", "no-store", "no-cache")):
        return False  # the view said so
    # A nonce must be new for every response: a page that uses one is never replayed.
    return "'nonce-" not in response.get("Content-Security-Policy", "")


# The middleware ----------------------------------------------------------------------------


class PublicPageCacheMiddleware:
    """Serve anonymous visitors' public pages from the cache, with CDN headers; see the
    module's notes."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.languages = frozenset(code for code, _name in settings.LANGUAGES)
        self.down_until = 0.0

    def __call__(self, request: HttpRequest) -> HttpResponse:
        seconds = settings.ACS_PAGE_CACHE_SECONDS
        if (
            seconds <= 0
            or request.method not in ("GET", "HEAD")
            or not _is_public(request.path_info, self.languages, getattr(request, "urlconf", None))
        ):
            return self.get_response(request)
        cookies = request.COOKIES
        if settings.SESSION_COOKIE_NAME in cookies or _MESSAGES_COOKIE in cookies:
            return self._private(self.get_response(request))
        key = self._key(request)
        entry = _recent_get(key) if key else None
        if entry is None and key:
            entry = self._cache_call(cache.get, key)
            if entry is not None:
                _recent_put(key, entry)
        if entry is not None:
            return self._answer(request, self._rebuild(entry), entry[0], entry[1])
        response = self.get_response(request)
        if not _storable(request, response):
            return response
        etag = f'"{hashlib.blake2b(response.content, digest_size=12).hexdigest()}"'
        rendered = int(time.time())
        response["ETag"] = etag
        response["Last-Modified"] = http_date(rendered)
        response["Cache-Control"] = f"public, max-age={seconds}"
        # A shared cache must not give this copy to a visitor with a session: the page may
        # one day show who is signed in.
        patch_vary_headers(response, ("Cookie",))
        if key:
            entry = (etag, rendered, tuple(response.items()), response.content)
            self._cache_call(cache.set, key, entry, seconds)
            _recent_put(key, entry)
        return self._answer(request, response, etag, rendered)

    @staticmethod
    def _private(response: HttpResponse) -> HttpResponse:
        if "Cache-Control" not in response:
            response["Cache-Control"] = "private, max-age=0"
        patch_vary_headers(response, ("Cookie",))
        return response

    def _key(self, request: HttpRequest) -> str | None:
        """Per post, stamp, scheme, host (feeds and CAP carry absolute URLs), path (with the
        language) and the whole query string. None: do not use the cache for this one."""
        if _clock() < self.down_until:
            return None
        try:
            host = request.get_host()
        except DisallowedHost:
            return None  # the view's own middleware answers it with a 400
        # The post the URL or the host names (acs/posts/routing.py): each post's own stamp.
        slug = post_named() or settings.ACS_DEFAULT_POST
        stamp = _stamp(slug)
        if stamp is None:
            return None
        raw = "|".join(
            (slug, stamp, request.scheme or "", host, request.get_full_path()),
        ).encode()
        return _KEY_PREFIX + hashlib.blake2b(raw, digest_size=16).hexdigest()

    def _cache_call(self, method: Callable[..., Any], *args: Any) -> Any:
        try:
            return method(*args)
        except Exception:
            # Any failure of the cache (refused, timed out, out of memory): the page is
            # rendered without it. Logged once per outage and process, not per request.
            if _clock() >= self.down_until:
                logger.warning("page cache unavailable; serving pages uncached", exc_info=True)
            self.down_until = _clock() + _DOWN_SECONDS
            return None

    @staticmethod
    def _rebuild(entry: tuple) -> HttpResponse:
        _etag, _rendered, headers, content = entry
        return HttpResponse(content, headers=dict(headers))

    @staticmethod
    def _answer(
        request: HttpRequest, response: HttpResponse, etag: str, rendered: int
    ) -> HttpResponse:
        """The page, or 304 when the reader's copy (If-None-Match, If-Modified-Since) is
        these very bytes."""
        return get_conditional_response(
            request, etag=etag, last_modified=rendered, response=response
        )
