"""The posts' pages of the back office, under /staff/posts/ (acs/urls.py). Their own
namespace, since the staff app's URLconf stays free of content (tests/test_layers.py)."""

from django.urls import path

from acs.content.views import staff

app_name = "posts"

urlpatterns = [
    path("", staff.posts, name="list"),
    path("new/", staff.post_new, name="new"),
]
