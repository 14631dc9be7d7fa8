"""Changes of state for public pages."""

from __future__ import annotations

import json
from pathlib import Path

from django.db import transaction

from acs.content.models import Page
from acs.posts.models import Post

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


def pages_seed(*, post: Post, overwrite: bool = False) -> int:
    """Load the shipped pages for a post. Pages staff have already edited stay as they are
    unless ``overwrite`` is set. Returns how many pages were written."""
    index = json.loads((SEED_DIR / "pages.json").read_text())
    written = 0
    with transaction.atomic():
        existing = set(Page.objects.filter(post=post).values_list("slug", flat=True))
        for entry in index:
            if entry["slug"] in existing and not overwrite:
                continue
            body = {
                lang: (SEED_DIR / lang / f"{entry['slug']}.html").read_text()
                for lang in ("en", "es")
            }
            page_upsert(
                post=post,
                slug=entry["slug"],
                order=entry["order"],
                title=entry["title"],
                summary=entry["summary"],
                body=body,
            )
            written += 1
    return written
