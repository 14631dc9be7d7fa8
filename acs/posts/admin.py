from django.contrib import admin

from acs.posts.models import Post, Region


class RegionInline(admin.TabularInline):
    model = Region
    extra = 0
    fields = ("code", "name", "kind")


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ("name", "city", "country_code", "time_zone", "emergency_phone")
    search_fields = ("name", "city")
    prepopulated_fields = {"slug": ("city",)}
    inlines = [RegionInline]
