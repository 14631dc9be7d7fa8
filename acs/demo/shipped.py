"""The posts the product ships with, and ``post_seed``, which writes one of them.

A shipped post is its details (``acs/posts/seed/posts.json``), its country's regions, the
public pages (``acs/content/seed/``) and, where the post has a file in
``acs/appointments/seed/``, its appointment services with their opening hours. No demo data:
production loads its post this way too (docs/deployment.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from acs.appointments.services import services_seed
from acs.content.services import pages_seed
from acs.posts.models import Post
from acs.posts.services import post_create

_ACS = Path(__file__).resolve().parents[1]
POSTS_FILE = _ACS / "posts" / "seed" / "posts.json"
SERVICES_DIR = _ACS / "appointments" / "seed"


def shipped_posts() -> dict[str, dict]:
    """Every shipped post's details, by slug."""
    return json.loads(POSTS_FILE.read_text())


# The demo's post; tests build their post from it too.
LIMA = shipped_posts()["lima"]


@dataclass(frozen=True)
class Seeded:
    post: Post
    pages: int  # written (pages staff edited are kept unless overwritten)
    services: int  # created (existing services are kept as they are)


def post_seed(*, slug: str, overwrite_pages: bool = False) -> Seeded:
    """Create or refresh the shipped post ``slug`` (a ``KeyError`` for one we do not ship).
    Safe to repeat: the post is updated, and pages and services staff changed stay."""
    post = post_create(**shipped_posts()[slug])
    pages = pages_seed(post=post, overwrite=overwrite_pages)
    services_file = SERVICES_DIR / f"{slug}.json"
    services = 0
    if services_file.exists():
        services = services_seed(post=post, entries=json.loads(services_file.read_text()))
    return Seeded(post=post, pages=pages, services=services)
