from django.contrib import admin

from acs.posts.admin_scope import PostScopedAdmin
from acs.posts.models import Post, Region
from acs.posts.services import regions_sync


class RegionInline(admin.TabularInline):
    model = Region
    extra = 0
    fields = ("code", "name", "kind")


@admin.register(Post)
class PostAdmin(PostScopedAdmin):
    post_path = "pk"  # a post is its own
    list_display = ("name", "city", "country_code", "time_zone", "emergency_phone")
    search_fields = ("name", "city")
    prepopulated_fields = {"slug": ("city",)}
    inlines = [RegionInline]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not obj.regions.exists():
            # A new post gets its country's ISO 3166-2 regions, as the seed does.
            regions_sync(post=obj)
