"""The JSON API, version 1. Every route here is described in ``openapi.py`` (a test checks)."""

from django.urls import path

from acs.api import views

app_name = "api"

urlpatterns = [
    path("services", views.services, name="services"),
    path("services/<slug:slug>/availability", views.availability, name="availability"),
    path("pow/challenge", views.pow_challenge, name="pow-challenge"),
    path("bookings", views.bookings, name="bookings"),
    path("openapi.json", views.openapi, name="openapi"),
]
