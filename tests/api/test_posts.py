"""The API names the post: the list of posts, one post, and each post's own services,
availability and bookings; the older paths still answer for the default post."""

from __future__ import annotations

import re
from datetime import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from acs.appointments.models import Booking
from acs.posts.models import Post
from tests.api.helpers import ANA, API, booking_body, error_of, post_json, service_create, slot_keys
from tests.appointments.factories import make_service
from tests.core.outbox import hold_emails

pytestmark = pytest.mark.django_db

LIMA = f"{API}/posts/lima"
MEXICO = f"{API}/posts/mexico-city-test"


@pytest.fixture(autouse=True)
def queued_emails(monkeypatch):
    hold_emails(monkeypatch)


# The list of posts --------------------------------------------------------------------------


def test_posts_lists_every_post_by_country_then_city(client, lima, mexico, new_york):
    data = client.get(f"{API}/posts").json()
    assert [p["slug"] for p in data["posts"]] == ["mexico-city-test", "lima", "new-york-test"]
    assert data["posts"][0] == {
        "slug": "mexico-city-test",
        "name": "U.S. Embassy Mexico City (test)",
        "city": "Mexico City",
        "country_code": "MX",
        "country": "Mexico",
        "time_zone": "America/Mexico_City",
        "emergency_phone": "+525585262561",
        "urls": {
            "self": MEXICO,
            "services": f"{MEXICO}/services",
            "bookings": f"{MEXICO}/bookings",
        },
    }


def test_posts_speak_the_language_asked_for(client, mexico):
    post = client.get(f"{API}/posts?lang=es&country=MX").json()["posts"][0]
    assert post["name"] == "Embajada de EE. UU. en Ciudad de México (prueba)"
    assert post["country"] == "México"
    assert client.get(f"{API}/posts?lang=es").json()["posts"][1]["country"] == "Perú"


@pytest.mark.parametrize(
    ("query", "slugs"),
    [
        ("country=MX", ["mexico-city-test"]),
        ("country=pe", ["lima"]),
        ("country=FR", []),
        ("q=mexico", ["mexico-city-test"]),
        ("q=LIMA", ["lima"]),
        ("q=Ciudad de México", ["mexico-city-test"]),  # the Spanish name
        ("q=ciudad de mexico", ["mexico-city-test"]),  # without the accent, as on the page
        ("q=peru", ["lima"]),  # the country's name, as the page's search box finds it
        ("q=New%20York", ["new-york-test"]),  # the city
        ("q=lima&country=MX", []),
        ("q=%20%20", ["mexico-city-test", "lima", "new-york-test"]),
    ],
)
def test_posts_are_filtered_by_country_and_search(client, lima, mexico, new_york, query, slugs):
    response = client.get(f"{API}/posts?{query}")
    assert response.status_code == 200, response.content
    assert [p["slug"] for p in response.json()["posts"]] == slugs


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("country=MEX", "invalid_country"),
        ("country=M", "invalid_country"),
        ("country=1X", "invalid_country"),
        ("country=%C3%91A", "invalid_country"),
        ("country=UK", "invalid_country"),  # not assigned: GB is the United Kingdom
        ("country=ZZ", "invalid_country"),
        ("q=" + "x" * 101, "invalid_query"),
        ("lang=fr", "invalid_lang"),
    ],
)
def test_posts_refuse_bad_filters_with_a_code_and_a_message(client, lima, query, code):
    error = error_of(client.get(f"{API}/posts?{query}"), 400)
    assert error["code"] == code
    assert error["message"]


def test_the_list_costs_one_query_however_many_posts(
    client, lima, mexico, new_york, django_assert_num_queries
):
    with django_assert_num_queries(1):
        assert client.get(f"{API}/posts").status_code == 200


# One post -----------------------------------------------------------------------------------


def test_one_post_is_the_same_as_in_the_list(client, lima, mexico):
    listed = client.get(f"{API}/posts?lang=es").json()["posts"]
    assert client.get(f"{MEXICO}?lang=es").json() == listed[0]
    assert client.get(LIMA).json()["time_zone"] == "America/Lima"


