from django.http import HttpRequest

from acs.posts.selectors import post_default
from acs.staff.navigation import menu


def staff(request: HttpRequest) -> dict:
    """The back office frame: its menu, the post it works on and the posts to switch to."""
    if not request.path.startswith("/staff/") or request.path.startswith("/staff/admin/"):
        return {}
    if not request.user.is_authenticated:
        return {}
    return {
        "staff_nav": menu(request),
        "staff_post": getattr(request, "staff_post", None) or post_default(),
        "staff_posts": getattr(request, "staff_posts", []),
    }
