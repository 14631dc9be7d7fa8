from django.contrib import admin
from django.urls import path

from acs.staff import views

urlpatterns = [
    path("", views.home, name="staff-home"),
    path("admin/", admin.site.urls),
]
