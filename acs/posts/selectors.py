from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet

from acs.posts.models import Post, Region


def post_default() -> Post | None:
    """The post this deployment's public site speaks for (``ACS_DEFAULT_POST``)."""
    return Post.objects.filter(slug=settings.ACS_DEFAULT_POST).first()


def regions_of(post: Post) -> QuerySet[Region]:
    return post.regions.order_by("name")