@pytest.mark.parametrize(
    "path",
    [
        "/posts/nowhere",
        "/posts/nowhere/services",
        "/posts/nowhere/services/passport-renewal/availability",
        "/posts/LIMA/services",  # slugs are lower case; no guessing
        "/posts/caf%C3%A9/services",  # not even a slug: still the API's answer, not a page
    ],
)
def test_an_unknown_post_is_a_json_404_that_names_it(client, service, path):
    error = error_of(client.get(API + path), 404)
    assert error["code"] == "unknown_post"
    slug = re.match(r"/posts/([^/]+)", path).group(1).replace("caf%C3%A9", "café")
    assert error["post"] == slug
    assert slug in error["message"]


def test_an_unknown_post_refuses_a_booking_and_writes_nothing(client, service):
    body = booking_body(client, service=service.slug, start=slot_keys(client, service.slug)[0])
    error = error_of(post_json(client, body, f"{API}/posts/nowhere/bookings"), 404)
    assert error["code"] == "unknown_post"
    assert not Booking.objects.exists()


# Each post's own services -------------------------------------------------------------------


@pytest.fixture
def two_posts(lima, mexico) -> tuple[Post, Post]:
    """Lima and Mexico City each offer passport renewal (their own, different hours and
    seats), and Mexico City alone offers a service of its own."""
    service_create(lima, slug="passport-renewal", seats=2)
    make_service(post=mexico, slug="passport-renewal", seats=5, opens=time(9), closes=time(11))
    make_service(post=mexico, slug="mexico-only", seats=1)
    return lima, mexico


def test_each_post_lists_its_own_services(client, two_posts):
    lima = client.get(f"{LIMA}/services").json()
    mexico = client.get(f"{MEXICO}/services").json()
    assert (lima["post"], lima["time_zone"]) == ("lima", "America/Lima")
    assert (mexico["post"], mexico["time_zone"]) == ("mexico-city-test", "America/Mexico_City")
    assert [s["slug"] for s in lima["services"]] == ["passport-renewal"]
    assert {s["slug"] for s in mexico["services"]} == {"passport-renewal", "mexico-only"}
    renewal = next(s for s in mexico["services"] if s["slug"] == "passport-renewal")
    assert renewal["seats_per_slot"] == 5


def test_each_post_shows_its_own_availability(client, two_posts):
    days = client.get(f"{MEXICO}/services/passport-renewal/availability").json()
    assert days["time_zone"] == "America/Mexico_City"
    first = days["days"][1]["slots"][0]
    assert first["start"].endswith("T15:00Z")  # 09:00 in Mexico City
    assert first["local"].endswith("T09:00:00-06:00")
    assert first["free"] == 5
    assert len(days["days"][1]["slots"]) == 4  # 09:00–11:00 in 30-minute slots
    lima = client.get(f"{LIMA}/services/passport-renewal/availability").json()
    assert lima["days"][1]["slots"][0]["start"].endswith("T13:00Z")  # 08:00 in Lima
    assert lima["days"][1]["slots"][0]["free"] == 2


