"""Permissions from roles held per post (``StaffRole``).

``has_perm`` answers for the post being worked on: the one the staff header has chosen
(``acs.staff.scope`` makes it the current post for the request), or the one a service names
with ``post_override`` when it checks a permission for a record of that post. Away from both,
it is the default post, as for ``post_default()``. A network role (held with no post) counts
at every post. Superusers hold every permission (Django answers for them before asking here).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db.models import Q

from acs.posts.routing import post_named


def _permissions_at(user, slug: str) -> set[str]:
    rows = Permission.objects.filter(
        Q(group__staff_roles__post__isnull=True) | Q(group__staff_roles__post__slug=slug),
        group__staff_roles__user=user,
    )
    return {
        f"{app}.{codename}"
        for app, codename in rows.values_list("content_type__app_label", "codename").distinct()
    }


class PostRoleBackend(ModelBackend):
    """Signs in like ``ModelBackend``; grants only what the user's roles at the current post
    hold. A user's own groups and permissions grant nothing."""

    def get_user_permissions(self, user_obj, obj=None) -> set[str]:
        return set()

    def get_group_permissions(self, user_obj, obj=None) -> set[str]:
        return self.get_all_permissions(user_obj, obj)

    def get_all_permissions(self, user_obj, obj=None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        slug = post_named() or settings.ACS_DEFAULT_POST
        # Kept on the user object, per post: one query per post a request asks about.
        known = user_obj.__dict__.setdefault("_acs_role_permissions", {})
        if slug not in known:
            known[slug] = _permissions_at(user_obj, slug)
        return known[slug]
