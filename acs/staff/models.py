"""Staff roles per post: who may do what, and where.

A role is a Django group (``acs.staff.roles``) and grants its permissions only at the post it
is held at: the front desk at Lima, an officer at Quito. A role held with no post is a
network role, held at every post (a duty officer at headquarters). ``acs.staff.backends``
answers ``has_perm`` from these rows for the post being worked on; a user's own groups and
permissions grant nothing.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from acs.posts.models import Post


class StaffRole(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_roles"
    )
    post = models.ForeignKey(
        Post,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="staff_roles",
        verbose_name=_("post"),
        help_text=_("Leave empty for a network role, held at every post."),
    )
    role = models.ForeignKey(
        Group, on_delete=models.CASCADE, related_name="staff_roles", verbose_name=_("role")
    )

    class Meta:
        verbose_name = _("staff role")
        verbose_name_plural = _("staff roles")
        ordering = ["user", "post", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "post", "role"], name="staff_role_once_per_post"
            ),
            models.UniqueConstraint(
                fields=["user", "role"],
                condition=Q(post__isnull=True),
                name="staff_role_once_network",
            ),
        ]

    def __str__(self) -> str:
        where = self.post.name if self.post_id else _("every post")
        return f"{self.role.name} — {where}"