def test_a_posts_availability_costs_what_the_default_posts_did(client, two_posts):
    """The post named in the path replaces the default post's lookup: still five queries."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"{MEXICO}/services/passport-renewal/availability?days=92")
    assert response.status_code == 200
    assert len(queries) <= 5  # post, service, rules, closures, seats taken


def test_another_posts_service_under_this_post_is_not_found(client, two_posts):
    response = client.get(f"{LIMA}/services/mexico-only/availability")
    error = error_of(response, 404)
    assert error["code"] == "unknown_service"
    assert "mexico" not in response.content.decode().replace("mexico-only", "")


def test_a_booking_through_a_posts_path_lands_at_that_post(client, two_posts):
    _lima, mexico = two_posts
    start = slot_keys(client, "passport-renewal", prefix=MEXICO)[0]
    body = booking_body(client, service="passport-renewal", start=start)
    response = post_json(client, body, f"{MEXICO}/bookings")
    assert response.status_code == 201, response.content
    assert response.json()["local"].endswith("T09:00:00-06:00")
    booking = Booking.objects.select_related("service").get(code=response.json()["code"])
    assert booking.post == mexico
    assert booking.service.post == mexico
    free = client.get(f"{MEXICO}/services/passport-renewal/availability").json()["days"][1]
    assert free["slots"][0]["free"] == 4
    at_lima = client.get(f"{LIMA}/services/passport-renewal/availability").json()["days"][1]
    assert {slot["free"] for slot in at_lima["slots"]} == {2}  # Lima's seats untouched


def test_another_posts_service_cannot_be_booked_under_this_post(client, two_posts):
    start = slot_keys(client, "mexico-only", prefix=MEXICO)[0]
    body = booking_body(client, service="mexico-only", start=start)
    error = error_of(post_json(client, body, f"{LIMA}/bookings"), 400)
    assert error["fields"]["service"]["code"] == "unknown_service"
    assert not Booking.objects.exists()


def test_capacity_of_a_posts_slot_is_never_exceeded_through_its_path(client, mexico):
    make_service(post=mexico, slug="notarial", seats=2, max_people=2)
    start = slot_keys(client, "notarial", prefix=MEXICO)[0]
    people = [
        {"full_name": f"Person {n}", "date_of_birth": "1980-01-01", "passport_number": f"{n:09d}"}
        for n in range(1, 4)
    ]

    def book(person: dict, email: str):
        body = booking_body(client, service="notarial", start=start, people=[person], email=email)
        return post_json(client, body, f"{MEXICO}/bookings")

    assert book(people[0], "a@example.org").status_code == 201
    assert book(people[1], "b@example.org").status_code == 201
    assert error_of(book(people[2], "c@example.org"), 409)["code"] == "taken"
    assert Booking.objects.filter(post=mexico).count() == 2


# The older paths ------------------------------------------------------------------------------


def test_the_older_paths_answer_directly_for_the_default_post(client, two_posts, settings):
    assert client.get(f"{API}/services").json() == client.get(f"{LIMA}/services").json()
    older = client.get(f"{API}/services/passport-renewal/availability")
    assert older.status_code == 200  # no redirect
    assert older.json() == client.get(f"{LIMA}/services/passport-renewal/availability").json()
    start = slot_keys(client, "passport-renewal")[0]
    body = booking_body(client, service="passport-renewal", start=start, people=[ANA])
    response = post_json(client, body)
    assert response.status_code == 201
    assert Booking.objects.get(code=response.json()["code"]).post.slug == "lima"

    settings.ACS_DEFAULT_POST = "mexico-city-test"
    assert client.get(f"{API}/services").json()["post"] == "mexico-city-test"


def test_the_document_marks_the_older_paths_deprecated_and_the_new_ones_not(client, service):
    paths = client.get(f"{API}/openapi.json").json()["paths"]
    for older in ("/services", "/services/{slug}/availability", "/bookings"):
        for operation in paths[API + older].values():
            assert operation["deprecated"] is True
        assert f"{API}/posts/{{post}}{older}" in paths
    for path, item in paths.items():
        if path.startswith(f"{API}/posts/{{post}}"):
            for operation in item.values():
                assert not operation.get("deprecated")
                assert "unknown_post" in operation["responses"]["404"]["description"]
                assert operation["parameters"][0]["name"] == "post"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/nowhere",
        "/api/v1/posts/lima/services/passport-renewal/availability/extra",
        "/api/v1/posts/%E2%80%AE/services",
    ],
)
def test_an_address_no_pattern_matches_is_a_json_404(client, lima, path):
    """Issue 14: under /api/ an error is JSON in the API's shape, never an HTML page."""
    response = client.get(path)
    assert error_of(response, 404)["code"] in ("not_found", "unknown_post")
