from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.admin import StaticDeviceAdmin
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

from acs.posts.selectors import post_default
from acs.staff.models import StaffRole


class StaffRoleInline(admin.TabularInline):
    """Roles are held per post. A post's administrator gives and sees roles at the post being
    worked on; a superuser at any post, or at every post (a network role)."""

    model = StaffRole
    extra = 1
    fields = ("role", "post")

    def get_queryset(self, request):
        rows = super().get_queryset(request)
        return rows if request.user.is_superuser else rows.filter(post=post_default())

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "post" and not request.user.is_superuser:
            post = post_default()
            kwargs["queryset"] = db_field.related_model.objects.filter(pk=post.pk if post else None)
            kwargs["required"] = True
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class StaffUserAdmin(UserAdmin):
    """Django's user admin, with roles per post in place of groups and permissions (which
    grant nothing here: acs.staff.backends). A post's administrator sees the accounts with a
    role at the post being worked on, and those with no role yet; never a superuser."""

    inlines = [StaffRoleInline]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "email")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    list_filter = ("is_staff", "is_superuser", "is_active")

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return super().get_readonly_fields(request, obj)
        return ("is_superuser", "last_login", "date_joined")

    def get_queryset(self, request):
        rows = super().get_queryset(request)
        if request.user.is_superuser:
            return rows
        here = Q(staff_roles__post=post_default()) | Q(staff_roles__isnull=True)
        return rows.filter(here, is_superuser=False).distinct()


# django-otp and django.contrib.auth register on the default site when they are imported;
# make sure ours has them whatever the import order was.
if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, StaffUserAdmin)
for model, model_admin in (
    (Group, GroupAdmin),
    (TOTPDevice, TOTPDeviceAdmin),
    (StaticDevice, StaticDeviceAdmin),
):
    if not admin.site.is_registered(model):
        admin.site.register(model, model_admin)
