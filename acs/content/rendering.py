"""Turn staff-written page HTML into what the public site may show."""

from __future__ import annotations

import re

import nh3
from django.urls import NoReverseMatch, reverse
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = {
    "h2",
    "h3",
    "h4",
    "p",
    "ul",
    "ol",
    "li",
    "strong",
    "em",
    "a",
    "div",
    "section",
    "br",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "caption",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "class", "hreflang"},
    "div": {"class"},
    "p": {"class"},
    "ul": {"class"},
    "section": {"class"},
    "table": {"class"},
    "th": {"scope"},
}


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    # nh3 checks the scheme of absolute links only; "//host/…" borrows ours and goes anywhere.
    if attribute == "href" and value.startswith("//"):
        return None
    return value


_PAGE_LINK = re.compile(r"\{page:([a-z0-9-]+)\}")


# Pages of the portal's own parts that an editor may link to as {page:<name>}.
_APP_PAGES = {"enroll": "enrollment:start", "appointments": "appointments:start"}


def page_url(slug: str) -> str:
    """The URL of a page in the active language; the front page, enrollment and appointments
    have their own routes."""
    if slug == "home":
        return reverse("content:home")
    if slug in _APP_PAGES:
        return reverse(_APP_PAGES[slug])
    try:
        return reverse("content:page", kwargs={"slug": slug})
    except NoReverseMatch:
        return reverse("content:home")


def render_body(html: str) -> SafeString:
    """Resolve ``{page:slug}`` links, then keep only the allowed tags and attributes.

    nh3 adds ``rel="noopener noreferrer"`` to every link, so an external page cannot reach
    back into ours.
    """
    linked = _PAGE_LINK.sub(lambda m: page_url(m.group(1)), html)
    clean = nh3.clean(
        linked,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"https", "mailto", "tel"},
        attribute_filter=_attribute_filter,
        link_rel="noopener noreferrer",
    )
    return mark_safe(clean)  # noqa: S308 — sanitised by nh3 just above  # nosec B308, B703
