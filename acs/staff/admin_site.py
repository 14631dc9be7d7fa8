from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.utils.translation import gettext_lazy as _
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite
from django_otp.models import Device
from django_otp.plugins.otp_totp.models import TOTPDevice


class StaffLoginForm(OTPAdminAuthenticationForm):
    """django-otp asks the user to pick a device before it checks a code; staff here have one
    authenticator each, so a code typed without choosing is checked against that one."""

    def _chosen_device(self, user: AbstractBaseUser) -> Device | None:
        device = super()._chosen_device(user)
        if device is None:
            device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        return device


class StaffAdminSite(OTPAdminSite):
    """The Django admin, reachable only after a password and a TOTP code (django-otp)."""

    site_header = _("ACS Portal — staff")
    site_title = _("ACS Portal staff")
    index_title = _("Back office")
    login_form = StaffLoginForm
