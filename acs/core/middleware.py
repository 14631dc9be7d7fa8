from __future__ import annotations

import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

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
