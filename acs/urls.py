"""The URLconfs: the root one, and one per post built from the same public patterns.

Public URLs name the post: ``/<lang>/<post>/…`` (acs/posts/routing.py picks the post's
URLconf for a request). The root URLconf serves what names no post: the staff pages, the API,
``/<lang>/`` (the list of posts) and, under ``/<lang>/…``, today's URLs without a post, which
redirect to the default post so that every link already sent keeps working; it holds the
default post's pages too, so that links made with no post named go there.
"""

from functools import cache
from types import SimpleNamespace

from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import URLResolver, include, path, re_path

from acs.content.views import public as content_views
from acs.core import views as core_views
from acs.posts.routing import PostPrefixPattern
from acs.posts.views import public as posts_views

handler400 = "acs.core.views.bad_request"
handler403 = "acs.core.views.permission_denied"
handler404 = "acs.core.views.page_not_found"
handler500 = "acs.core.views.server_error"

shared = [
    path("healthz", core_views.healthz, name="healthz"),
    path("staff/admin/", admin.site.urls),
    path("staff/posts/", include("acs.content.urls_staff")),
    path("staff/", include("acs.staff.urls")),
    path("api/v1/", include("acs.api.urls")),
]

# A post's public pages, under /<lang>/<post>/ (or /<lang>/ on the post's own host names).
public = [
    path("appointments/", include("acs.appointments.urls")),
    path("enroll/", include("acs.enrollment.urls")),
    # Messages: /messages/… (pages, feeds) and /m/… (the personal links in what was sent).
    path("", include("acs.alerts.urls")),
    path("", include("acs.content.urls")),
]

post_list = path("", posts_views.post_list, name="post-list")

urlpatterns = [
    *shared,
    # The default post's pages, so that a reverse() with no post named (a staff page's link
    # to the public page of a message) names the default post.
    URLResolver(PostPrefixPattern(settings.ACS_DEFAULT_POST), public),
    *i18n_patterns(
        post_list,
        # Today's URLs without a post: the sections, and a page's one segment (as before,
        # an unknown first segment is a 404, and /foo/ is sent to /en/foo/ to find that out).
        re_path(
            r"^(?P<rest>(appointments|enroll|messages|m)/.*)$",
            content_views.without_post,
            name="without-post",
        ),
        path("<slug:rest>/", content_views.without_post, name="without-post-page"),
        prefix_default_language=True,
    ),
]


@cache
def post_urlconf(slug: str, *, short: bool = False) -> SimpleNamespace:
    """The URLconf of one post. Kept for the life of the process: Django caches a resolver
    per URLconf object, so the same object must come back for the same post."""
    if short:
        patterns = [*shared, *i18n_patterns(*public, prefix_default_language=True)]
    else:
        patterns = [
            *shared,
            URLResolver(PostPrefixPattern(slug), public),
            *i18n_patterns(post_list, prefix_default_language=True),
        ]
    return _URLconf(patterns)


class _URLconf(SimpleNamespace):
    """A URLconf object: Django reads its ``urlpatterns``. Hashed by identity, because
    ``get_resolver`` caches by URLconf."""

    def __init__(self, urlpatterns: list) -> None:
        super().__init__(
            urlpatterns=urlpatterns,
            handler400=handler400,
            handler403=handler403,
            handler404=handler404,
            handler500=handler500,
        )

    __hash__ = object.__hash__
    __eq__ = object.__eq__
