from django.utils.translation import gettext_lazy as _
from django_otp.admin import OTPAdminSite


class StaffAdminSite(OTPAdminSite):
    """The Django admin, reachable only after a password and a TOTP code (django-otp)."""

    site_header = _("ACS Portal — staff")
    site_title = _("ACS Portal staff")
    index_title = _("Back office")
