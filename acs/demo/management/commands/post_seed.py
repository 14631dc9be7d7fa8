"""``manage.py post_seed <slug>``: create or refresh a shipped post (``acs.demo.shipped``)."""

from django.core.management.base import BaseCommand, CommandError

from acs.demo.shipped import post_seed, shipped_posts


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
        seeded = post_seed(slug=slug, overwrite_pages=overwrite_pages)
        post = seeded.post
        self.stdout.write(
            f"Post: {post.name} with {post.regions.count()} regions; {seeded.pages} pages and "
            f"{seeded.services} services written."
        )
