"""Seed the demo: the U.S. Embassy Lima, its pages and one staff account. Safe to run again."""

import json

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand

from acs.content.services import pages_seed
from acs.posts.services import post_create
from acs.staff.services import staff_user_create

DEMO_STAFF = "demo-officer"

LIMA = {
    "slug": "lima",
    "name": "U.S. Embassy Lima",
    "name_es": "Embajada de los Estados Unidos en Lima",
    "city": "Lima",
    "country_code": "PE",
    "time_zone": "America/Lima",
    "street_address": "Avenida La Encalada cuadra 17 s/n\nSantiago de Surco, Lima 33\nPeru",
    "main_phone": "+51 1 618 2000",
    # From the post's public page: [011] (51-1) 618-2000.
    "emergency_phone": "+51 1 618 2000",
    "opening_hours": "Monday to Friday, by appointment only",
    "opening_hours_es": "De lunes a viernes, solo con cita previa",
}


class Command(BaseCommand):
    help = "Create the Lima post, its public pages and a demo staff account (idempotent)."

    def handle(self, *args, **options):
        post = post_create(**LIMA)
        written = pages_seed(post=post)
        self.stdout.write(
            f"Post: {post.name} with {post.regions.count()} regions; {written} pages written."
        )

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
        creds = json.loads(creds_file.read_text())
        self.stdout.write(
            "\nDemo staff sign-in (http://127.0.0.1:PORT/staff/admin/):\n"
            f"  username:    {creds['username']}\n"
            f"  password:    {creds['password']}\n"
            f"  TOTP secret: {creds['totp_secret']}  (add it to any authenticator app)\n"
            "  or print the current code with: "
            f".venv/bin/python manage.py staff_totp {creds['username']}\n"
        )
