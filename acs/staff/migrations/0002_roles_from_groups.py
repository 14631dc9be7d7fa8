"""Roles held through a user's groups (one post per installation until now) become roles at
that post: ``ACS_DEFAULT_POST``, or the first post if it does not exist. Where there is no
post yet, they become network roles, held at every post, so that nobody loses what they
could do. The groups are emptied: from here on only ``StaffRole`` grants anything."""

from django.conf import settings
from django.db import migrations


def forwards(apps, schema_editor):
    User = apps.get_model("auth", "User")
    Post = apps.get_model("posts", "Post")
    StaffRole = apps.get_model("staff", "StaffRole")
    post = (
        Post.objects.filter(slug=settings.ACS_DEFAULT_POST).first()
        or Post.objects.order_by("id").first()
    )
    for user in User.objects.filter(groups__isnull=False).distinct():
        for group in user.groups.all():
            StaffRole.objects.get_or_create(user=user, post=post, role=group)
        user.groups.clear()


def backwards(apps, schema_editor):
    StaffRole = apps.get_model("staff", "StaffRole")
    for role in StaffRole.objects.select_related("user", "role"):
        role.user.groups.add(role.role)


class Migration(migrations.Migration):
    dependencies = [("staff", "0001_staff_roles")]

    operations = [migrations.RunPython(forwards, backwards)]
