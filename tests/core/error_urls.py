"""A URLconf with a view that fails, to see the 500 page."""

from django.conf.urls.i18n import i18n_patterns
from django.urls import include, path


def broken_view(request):
    raise RuntimeError("boom: the test's deliberate failure")


urlpatterns = [
    *i18n_patterns(
        path("boom/", broken_view),
        path("", include("acs.content.urls")),
    ),
]

handler500 = "acs.core.views.server_error"
