"""``manage.py demo_seed``: the demo (``make demo``). Never in production: it makes a
superuser and writes its credentials to a file (docs/deployment.md)."""

import json

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import BaseCommand

from acs.demo.messages import demo_messages_seed
from acs.demo.network import demo_network_seed
from acs.demo.travellers import demo_travellers_seed
from acs.posts.models import Post
from acs.staff import roles
from acs.staff.services import role_grant, staff_user_create

DEMO_STAFF = "demo-officer"


class Command(BaseCommand):
    help = (
        "Create the Lima post with its pages, the demo's other posts, a demo staff account, "
        "travellers and messages (idempotent)."
    )

    def handle(self, *args, **options):
        call_command("post_seed", "lima", stdout=self.stdout)
        post = Post.objects.get(slug="lima")
        network = demo_network_seed()
        call_command("roles_sync", stdout=self.stdout)
        creds = self._staff()
        self._roles(network)
        travellers = demo_travellers_seed(post=post)
        published = demo_messages_seed(post=post, author=User.objects.get(username=DEMO_STAFF))
        self.stdout.write(
            "\nDemo staff sign-in (http://127.0.0.1:PORT/staff/admin/):\n"
            f"  username:    {creds['username']}\n"
            f"  password:    {creds['password']}\n"
            f"  TOTP secret: {creds['totp_secret']}  (add it to any authenticator app)\n"
            "  or print the current code with: "
            f".venv/bin/python manage.py staff_totp {creds['username']}\n"
        )
        others = ", ".join(f"{other.name} ({other.time_zone})" for other in network.posts)
        self.stdout.write(f"Demo posts: {post.name} and {others}\n")
        self.stdout.write(f"Demo travellers enrolled: {travellers}\n")
        self.stdout.write(f"Demo messages: {published}\n")

    def _roles(self, network) -> None:
        """The demo officer works at two posts: Post administrator at Lima, Consular officer
        at Guadalajara; and as Network administrator (held at every post) may open posts.
        The header's switcher moves between them (docs/staff-roles.md)."""
        user = User.objects.get(username=DEMO_STAFF)
        role_grant(user=user, role=roles.POST_ADMINISTRATOR, post=Post.objects.get(slug="lima"))
        guadalajara = next(post for post in network.posts if post.slug == "guadalajara")
        role_grant(user=user, role=roles.CONSULAR_OFFICER, post=guadalajara)
        role_grant(user=user, role=roles.NETWORK_ADMINISTRATOR, post=None)

    def _staff(self) -> dict:
        """The demo officer, made once; its sign-in is kept in ``var/demo-staff.json``."""
        creds_file = settings.VAR_DIR / "demo-staff.json"
        if not creds_file.exists() or not User.objects.filter(username=DEMO_STAFF).exists():
            creds = staff_user_create(username=DEMO_STAFF, email="officer@example.org")
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
        return json.loads(creds_file.read_text())
