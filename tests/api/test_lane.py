"""The API's short middleware chain (acs/api/lane.py): the API skips the pages' middleware
and keeps the host check, the language and the security headers; pages are untouched."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from acs.api.lane import ApiLaneMiddleware

pytestmark = pytest.mark.django_db

SEEN: list[str] = []


class Recorder:
    """A middleware of the pages' chain that notes each path it sees."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        SEEN.append(request.path)
        return self.get_response(request)


@pytest.fixture
def recorded(settings):
    SEEN.clear()
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "tests.api.test_lane.Recorder"]
    yield SEEN
    SEEN.clear()


def test_api_requests_skip_the_pages_middleware_and_pages_do_not(recorded, client):
    assert client.get("/api/v1/posts/lima").status_code == 200
    assert recorded == []
    assert client.get("/en/lima/").status_code == 200
    assert recorded == ["/en/lima/"]
    # An unknown API path is not the API's view: the site's chain answers its problem.
    response = client.get("/api/v1/nowhere")
    assert response.status_code == 404 and response["Content-Type"] == "application/problem+json"
    assert recorded == ["/en/lima/", "/api/v1/nowhere"]


def test_api_answers_keep_the_security_headers_and_set_no_cookie(client):
    client.cookies["sessionid"] = "made-up"
    response = client.get("/api/v1/posts/lima", HTTP_ACCEPT_LANGUAGE="es")
    assert response["X-Frame-Options"] == "DENY"
    assert "default-src" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Language"] == "es"
    assert not response.cookies
    assert "Cookie" not in response.get("Vary", "")


def test_a_refusal_is_in_the_callers_language(client):
    response = client.post(
        "/api/v1/posts/lima/bookings", "[", "application/json", HTTP_ACCEPT_LANGUAGE="es"
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "El cuerpo de la solicitud debe ser un objeto JSON."


def test_a_host_not_allowed_is_refused():
    response = Client(HTTP_HOST="evil.example").get("/api/v1/posts/lima")
    assert response.status_code == 400


def test_a_middleware_that_needs_the_view_hooks_cannot_join_the_api_chain(settings):
    settings.API_MIDDLEWARE = ["django.middleware.csrf.CsrfViewMiddleware"]
    with pytest.raises(ImproperlyConfigured, match="process_view"):
        ApiLaneMiddleware(lambda request: None)
