"""Staff sessions end after a while without activity (``ACS_STAFF_IDLE_SECONDS``, 30 minutes
by default), on top of their fixed length (``SESSION_COOKIE_AGE``): a back-office screen left
open at a desk or a door signs itself out. Each staff request moves the mark on (written at
most once a minute, so that a busy page does not rewrite its session on every request)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _

SEEN_KEY = "acs_staff_seen"
_WRITE_EVERY = 60


class StaffIdleMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if not request.path_info.startswith("/staff/") or not (user and user.is_authenticated):
            return self.get_response(request)
        now = time.time()
        seen = request.session.get(SEEN_KEY)
        if isinstance(seen, int | float) and now - seen > settings.ACS_STAFF_IDLE_SECONDS:
            logout(request)
            minutes = settings.ACS_STAFF_IDLE_SECONDS // 60
            messages.info(
                request,
                _("You were signed out after %(minutes)d minutes without activity.")
                % {"minutes": minutes},
            )
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        if not isinstance(seen, int | float) or now - seen > _WRITE_EVERY:
            request.session[SEEN_KEY] = now
        return self.get_response(request)


def _signed_in(sender, request: HttpRequest, **_kwargs) -> None:
    """Signing in is activity: mark it in the session the sign-in writes anyway, so that the
    first page after it does not write the session again."""
    if request is not None and hasattr(request, "session"):
        request.session[SEEN_KEY] = time.time()


user_logged_in.connect(_signed_in, dispatch_uid="acs.staff.idle.signed_in")
