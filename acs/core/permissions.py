"""Staff views: signed in, second factor verified, and the role's permission.

Every staff view is wrapped by ``staff_view(permission)``; a test walks the URLconf and fails
for any staff view without it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from acs.posts.routing import post_override

# For the few pages every staff member may open (the back office's front page).
ANY_STAFF = ""


def staff_view(permission: str) -> Callable:
    """Require a verified staff session holding ``permission`` (``app_label.codename``), or
    only the verified session when the permission is ``ANY_STAFF``."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            user = request.user
            verified = getattr(user, "is_verified", lambda: False)()
            if not (user.is_authenticated and user.is_staff and verified):
                return redirect_to_login(request.get_full_path(), reverse("admin:login"))
            if permission != ANY_STAFF and not user.has_perm(permission):
                raise PermissionDenied(permission)
            return view(request, *args, **kwargs)

        wrapped.staff_permission = permission  # type: ignore[attr-defined]
        return wrapped

    return decorator


def held_at(user, permission: str, post) -> bool:
    """Whether ``user`` holds ``permission`` at ``post``: roles are held per post
    (``acs.staff.backends``), so a service checking a record's permission asks at the
    record's post, whatever page the request came from."""
    with post_override(post):
        return user.is_active and user.has_perm(permission)
