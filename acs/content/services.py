"""Changes of state for public pages, and opening a post with the pages it starts from."""

from __future__ import annotations

import json
import re
from pathlib import Path

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import translation

from acs.content.models import Page
from acs.core.audit import audit_record
from acs.core.i18n import localized
from acs.posts.models import Post, Region
from acs.posts.services import post_create

SEED_DIR = Path(__file__).parent / "seed"


def page_upsert(
    *,
    post: Post,
    slug: str,
    order: int,
    title: dict[str, str],
    summary: dict[str, str],
    body: dict[str, str],
) -> Page:
    """Create or replace one page's text in both languages."""
    page, _created = Page.objects.update_or_create(
        post=post,
        slug=slug,
        defaults={
            "order": order,
            "title_en": title["en"],
            "title_es": title["es"],
            "summary_en": summary.get("en", ""),
            "summary_es": summary.get("es", ""),
            "body_en": body["en"],
            "body_es": body["es"],
        },
    )
    return page


def _filled(text: str, post: Post, language: str) -> str:
    """A template's text for one post: ``{post:name}``, ``{post:city}`` and
    ``{post:country}`` in the page's language."""
    with translation.override(language):
        values = {
            "name": localized(post, "name", language),
            "city": post.city,
            "country": str(post.country_name),
        }
    return _POST_FACT.sub(lambda m: values[m.group(1)], text)


_POST_FACT = re.compile(r"\{post:(name|city|country)\}")


def pages_seed(*, post: Post, overwrite: bool = False, template: str = "") -> int:
    """Load a set of shipped pages for a post: Lima's own (``seed/``), or a template of
    pages any post can start from (``seed/<template>/``, whose text names the post, its
    city and country through ``{post:…}``). Pages staff have already edited stay as they are
    unless ``overwrite`` is set. Returns how many pages were written."""
    folder = SEED_DIR / template if template else SEED_DIR
    index = json.loads((folder / "pages.json").read_text())
    written = 0
    with transaction.atomic():
        existing = set(Page.objects.filter(post=post).values_list("slug", flat=True))
        for entry in index:
            if entry["slug"] in existing and not overwrite:
                continue
            texts = {
                part: {lang: _filled(text, post, lang) for lang, text in entry[part].items()}
                for part in ("title", "summary")
            }
            body = {
                lang: _filled((folder / lang / f"{entry['slug']}.html").read_text(), post, lang)
                for lang in ("en", "es")
            }
            page_upsert(post=post, slug=entry["slug"], order=entry["order"], body=body, **texts)
            written += 1
    return written


def post_open(
    *, actor: AbstractBaseUser, details: dict, district: list[str] | None, address: str = ""
) -> Post:
    """Open a new post: the post itself (its zone, address and hotline checked as the seed's
    are), its consular district (the regions listed, taken from the posts that served them,
    or every region of its country no post serves yet), the neutral pages to start from, and
    one audit entry naming the regions it took. All or nothing: a refused detail changes
    nothing."""
    with transaction.atomic():
        before = dict(
            Region.objects.filter(code__in=district or []).values_list("code", "post__slug")
        )
        post = post_create(**details, district=district)
        pages = pages_seed(post=post, template="neutral")
        codes = sorted(post.regions.values_list("code", flat=True))
        audit_record(
            actor=actor,
            action="acs.post.opened",
            target=post,
            post=post,
            summary=f"Opened {post.name} ({post.slug}): {len(codes)} regions, {pages} pages",
            changes={
                "time_zone": [None, post.time_zone],
                "emergency_phone": [None, post.emergency_phone],
                "district": [None, codes],
                "taken_from": [None, before],
            },
            address=address,
        )
    return post
