"""The admin's part of "staff see only their post": a model admin for records that belong to a
post lists, opens and offers only those of the post being worked on (the one chosen in the
staff header; ``post_default()`` answers with it on every /staff/ page, the admin's
included). Superusers see every post's, with a filter by post.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpRequest

from acs.core.admin_audit import AuditedModelAdmin
from acs.posts.selectors import post_default


class PostScopedAdmin(AuditedModelAdmin):
    post_path = "post_id"  # the lookup from the model to its post's id

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        rows = super().get_queryset(request)
        if request.user.is_superuser:
            return rows
        post = post_default()
        return rows.filter(**{self.post_path: post.pk}) if post else rows.none()

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "post" and not request.user.is_superuser:
            post = post_default()
            kwargs["queryset"] = db_field.related_model.objects.filter(pk=post.pk if post else None)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
