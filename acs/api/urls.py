"""The JSON API, version 1. Every route here is described in ``openapi.py`` (a test checks)."""

from django.urls import path

from acs.api import views

app_name = "api"

# ``<str:post>`` rather than ``<slug:post>``: any name reaches the view, so an unknown post
# gets the API's JSON 404 that names it, not the site's HTML page.
urlpatterns = [
    path("posts", views.posts, name="posts"),
    path("posts/<str:post>", views.post_detail, name="post"),
    path("posts/<str:post>/services", views.services, name="post-services"),
    path(
        "posts/<str:post>/services/<slug:slug>/availability",
        views.availability,
        name="post-availability",
    ),
    path("posts/<str:post>/bookings", views.bookings, name="post-bookings"),
    path(
        "posts/<str:post>/services/<slug:slug>/requests",
        views.round_requests,
        name="post-round-requests",
    ),
    path("pow/challenge", views.pow_challenge, name="pow-challenge"),
    path("openapi.json", views.openapi, name="openapi"),
    path("problems/<str:code>", views.problem, name="problem"),
    # The default post's, answered directly, for clients written before posts were named
    # (deprecated in the OpenAPI document).
    path("services", views.services, name="services"),
    path("services/<slug:slug>/availability", views.availability, name="availability"),
    path("bookings", views.bookings, name="bookings"),
]
