from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from acs.core import views as core_views

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("staff/admin/", admin.site.urls),
    path("staff/posts/", include("acs.content.urls_staff")),
    path("staff/", include("acs.staff.urls")),
    path("api/v1/", include("acs.api.urls")),
    *i18n_patterns(
        path("appointments/", include("acs.appointments.urls")),
        path("enroll/", include("acs.enrollment.urls")),
        # Messages: /messages/… (pages, feeds) and /m/… (the personal links in what was sent).
        path("", include("acs.alerts.urls")),
        path("", include("acs.content.urls")),
        prefix_default_language=True,
    ),
]

handler403 = "acs.core.views.permission_denied"
handler404 = "acs.core.views.page_not_found"
handler500 = "acs.core.views.server_error"
