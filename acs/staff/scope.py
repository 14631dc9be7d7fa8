"""Which post a staff page works on.

Staff hold roles per post (``StaffRole``). The post chosen in the staff header is kept in the
session; ``StaffPostMiddleware`` makes it the current post for the request (``post_default()``
answers with it, ``has_perm`` asks about it, links to public pages name it), so every staff
view, query, list, CSV, PDF and figure works on that post without being told. A chosen post
where the user no longer holds a role is dropped for the first post where they do.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from acs.posts.models import Post
from acs.posts.routing import post_override, urlconf
from acs.staff.models import StaffRole

SESSION_KEY = "acs_staff_post"


def network_held(user: AbstractBaseUser) -> bool:
    """Whether ``user`` works at every post: a superuser, or a holder of a network role."""
    if not user.is_authenticated:
        return False
    return user.is_superuser or StaffRole.objects.filter(user=user, post__isnull=True).exists()


def posts_of(user: AbstractBaseUser, *, network: bool | None = None) -> QuerySet[Post]:
    """The posts ``user`` may work on, by country and city: those where they hold a role, or
    every post for a network role (``network``, when the caller knows it already)."""
    posts = Post.objects.order_by("country_code", "city", "slug")
    if network_held(user) if network is None else network:
        return posts
    return posts.filter(staff_roles__user=user).distinct()


def post_choose(request: HttpRequest, slug: str) -> Post | None:
    """Work on the post ``slug`` from the next page on; None (and nothing changes) if the
    user holds no role there."""
    post = posts_of(request.user).filter(slug=slug).first()
    if post is not None:
        request.session[SESSION_KEY] = post.slug
    return post


class StaffPostMiddleware:
    """Under /staff/, for a signed-in staff member: the chosen post becomes the current one
    (``request.staff_post``; the posts they may choose from are ``request.staff_posts``;
    ``request.staff_network``: whether they hold a network role)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if not request.path_info.startswith("/staff/") or not (user and user.is_staff):
            return self.get_response(request)
        request.staff_network = network_held(user)
        posts = list(posts_of(user, network=request.staff_network))
        chosen = request.session.get(SESSION_KEY)
        post = next((p for p in posts if p.slug == chosen), posts[0] if posts else None)
        request.staff_posts, request.staff_post = posts, post
        if post is None:
            return self.get_response(request)  # no role anywhere: has_perm says no to all
        request.urlconf = urlconf(post.slug)
        with post_override(post):
            return self.get_response(request)
