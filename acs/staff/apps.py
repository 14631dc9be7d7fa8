from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class StaffConfig(AppConfig):
    default = True
    name = "acs.staff"
    verbose_name = _("Staff")


class StaffAdminConfig(admin_apps.AdminConfig):
    default = False
    """Makes every ``admin.register`` land on the two-factor admin site."""

    default_site = "acs.staff.admin_site.StaffAdminSite"
