"""What every page's frame needs: the post, the navigation and the other language's URL."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import translate_url

from acs.content.selectors import nav_pages
from acs.posts.routing import post_named
from acs.posts.selectors import post_default


def site(request: HttpRequest) -> dict[str, Any]:
    if request.path.startswith("/staff/"):
        return {}
    # Only a page of a post shows a post's frame: the list of posts and the 404 of a URL
    # that names none show no hotline or menu of a post they are not about.
    post = post_default() if post_named() else None
    current = getattr(request, "LANGUAGE_CODE", settings.LANGUAGE_CODE)
    path = request.get_full_path()
    other_languages = [
        {"code": code, "name": name, "url": translate_url(path, code)}
        for code, name in settings.LANGUAGES
        if code != current
    ]
    return {
        "post": post,
        "nav_pages": nav_pages(post) if post else [],
        "other_languages": other_languages,
    }
