"""The read side of the API: services, availability, proof-of-work challenges, the document."""

from __future__ import annotations

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver

from acs.api import urls as api_urls
from acs.appointments.models import Service
from acs.core import pow
from tests.api.helpers import API, error_of, service_create

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def queued_emails(monkeypatch):
    """Record booking emails instead of sending them (emails.py may still be a stub)."""
    calls: list = []
    monkeypatch.setattr(
        "acs.appointments.tasks.send_booking_email.apply_async",
        lambda *args, **kwargs: calls.append((args, kwargs)),
    )
    return calls


# Services ---------------------------------------------------------------------------------


def test_services_lists_the_bookable_services_in_order_and_language(client, lima):
    service_create(lima, slug="notarial", order=20, seats=3, max_people=2)
    service_create(lima, slug="passport-renewal", order=10)
    hidden = service_create(lima, slug="retired", order=5)
    Service.objects.filter(pk=hidden.pk).update(active=False)  # staff closed it in the admin

    english = client.get(f"{API}/services").json()
    assert english["time_zone"] == "America/Lima"
    assert [s["slug"] for s in english["services"]] == ["passport-renewal", "notarial"]
    assert english["services"][1] == {
        "slug": "notarial",
        "name": "notarial (en)",
        "duration_minutes": 30,
        "seats_per_slot": 3,
        "max_people": 2,
        "horizon_days": 60,
        "requires_benefits_ack": False,
    }
    spanish = client.get(f"{API}/services?lang=es").json()
    assert spanish["services"][0]["name"] == "passport-renewal (es)"


def test_services_refuses_an_unknown_language(client, service):
    assert error_of(client.get(f"{API}/services?lang=fr"), 400)["code"] == "invalid_lang"


def test_without_a_configured_post_the_api_says_not_found(client, service, settings):
    settings.ACS_DEFAULT_POST = "nowhere"
    assert error_of(client.get(f"{API}/services"), 404)["code"] == "not_found"


def test_reads_refuse_other_methods(client, service):
    error = error_of(client.post(f"{API}/services"), 405)
    assert error["code"] == "method_not_allowed"


# Availability -----------------------------------------------------------------------------


def test_availability_lists_days_and_slots_in_utc_and_local_time(client, service):
    data = client.get(f"{API}/services/{service.slug}/availability").json()
    assert data["service"] == "passport-renewal"
    assert data["time_zone"] == "America/Lima"
    assert 50 <= len(data["days"]) <= 61  # today and 60 days ahead, less holidays
    dates = [day["date"] for day in data["days"]]
    assert dates == sorted(dates)
    slots = data["days"][1]["slots"]
    assert len(slots) == 8  # 08:00–12:00 in 30-minute slots
    first = slots[0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT13:00Z", first["start"])  # 08:00 in Lima is 13:00Z
    assert first["local"] == f"{data['days'][1]['date']}T08:00:00-05:00"
    assert first["free"] == 2


def test_availability_takes_a_first_day_and_a_number_of_days(client, service):
    dates = [
        day["date"]
        for day in client.get(f"{API}/services/{service.slug}/availability").json()["days"]
    ]
    start = dates[5]
    data = client.get(f"{API}/services/{service.slug}/availability?from={start}&days=3").json()
    assert [day["date"] for day in data["days"]] == [d for d in dates if d >= start][:3]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("from=2025-13-01", "invalid_date"),
        ("from=tomorrow", "invalid_date"),
        ("from=9999-12-31&days=92", "invalid_date"),
        ("days=0", "invalid_days"),
        ("days=93", "invalid_days"),
        ("days=-1", "invalid_days"),
        ("days=ten", "invalid_days"),
    ],
)
def test_availability_refuses_bad_parameters(client, service, query, code):
    response = client.get(f"{API}/services/{service.slug}/availability?{query}")
    assert error_of(response, 400)["code"] == code


def test_availability_of_an_unknown_service_is_not_found(client, service):
    response = client.get(f"{API}/services/nope/availability")
    assert error_of(response, 404)["code"] == "unknown_service"


def test_availability_costs_the_same_queries_for_one_day_or_ninety_two(client, service):
    counts = []
    for days in (1, 30, 92):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"{API}/services/{service.slug}/availability?days={days}")
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1] == counts[2]
    assert counts[0] <= 5  # post, service, rules, closures, seats taken


# Proof of work ----------------------------------------------------------------------------


def test_the_challenge_is_fresh_uncached_and_solvable(client, service):
    response = client.get(f"{API}/pow/challenge")
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]
    data = response.json()
    assert data["required"] is True
    challenge = data["challenge"]
    assert set(challenge) == {"algorithm", "challenge", "maxnumber", "salt", "signature"}
    assert client.get(f"{API}/pow/challenge").json()["challenge"] != challenge
    payload = pow.solve_for_tests(pow.Challenge(json=json.dumps(challenge)))
    pow.solution_consume(payload)  # accepted once


# The OpenAPI document ---------------------------------------------------------------------


def _routes(patterns, prefix: str = "") -> list[str]:
    routes = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            routes += _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            routes.append(prefix + str(pattern.pattern))
    return routes


def _refs(node) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if "$ref" in node else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def test_the_openapi_document_describes_every_api_url(client, service):
    document = client.get(f"{API}/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    routes = _routes(api_urls.urlpatterns)
    assert len(routes) == 12  # the posts, a post's five, the challenge, this, problems, older 3
    for route in routes:
        templated = API + "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
        assert templated in document["paths"], f"{templated} is not in openapi.json"
        for operation in document["paths"][templated].values():
            assert operation["responses"]


def test_every_reference_in_the_openapi_document_resolves(client, service):
    document = client.get(f"{API}/openapi.json").json()
    for ref in _refs(document):
        name = ref.removeprefix("#/components/schemas/")
        assert name in document["components"]["schemas"], ref


def test_every_error_type_resolves_to_its_description(client, lima):
    response = client.get(f"{API}/posts/atlantis")
    problem = response.json()
    described = client.get(problem["type"])
    assert described.status_code == 200
    assert described.json() == {
        "type": problem["type"],
        "code": "unknown_post",
        "title": problem["title"],
    }
    assert error_of(client.get(f"{API}/problems/no_such_problem"), 404)["code"] == "not_found"


def test_every_operation_describes_its_errors_as_problem_details(client, lima):
    document = client.get(f"{API}/openapi.json").json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            errors = {
                status: response
                for status, response in operation["responses"].items()
                if status == "default" or int(status) >= 400
            }
            assert "default" in errors, (path, method)
            for response in errors.values():
                assert list(response["content"]) == ["application/problem+json"], (path, method)
