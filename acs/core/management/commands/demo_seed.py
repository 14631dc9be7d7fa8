"""Seed the demo: the U.S. Embassy Lima, its pages, one staff account and a few enrolled
travellers (so that the staff pages have something to count). Safe to run again."""

import json
import secrets
from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils import timezone

from acs.alerts.demo import demo_messages_seed
from acs.enrollment.models import Enrollee
from acs.enrollment.services.accounts import email_verify, enrollee_create
from acs.enrollment.services.trips import residence_set, trip_add
from acs.posts.management.commands.post_seed import shipped_posts
from acs.posts.models import Post
from acs.staff.services import staff_user_create

DEMO_STAFF = "demo-officer"

LIMA = shipped_posts()["lima"]

# Made-up travellers: (name, region codes of a trip or "home:<code>", days from today).
DEMO_TRAVELLERS = [
    ("Jordan Avery", ["PE-CUS"], (-2, 6)),
    ("Maria Lopez", ["PE-CUS", "PE-PUN"], (1, 10)),
    ("Sam Whitaker", ["PE-ARE"], (0, 3)),
    ("Priya Raman", ["home:PE-LIM"], None),
    ("Daniel Okafor", ["PE-LOR"], (5, 12)),
    ("Grace Kim", ["home:PE-CUS"], None),
    ("Luis Fernández", ["PE-LMA", "PE-ICA"], (-1, 2)),
    ("Emily Carter", ["home:PE-ARE"], None),
]


class Command(BaseCommand):
    help = "Create the Lima post, its public pages and a demo staff account (idempotent)."

    def handle(self, *args, **options):
        call_command("post_seed", "lima", stdout=self.stdout)
        call_command("roles_sync", stdout=self.stdout)

        creds_file = settings.VAR_DIR / "demo-staff.json"
        if not creds_file.exists() or not User.objects.filter(username=DEMO_STAFF).exists():
            creds = staff_user_create(
                username=DEMO_STAFF, email="officer@example.org", superuser=True
            )
            creds_file.write_text(
                json.dumps(
                    {
                        "username": creds.user.username,
                        "password": creds.password,
                        "totp_secret": creds.totp_secret,
                        "totp_uri": creds.totp_uri,
                    }
                )
            )
            creds_file.chmod(0o600)
        travellers = self._travellers(Post.objects.get(slug="lima"))
        published = demo_messages_seed(
            post=Post.objects.get(slug="lima"), author=User.objects.get(username=DEMO_STAFF)
        )
        creds = json.loads(creds_file.read_text())
        self.stdout.write(
            "\nDemo staff sign-in (http://127.0.0.1:PORT/staff/admin/):\n"
            f"  username:    {creds['username']}\n"
            f"  password:    {creds['password']}\n"
            f"  TOTP secret: {creds['totp_secret']}  (add it to any authenticator app)\n"
            "  or print the current code with: "
            f".venv/bin/python manage.py staff_totp {creds['username']}\n"
        )
        self.stdout.write(f"Demo travellers enrolled: {travellers}\n")
        self.stdout.write(f"Demo messages: {published}\n")

    def _travellers(self, post: Post) -> int:
        """A few enrolled travellers and residents, once. Their passwords are random and not
        kept: to try the citizen pages, enroll yourself at /en/enroll/."""
        if Enrollee.objects.filter(post=post, email__endswith="@demo.example.org").exists():
            return Enrollee.objects.filter(post=post, email__endswith="@demo.example.org").count()
        today = timezone.localdate(timezone=post.zone)
        for number, (name, places, days) in enumerate(DEMO_TRAVELLERS, start=1):
            person = enrollee_create(
                post=post,
                email=f"traveller{number}@demo.example.org",
                password=secrets.token_urlsafe(24),
                full_name=name,
                date_of_birth=date(1970 + number * 3, number, 10 + number),
            )
            email_verify(enrollee=person)
            if places[0].startswith("home:"):
                region = post.regions.get(code=places[0].removeprefix("home:"))
                residence_set(enrollee=person, region=region)
                continue
            arrival, departure = (today + timedelta(days=offset) for offset in days)
            trip_add(
                enrollee=person,
                arrival=arrival,
                departure=departure,
                stops=[(post.regions.get(code=code), "") for code in places],
                purpose="Tourism",
            )
        return len(DEMO_TRAVELLERS)
