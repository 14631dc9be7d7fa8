"""Bodies a fuzzer or an attacker sends: nested deeper than Python reads, text that cannot be
encoded, more than the server reads. Each is refused as problem details, before any rate
limit beyond the address's, any proof of work or any write; none is a server error."""

from __future__ import annotations

import json

import pytest

from acs.appointments.models import Booking, RoundRequest
from tests.api.helpers import ANA, error_of, service_create

pytestmark = pytest.mark.django_db

PATHS = ["/api/v1/posts/lima/bookings", "/api/v1/posts/lima/services/passport-renewal/requests"]
SURROGATE_NAME = json.dumps(
    {
        "service": "passport-renewal",
        "email": "ana@example.org",
        "phone": "+51987654321",
        "start": "2030-01-01T15:00Z",
        "people": [{**ANA, "full_name": "Ana \ud800"}],
    }
).encode()


@pytest.fixture(autouse=True)
def _service(lima, settings):
    settings.ACS_POW_ENABLED = False
    service_create(lima)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"[" * 100_000, 400, "invalid_json"),
        (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, 400, "invalid_json"),
        (SURROGATE_NAME, 400, "invalid_json"),
        (b'{"email": "a\\udfff@example.org"}', 400, "invalid_json"),
        (b'{"email": "' + b"a" * 3_000_000 + b'"}', 413, "too_large"),
        (b'{"people": 1e999, "email": -0}', 400, "invalid_fields"),
    ],
    ids=["deep-array", "deep-object", "surrogate-name", "surrogate-email", "3-MB", "infinity"],
)
def test_hostile_bodies_are_refused_as_problem_details_and_write_nothing(
    client, path, body, status, code
):
    response = client.post(path, body, content_type="application/json")
    if path.endswith("/requests") and code == "invalid_fields":
        status, code = 404, "unknown_service"  # a first-come service takes no requests
    assert error_of(response, status)["code"] == code
    assert not Booking.objects.exists() and not RoundRequest.objects.exists()


@pytest.mark.parametrize(
    ("language", "words"),
    [("en", "We could not read that request"), ("es", "No pudimos leer esa solicitud")],
)
def test_a_page_sent_more_than_the_server_reads_gets_a_page_in_plain_words(
    client, lima, language, words
):
    response = client.post(
        f"/{language}/lima/enroll/sign-in/",
        b"email=" + b"a" * 3_000_000,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert words in response.content.decode()
