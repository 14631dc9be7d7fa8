"""The staff admin site's registry.

Staff accounts, roles and second factors are not in the admin: they are managed on the staff
pages (``/staff/accounts/``), which enforce that nobody gives what they do not hold
(``acs.staff.accounts``), and TOTP secrets are never shown after enrolment. Superusers are
made only at the console (``manage.py staff_create --superuser``). Every other model admin
writes the audit log (``acs.core.admin_audit``): the third-party ones (django-axes) are given
that behaviour here.
"""

from django.contrib import admin
from django.contrib.auth.models import Group, User
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from acs.core.admin_audit import AuditedModelAdmin

for model in (User, Group, TOTPDevice, StaticDevice):
    if admin.site.is_registered(model):
        admin.site.unregister(model)

for model, model_admin in list(admin.site._registry.items()):
    if not isinstance(model_admin, AuditedModelAdmin):
        audited = type(
            f"Audited{type(model_admin).__name__}", (AuditedModelAdmin, type(model_admin)), {}
        )
        admin.site.unregister(model)
        admin.site.register(model, audited)
