"""The API's own short middleware chain.

The site's middleware serve pages: sessions, CSRF, sign-in, two-factor, flash messages, the
staff's post and idle timer, the page cache, the lockout of wrong passwords. The API uses none
of them: its requests carry no cookie and its views read neither ``request.session`` nor
``request.user`` (acs/api/views.py). Yet each of them ran on every API request, about a
seventh of a round request's CPU at a release moment (benchmarks/release.py).

``ApiLaneMiddleware`` sits early in ``MIDDLEWARE``. A request whose path resolves to a view
marked as the API's (``api_view`` marks every one) goes through ``API_MIDDLEWARE`` instead of
the rest of the site's chain: the host check and the language of the site's own chain, and the
same security headers on the way out. Anything else (a page, an unknown ``/api/`` path, which
the site's 404 handler answers with a problem) carries on down the site's chain as before.

The short chain takes only middleware that work by wrapping the response: the hooks Django
calls on views (``process_view``, ``process_exception``, ``process_template_response``) run
only in the site's chain, so a middleware that has one is refused at start-up.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpRequest, HttpResponseBase
from django.urls import Resolver404, get_resolver, get_urlconf
from django.utils.module_loading import import_string

PREFIX = "/api/"
MARK = "api_lane"
_VIEW_HOOKS = ("process_view", "process_exception", "process_template_response")


def lane_view(view: Callable) -> Callable:
    """Mark ``view`` as served through the API's short chain."""
    setattr(view, MARK, True)
    return view


def _chain(paths: list[str], innermost: Callable) -> Callable:
    handler = convert_exception_to_response(innermost)
    for path in reversed(paths):
        middleware = import_string(path)
        hooks = [name for name in _VIEW_HOOKS if hasattr(middleware, name)]
        if hooks:
            raise ImproperlyConfigured(
                f"API_MIDDLEWARE cannot hold {path}: its {', '.join(hooks)} would not run there."
            )
        handler = convert_exception_to_response(middleware(handler))
    return handler


class ApiLaneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.lane = _chain(settings.API_MIDDLEWARE, self._view)

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not request.path_info.startswith(PREFIX):
            return self.get_response(request)
        try:
            match = get_resolver(get_urlconf()).resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        if not getattr(match.func, MARK, False):
            return self.get_response(request)
        request.resolver_match = match
        return self.lane(request)

    @staticmethod
    def _view(request: HttpRequest) -> HttpResponseBase:
        match = request.resolver_match
        return match.func(request, *match.args, **match.kwargs)
