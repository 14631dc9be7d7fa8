import segno
from django.core.management.base import BaseCommand

from acs.staff.services import staff_user_create


class Command(BaseCommand):
    help = "Create or reset a staff account and print its password and TOTP secret."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument("--superuser", action="store_true")
        parser.add_argument("--qr", action="store_true", help="Print a QR code for the app.")

    def handle(self, *args, username, email, superuser, qr, **options):
        creds = staff_user_create(username=username, email=email, superuser=superuser)
        self.stdout.write(f"Username:     {creds.user.username}")
        self.stdout.write(f"Password:     {creds.password}")
        self.stdout.write(f"TOTP secret:  {creds.totp_secret}")
        self.stdout.write(f"TOTP URI:     {creds.totp_uri}")
        if qr:
            segno.make(creds.totp_uri).terminal(out=self.stdout, compact=True)
