"""The audit log in Django's admin: readable by those allowed to read it, and nothing more.

No one adds, changes or deletes an entry here, superusers included: entries are written only
by services (``acs.core.audit.audit_record``), and the database refuses updates (and, on
PostgreSQL, deletes) whatever the admin says.
"""

from django.contrib import admin
from django.http import HttpRequest

from acs.core.models import AuditEntry
from acs.posts.admin_scope import PostScopedAdmin


@admin.register(AuditEntry)
class AuditEntryAdmin(PostScopedAdmin):
    list_display = ("created_at", "actor_name", "action", "object_type", "object_id", "summary")
    list_filter = ("action", "object_type")
    search_fields = ("summary", "actor_name", "action", "object_id")
    date_hierarchy = "created_at"
    list_select_related = False
    show_full_result_count = False  # the log grows without end; counting it all is slow
    fields = (
        "created_at",
        "post",
        "actor",
        "actor_name",
        "action",
        "object_type",
        "object_id",
        "summary",
        "changes",
        "address",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False
