from __future__ import annotations

import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.cache import patch_cache_control

# A first path segment shaped like a language tag: "fr", "pt-br", "zh-hans".
_LANGUAGE_PREFIX = re.compile(r"^/(?P<code>[a-zA-Z]{2})(?:[-_][a-zA-Z]{2,4})?(?P<rest>/.*)?$")


class UnknownLanguagePrefixMiddleware:
    """Send a reader who typed an unknown language prefix (``/fr/…``) to the English page.

    Only 404 responses are looked at, so every real URL is untouched.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.known = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code != 404 or request.method not in ("GET", "HEAD"):
            return response
        match = _LANGUAGE_PREFIX.match(request.path_info)
        if not match or match["code"].lower() in self.known:
            return response
        target = f"/{settings.LANGUAGE_CODE}{match['rest'] or '/'}"
        if request.META.get("QUERY_STRING"):
            target = f"{target}?{request.META['QUERY_STRING']}"
        return HttpResponseRedirect(target)


# Pages that are someone's own: never kept by a browser's or a proxy's cache, so that the back
# button on a shared computer, or a cache between, shows nothing of them after sign-out.
PRIVATE_NAMESPACES = frozenset({"staff", "posts", "admin", "enrollment"})
# The booking steps that show the people typed in (names, dates of birth, passports).
PRIVATE_STEPS = frozenset({"appointments:people", "appointments:review"})


def is_private(request: HttpRequest) -> bool:
    """A staff page, a citizen's account page, a page opened by a personal link (its URL
    holds a token), or a booking step showing the people being booked."""
    if request.path_info.startswith("/staff/"):
        return True
    match = getattr(request, "resolver_match", None)
    if match is None:
        return False
    if PRIVATE_NAMESPACES & set(match.namespaces) or match.view_name in PRIVATE_STEPS:
        return True
    return any(name == "token" or name.endswith("_token") for name in match.kwargs)


class PrivatePagesMiddleware:
    """``Cache-Control: no-store, private`` on every private page (``is_private``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if is_private(request):
            patch_cache_control(response, no_store=True, private=True)
            response.headers.pop("Expires", None)
        return response
