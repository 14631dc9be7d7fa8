"""The list of posts at ``/<lang>/``: where a traveler who does not know which embassy or
consulate serves them finds it."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from acs.posts.routing import post_override
from acs.posts.selectors import posts_by_country


def post_list(request: HttpRequest) -> HttpResponse:
    """Not in the shared page cache: its stamp is one post's, and this page shows them all."""
    query = request.GET.get("q", "").strip()[:100]
    countries = []
    for country, posts in posts_by_country(query):
        items = []
        for post in posts:
            with post_override(post):
                items.append({"post": post, "url": reverse("content:home")})
        countries.append((country, items))
    # The frame shows no post's name, hotline or menu: this page speaks for none of them.
    context = {"countries": countries, "query": query, "post": None, "nav_pages": []}
    return render(request, "posts/post_list.html", context)
