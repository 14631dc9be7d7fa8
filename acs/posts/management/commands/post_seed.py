"""Create or refresh a shipped post (its details, regions and public pages). No demo data."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from acs.appointments.services import services_seed
from acs.content.services import pages_seed
from acs.posts.services import post_create

SEED_FILE = Path(__file__).resolve().parents[2] / "seed" / "posts.json"


def shipped_posts() -> dict[str, dict]:
    return json.loads(SEED_FILE.read_text())


class Command(BaseCommand):
    help = "Create a shipped post (such as lima) with its regions and pages; safe to repeat."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="One of: " + ", ".join(shipped_posts()))
        parser.add_argument(
            "--overwrite-pages",
            action="store_true",
            help="Replace pages staff have edited with the shipped text.",
        )

    def handle(self, *args, slug, overwrite_pages, **options):
        posts = shipped_posts()
        if slug not in posts:
            raise CommandError(f"No shipped post {slug!r}; choose one of {', '.join(posts)}.")
        post = post_create(**posts[slug])
        written = pages_seed(post=post, overwrite=overwrite_pages)
        services_file = SEED_FILE.parents[2] / "appointments" / "seed" / f"{slug}.json"
        services = 0
        if services_file.exists():
            services = services_seed(post=post, entries=json.loads(services_file.read_text()))
        regions = post.regions.count()
        self.stdout.write(
            f"Post: {post.name} with {regions} regions; {written} pages and "
            f"{services} services written."
        )
