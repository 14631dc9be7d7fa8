"""Site-wide views: health probe and the styled error pages."""

from __future__ import annotations

import logging

from django.core.exceptions import RequestDataTooBig
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils.translation import gettext
from django.views.decorators.csrf import requires_csrf_token

from acs.core.problems import problem_response

logger = logging.getLogger(__name__)


def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers: 200 when the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def _api_error(request: HttpRequest, status: int, code: str, message: str) -> HttpResponse | None:
    """Under /api/ an error is JSON, in the API's own shape, whatever raised it (a path no
    pattern matches, a server error): a client never gets an HTML page there."""
    if not request.path_info.startswith("/api/"):
        return None
    return problem_response(status, code, message)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """A request Django could not read: a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE``, too many
    fields, a malformed multipart body. Nothing was read, so nothing was changed."""
    if isinstance(exception, RequestDataTooBig):
        found = _api_error(request, 413, "too_large", gettext("The body is too large."))
    else:
        found = _api_error(request, 400, "bad_request", gettext("The request could not be read."))
    return found or render(request, "400.html", status=400)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    found = _api_error(request, 404, "not_found", gettext("There is nothing at this address."))
    return found or render(request, "404.html", status=404)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    found = _api_error(request, 403, "forbidden", gettext("This is not allowed."))
    return found or render(request, "403.html", status=403)


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    """Render the styled 500 page; if even that fails (the database is down), a plain one."""
    found = _api_error(
        request, 500, "server_error", gettext("Something went wrong on our side. Try again.")
    )
    if found is not None:
        return found
    try:
        return render(request, "500.html", status=500)
    except Exception:
        logger.exception("the 500 page could not be rendered with its context")
        try:
            return HttpResponseServerError(loader.render_to_string("500_plain.html"))
        except Exception:
            return HttpResponseServerError("Server error. Please try again later.")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A refused form (expired page, cookies blocked) gets the styled 403 page, not Django's."""
    return render(request, "403.html", status=403)
