"""``manage.py staff_role USERNAME ROLE --post SLUG`` (or ``--every-post``): give a staff
account a role at a post, or at every post (a network role); ``--remove`` takes it back.
Audited like a change made through the admin."""

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from acs.core.audit import audit_record
from acs.posts.models import Post
from acs.staff.models import StaffRole
from acs.staff.roles import ROLES


class Command(BaseCommand):
    help = "Give (or with --remove, take back) a staff account's role at a post or at every post."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("role", help=f"One of: {', '.join(ROLES)}.")
        where = parser.add_mutually_exclusive_group(required=True)
        where.add_argument("--post", help="The post's short name, such as lima.")
        where.add_argument("--every-post", action="store_true", help="A network role.")
        parser.add_argument("--remove", action="store_true")

    def handle(self, *args, username, role, post, every_post, remove, **options):
        user = User.objects.filter(username=username, is_staff=True).first()
        if user is None:
            raise CommandError(f"There is no staff account named {username!r}.")
        group = Group.objects.filter(name=role).first()
        if group is None:
            raise CommandError(
                f"There is no role named {role!r} (run roles_sync). Roles: {', '.join(ROLES)}."
            )
        where = None
        if not every_post:
            where = Post.objects.filter(slug=post).first()
            if where is None:
                raise CommandError(f"There is no post with the short name {post!r}.")
        place = where.name if where else "every post"
        with transaction.atomic():
            if remove:
                StaffRole.objects.filter(user=user, role=group, post=where).delete()
            else:
                StaffRole.objects.get_or_create(user=user, role=group, post=where)
            audit_record(
                actor=None,
                action="acs.staff.role_removed" if remove else "acs.staff.role_given",
                target=user,
                post=where,
                summary=f"{username}: {role} at {place}",
            )
        verb = "no longer holds" if remove else "holds"
        self.stdout.write(f"{username} {verb} the role {role} at {place}.")
