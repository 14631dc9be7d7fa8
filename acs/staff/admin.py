from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django_otp.plugins.otp_static.admin import StaticDeviceAdmin
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

# django-otp and django.contrib.auth register on the default site when they are imported;
# make sure ours has them whatever the import order was.
for model, model_admin in (
    (User, UserAdmin),
    (Group, GroupAdmin),
    (TOTPDevice, TOTPDeviceAdmin),
    (StaticDevice, StaticDeviceAdmin),
):
    if not admin.site.is_registered(model):
        admin.site.register(model, model_admin)
