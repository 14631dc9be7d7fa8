from __future__ import annotations

from django.db.models import QuerySet

from acs.content.models import Page
from acs.posts.models import Post


def nav_pages(post: Post) -> QuerySet[Page]:
    """The pages of the side navigation, in order; only what the menu shows is loaded."""
    return Page.objects.filter(post=post).only("slug", "order", "title_en", "title_es")


def page_get(*, post: Post, slug: str) -> Page | None:
    return Page.objects.filter(post=post, slug=slug).first()
