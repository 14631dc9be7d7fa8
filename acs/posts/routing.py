"""Which post a public URL names, and the URLconf that serves it.

A public URL names its post: ``/<lang>/<post>/appointments/…``. Each post gets a URLconf of its
own, built once by the root URLconf (``post_urlconf`` in ``acs/urls.py``): the same public
patterns under a prefix that holds the language and the post's slug, the way Django's
``LocalePrefixPattern`` holds the language. Django keeps one resolver per URLconf, and
``reverse()`` uses the URLconf of the thread, so every existing ``reverse("appointments:…")``
and ``{% url %}`` names the post of the page it runs in, without a call site passing it.

- ``PostRoutingMiddleware`` reads the post from the path (or from the host: a post's own host
  names serve its short URLs, ``/<lang>/appointments/…``) and gives the request that post's
  URLconf. ``post_default()`` then answers with that post, so views, forms, the context
  processor, feeds and the page cache follow it.
- ``post_override(post)`` does the same away from a request, for the links in an email or a
  text built by a worker (like ``translation.override`` for the language).

Which slugs and host names exist is read from the database at most once a second per
process (``ACS_POST_ROUTES_SECONDS``), and at once in this process when a post changes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest, HttpResponse
from django.http.request import split_domain_port
from django.urls import LocalePrefixPattern, get_urlconf, set_urlconf
from django.utils.translation import get_language

from acs.posts.models import Post, host_names_split

_named: ContextVar[str | None] = ContextVar("acs_post_named", default=None)


def post_named() -> str | None:
    """The slug of the post the current URL (or ``post_override``) names; None if none."""
    return _named.get()


class PostPrefixPattern(LocalePrefixPattern):
    """``<lang>/<post>/``: the language prefix of ``i18n_patterns`` followed by one post's
    slug. Matched and reversed with the active language, like its parent."""

    def __init__(self, slug: str) -> None:
        super().__init__(prefix_default_language=True)
        self.slug = slug

    @property
    def language_prefix(self) -> str:
        return f"{get_language() or settings.LANGUAGE_CODE}/{self.slug}/"


def urlconf(slug: str, *, short: bool = False) -> Any:
    """The URLconf of the post ``slug``: its long URLs, or (``short``) the ``/<lang>/…`` ones
    its own host names serve. Built by the root URLconf, which knows the public patterns."""
    return import_module(settings.ROOT_URLCONF).post_urlconf(slug, short=short)


@contextmanager
def post_override(post: Post | str) -> Iterator[None]:
    """Build links (``reverse``) and read ``post_default()`` as the pages of ``post`` do:
    ``/<lang>/<post>/…``. For emails and letters made away from a request."""
    slug = post if isinstance(post, str) else post.slug
    token = _named.set(slug)
    before = get_urlconf()
    set_urlconf(urlconf(slug))
    try:
        yield
    finally:
        set_urlconf(before)
        _named.reset(token)


# Which posts and host names exist ----------------------------------------------------------


@dataclass(frozen=True)
class Routes:
    slugs: frozenset[str]
    hosts: dict[str, str]  # host name -> slug
    shared_countries: frozenset[str]  # countries of more than one post (ISO 3166-1 alpha-2)


_routes: tuple[float, Routes] | None = None
_routes_lock = threading.Lock()


def routes() -> Routes:
    """Every post's slug and host names, re-read at most every ``ACS_POST_ROUTES_SECONDS``."""
    global _routes
    known = _routes
    now = time.monotonic()
    if known is not None and known[0] > now:
        return known[1]
    slugs, hosts, countries = set(), {}, []
    rows = Post.objects.order_by("slug").values_list("slug", "host_names", "country_code")
    for slug, names, country in rows:
        slugs.add(slug)
        countries.append(country.upper())
        for name in host_names_split(names):
            hosts.setdefault(name, slug)
    shared = frozenset(country for country in countries if countries.count(country) > 1)
    found = Routes(slugs=frozenset(slugs), hosts=hosts, shared_countries=shared)
    with _routes_lock:
        _routes = (now + settings.ACS_POST_ROUTES_SECONDS, found)
    return found


def routes_forget(**_kwargs: Any) -> None:
    """Read the posts afresh on the next request (a post was added, renamed or removed)."""
    global _routes
    with _routes_lock:
        _routes = None


post_save.connect(routes_forget, sender=Post, dispatch_uid="acs.posts.routes_forget.save")
post_delete.connect(routes_forget, sender=Post, dispatch_uid="acs.posts.routes_forget.delete")


def _host(request: HttpRequest) -> str | None:
    try:
        host = request.get_host()
    except DisallowedHost:
        return None  # CommonMiddleware answers it with a 400
    return split_domain_port(host)[0] or None


def route(request: HttpRequest) -> tuple[str | None, Any]:
    """The slug of the post ``request`` is for and its URLconf, or (None, None): a path
    ``/<lang>/<post>/…`` names its post; otherwise, under ``/<lang>/``, a post's own host
    serves its short URLs (``/`` needs no post: it only redirects to ``/<lang>/``)."""
    parts = request.path_info.split("/", 3)
    if len(parts) < 3 or parts[1] not in {code for code, _name in settings.LANGUAGES}:
        return None, None  # the staff pages, the API, /healthz: no post in their URLs
    known = routes()
    if parts[2] in known.slugs:
        return parts[2], urlconf(parts[2])
    slug = known.hosts.get(_host(request) or "")
    if slug is not None:
        return slug, urlconf(slug, short=True)
    return None, None


class PostRoutingMiddleware:
    """Give the request the URLconf of the post it names, and make that post the current one
    for as long as the request lasts. Sits before the page cache, which keys pages by post."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        slug, conf = route(request)
        if conf is not None:
            request.urlconf = conf
        token = _named.set(slug)
        try:
            return self.get_response(request)
        finally:
            _named.reset(token)
