from __future__ import annotations

import threading
import unicodedata

from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext

from acs.posts.models import Post, Region, country_name
from acs.posts.routing import post_named, routes

# One lookup of the deployment's post per request: the view, the page frame's context
# processor and the forms all ask for it. Kept only between request_started and
# request_finished, so a task or a shell always reads the database afresh.
_request = threading.local()
_UNSET = object()


def _begin(**_kwargs) -> None:
    _request.post = _UNSET
    _request.active = True


def _end(**_kwargs) -> None:
    _request.active = False
    _request.post = _UNSET


request_started.connect(_begin, dispatch_uid="acs.posts.post_default.begin")
request_finished.connect(_end, dispatch_uid="acs.posts.post_default.end")


def post_default() -> Post | None:
    """The post the page (or the email being built) is for: the one its URL names (set by
    ``acs.posts.routing``, or ``post_override`` outside a request), else the default of a
    one-post install (``ACS_DEFAULT_POST``)."""
    slug = post_named() or settings.ACS_DEFAULT_POST
    if not getattr(_request, "active", False):
        return Post.objects.filter(slug=slug).first()
    if _request.post is _UNSET or _request.post[0] != slug:
        _request.post = (slug, Post.objects.filter(slug=slug).first())
    return _request.post[1]


def post_or_404() -> Post:
    """The page's post (see ``post_default``) for a page that cannot be shown without one."""
    post = post_default()
    if post is None:
        raise Http404("no post")
    return post


def post_get(*, slug: str) -> Post | None:
    """The post with this short name, for a URL that names it (the API's ``posts/<post>``)."""
    return Post.objects.filter(slug=slug).first()


def posts_listed(*, country: str = "", search: str = "") -> list[Post]:
    """Every post, by country code then city, so that a country's posts sit together;
    ``country`` keeps one country's (ISO 3166-1 alpha-2), ``search`` matches as the page's
    search box does (``post_matches``)."""
    posts = Post.objects.order_by("country_code", "city", "slug")
    if country:
        posts = posts.filter(country_code=country.upper())
    words = _folded(search).split()
    return [post for post in posts if post_matches(post, words)]


def post_matches(post: Post, words: list[str]) -> bool:
    """Whether every one of ``words`` (already ``_folded``) is in the post's names (both
    languages), city, or country (its name in the reader's language, or its code)."""
    text = _folded(
        " ".join((post.name, post.name_es, post.city, post.country_name, post.country_code))
    )
    return all(word in text for word in words)


def regions_of(post: Post) -> QuerySet[Region]:
    return post.regions.order_by("name")


def regions_by_country(*, first: str = "") -> list[tuple[str, list[Region]]]:
    """Every region the installation knows, whichever post serves it, grouped by country:
    (country name in the reader's language, its regions by name). The country ``first``
    (ISO 3166-1 alpha-2, the page's post's) leads, then the others in alphabetical order;
    a trip may cross borders, and a home may be in any country a post serves."""
    groups: dict[str, list[Region]] = {}
    for region in Region.objects.order_by("name", "code"):
        groups.setdefault(region.country_code, []).append(region)
    named = [(country_name(code), code, regions) for code, regions in groups.items()]
    named.sort(key=lambda group: (group[1] != first, group[0]))
    return [(name, regions) for name, _code, regions in named]


def _folded(text: str) -> str:
    """``text`` without case or accents: "México" and "Perú" are found by "mexico", "peru"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def posts_by_country(query: str = "") -> list[tuple[str, list[Post]]]:
    """Every post, or those whose name, city or country holds ``query`` (in either language,
    ignoring case and accents: a reader of Spanish types "Mexico" as often as "México"),
    grouped by country, countries and posts in alphabetical order of the reader's language.
    Filtered in Python: country names come from pycountry, not a column."""
    words = _folded(query).split()
    groups: dict[str, list[Post]] = {}
    for post in Post.objects.order_by("city"):
        if post_matches(post, words):
            groups.setdefault(post.country_name, []).append(post)
    return sorted(groups.items())


def post_serves_whole_country(post: Post) -> bool:
    """Whether ``post`` is its country's only post, so that its district is the whole country
    (an embassy that shares its country with consulates serves only part of it)."""
    return post.country_code.upper() not in routes().shared_countries


def post_whole_area_text(post: Post) -> str:
    """How to name all of the post's district to a reader: the country, or the district."""
    if post_serves_whole_country(post):
        return gettext("The whole country")
    return gettext("Everywhere %(post)s serves") % {"post": post.display_name}
