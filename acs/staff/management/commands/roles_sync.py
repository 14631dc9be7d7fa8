from django.core.management.base import BaseCommand

from acs.staff.services import roles_sync


class Command(BaseCommand):
    help = "Create the staff roles (groups) and set their permissions; run after migrate."

    def handle(self, *args, **options):
        for name, count in roles_sync().items():
            self.stdout.write(f"{name}: {count} permissions")
