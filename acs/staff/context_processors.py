from django.http import HttpRequest

from acs.posts.selectors import post_default
from acs.staff.navigation import menu


def staff(request: HttpRequest) -> dict:
    """The back office frame: its menu and the post it works on (this deployment's post)."""
    if not request.path.startswith("/staff/") or request.path.startswith("/staff/admin/"):
        return {}
    if not request.user.is_authenticated:
        return {}
    return {"staff_nav": menu(request), "staff_post": post_default()}
