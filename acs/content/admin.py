from django.contrib import admin

from acs.content.models import Page
from acs.posts.admin_scope import PostScopedAdmin


@admin.register(Page)
class PageAdmin(PostScopedAdmin):
    list_display = ("title_en", "title_es", "slug", "post", "order", "updated_at")
    list_filter = ("post",)
    search_fields = ("title_en", "title_es", "body_en", "body_es")
    fieldsets = (
        (None, {"fields": ("post", "slug", "order")}),
        ("English", {"fields": ("title_en", "summary_en", "body_en")}),
        ("Español", {"fields": ("title_es", "summary_es", "body_es")}),
    )
