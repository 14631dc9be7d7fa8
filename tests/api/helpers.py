"""Helpers for the API tests: a service factory and request builders."""

from __future__ import annotations

import json

from django.test import Client

from acs.appointments.models import Service
from acs.appointments.services import services_seed
from acs.core import pow
from acs.posts.models import Post

API = "/api/v1"
ANA = {"full_name": "Ana Quispe", "date_of_birth": "1985-04-12", "passport_number": "123456789"}


def service_create(
    post: Post,
    *,
    slug: str = "passport-renewal",
    seats: int = 2,
    max_people: int = 3,
    requires_benefits_ack: bool = False,
    order: int = 10,
) -> Service:
    """A service open 08:00–12:00 on all seven days, 30-minute slots, no minimum notice."""
    services_seed(
        post=post,
        entries=[
            {
                "slug": slug,
                "order": order,
                "name": {"en": f"{slug} (en)", "es": f"{slug} (es)"},
                "description": {"en": "", "es": ""},
                "checklist": {"en": [], "es": []},
                "duration_minutes": 30,
                "seats_per_slot": seats,
                "max_people": max_people,
                "horizon_days": 60,
                "min_notice_hours": 0,
                "requires_benefits_ack": requires_benefits_ack,
                "hours": [[day, "08:00", "12:00"] for day in range(7)],
            }
        ],
    )
    return Service.objects.select_related("post").get(post=post, slug=slug)


def slot_keys(client: Client, slug: str, *, day_index: int = 1, prefix: str = API) -> list[str]:
    """The start keys of one offered day (by default the second, so none starts in a minute);
    ``prefix`` names a post (``/api/v1/posts/<post>``) or not (the default post)."""
    response = client.get(f"{prefix}/services/{slug}/availability")
    assert response.status_code == 200
    return [slot["start"] for slot in response.json()["days"][day_index]["slots"]]


def solved_challenge(client: Client) -> str:
    challenge = client.get(f"{API}/pow/challenge").json()["challenge"]
    return pow.solve_for_tests(pow.Challenge(json=json.dumps(challenge)))


def booking_body(client: Client, *, service: str, start: str, **fields) -> dict:
    body = {
        "service": service,
        "start": start,
        "people": [ANA],
        "email": "ana@example.org",
        "phone": "+51 987 654 321",
        "language": "en",
        "altcha": solved_challenge(client),
    }
    body.update(fields)
    return body


def post_json(client: Client, body, path: str = f"{API}/bookings"):
    raw = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(path, data=raw, content_type="application/json")


def error_of(response, status: int) -> dict:
    """The error of an API response, checked as RFC 9457 problem details: its media type,
    ``type``, ``title``, ``status`` and ``detail``; the older ``error`` member repeats
    ``code``, ``detail`` and every extension member. Returns ``error``."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    code = problem["code"]
    assert problem["type"] == f"/api/v1/problems/{code}" and problem["title"]
    assert problem["status"] == status and problem["detail"]
    error = problem["error"]
    assert error["code"] == code and error["message"] == problem["detail"]
    assert all(problem[name] == value for name, value in error.items() if name != "message")
    return error
