"""The public pages' shared cache (acs/core/pagecache.py): what a crowd, a CDN and a signed-in
citizen each get, and that a change made through the services shows at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import timezone

from acs.appointments.services.closures import closure_create_and_cancel
from acs.content.services import page_upsert
from acs.core import pagecache
from acs.demo.shipped import LIMA
from acs.posts.services import post_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(settings, monkeypatch) -> list[float]:
    """The deployed once-a-second reading of the stamp, on a clock the test moves on."""
    settings.ACS_PAGE_CACHE_STAMP_SECONDS = 1.0
    now = [1000.0]
    monkeypatch.setattr(pagecache, "_clock", lambda: now[0])
    return now


@pytest.fixture
def crowd_urls(lima, published) -> list[str]:
    message = published()
    return [
        "/en/lima/",
        "/es/lima/",
        "/en/lima/emergency/",
        "/en/lima/messages/",
        "/en/lima/messages/?kind=security",
        f"/en/lima/messages/{message.public_id}/",
        f"/en/lima/messages/{message.public_id}/cap.xml",
        "/en/lima/messages/feed.atom",
        "/es/lima/messages/cap.atom",
    ]


def test_every_public_page_is_cacheable_by_anyone_and_sets_no_cookie(client, crowd_urls):
    for url in crowd_urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Cache-Control"] == "public, max-age=30", url
        assert response["ETag"].startswith('"'), url
        assert response["Last-Modified"], url
        assert "Cookie" in response["Vary"], url
        assert not response.cookies, url  # no csrftoken, sessionid or language cookie
        # The CSP header goes with the stored page: it must not carry a nonce to replay.
        assert "nonce-" not in response["Content-Security-Policy"], url


def test_the_second_reader_is_served_without_touching_the_database(
    client, crowd_urls, clock, django_assert_num_queries
):
    for url in crowd_urls:
        first = client.get(url)
        with django_assert_num_queries(0):
            second = client.get(url)
        assert second.status_code == 200
        assert second.content == first.content
        assert second["ETag"] == first["ETag"]
        assert second["Content-Type"] == first["Content-Type"]
        assert second["Content-Language"] == first["Content-Language"]


def test_each_language_and_query_has_its_own_copy(client, lima):
    english = client.get("/en/lima/").content.decode()
    spanish = client.get("/es/lima/").content.decode()
    assert '<html lang="en">' in english
    assert '<html lang="es">' in spanish
    assert client.get("/es/lima/").content.decode() == spanish
    everything = client.get("/en/lima/messages/").content
    security = client.get("/en/lima/messages/?kind=security").content
    assert everything != security


def test_a_conditional_request_for_the_same_copy_gets_304(client, lima):
    first = client.get("/en/lima/")
    again = client.get("/en/lima/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == first["ETag"]
    assert again["Cache-Control"] == "public, max-age=30"
    since = client.get("/en/lima/", HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert since.status_code == 304
    other = client.get("/en/lima/", HTTP_IF_NONE_MATCH='"an-older-copy"')
    assert other.status_code == 200
    assert other.content == first.content


def test_an_edited_page_shows_at_once_and_changes_the_etag(client, lima):
    before = client.get("/en/lima/emergency/")
    page_upsert(
        post=lima,
        slug="emergency",
        order=5,
        title={"en": "Emergencies (edited)", "es": "Emergencias (editado)"},
        summary={},
        body={"en": "<p>Call us.</p>", "es": "<p>Llámenos.</p>"},
    )
    after = client.get("/en/lima/emergency/", HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200
    assert "Emergencies (edited)" in after.content.decode()
    # The navigation of every other page shows the new title too.
    assert "Emergencies (edited)" in client.get("/en/lima/").content.decode()


def test_a_published_message_shows_at_once_on_the_list_and_the_feeds(client, lima, published):
    for url in ("/en/lima/messages/", "/en/lima/messages/feed.atom", "/es/lima/messages/cap.atom"):
        client.get(url)
    message = published(title_en="Flooding in Lima", title_es="Inundaciones en Lima")
    assert "Flooding in Lima" in client.get("/en/lima/messages/").content.decode()
    assert "Flooding in Lima" in client.get("/en/lima/messages/feed.atom").content.decode()
    assert str(message.public_id) in client.get("/es/lima/messages/cap.atom").content.decode()


def test_a_closure_shows_at_once_on_the_home_page(client, lima, officer):
    assert "Election day" not in client.get("/en/lima/").content.decode()
    now = timezone.now()
    closure_create_and_cancel(
        post=lima,
        service=None,
        starts_at=now + timedelta(days=2),
        ends_at=now + timedelta(days=3),
        reason_en="Election day",
        reason_es="Día de elecciones",
        actor=officer,
        nonce="test-closure",
    )
    assert "Election day" in client.get("/en/lima/").content.decode()
    assert "Día de elecciones" in client.get("/es/lima/").content.decode()


def test_a_changed_post_shows_at_once(client, lima):
    assert 'href="tel:+5116182999"' not in client.get("/en/lima/").content.decode()
    post_create(**(LIMA | {"emergency_phone": "+51 1 618 2999"}))
    assert 'href="tel:+5116182999"' in client.get("/en/lima/").content.decode()


def test_each_process_reads_the_stamp_once_a_second(client, lima, clock, django_assert_num_queries):
    """With the deployed setting, a crowd costs one stamp query per process per second,
    and a change shows once that second is over."""
    client.get("/en/lima/emergency/")
    page_upsert(
        post=lima,
        slug="emergency",
        order=5,
        title={"en": "Emergencies (edited)", "es": "Emergencias (editado)"},
        summary={},
        body={"en": "<p>Call us.</p>", "es": "<p>Llámenos.</p>"},
    )
    with django_assert_num_queries(0):
        assert "(edited)" not in client.get("/en/lima/emergency/").content.decode()
    clock[0] += 1.01
    assert "Emergencies (edited)" in client.get("/en/lima/emergency/").content.decode()


def test_signed_in_people_are_never_served_from_nor_stored_in_the_shared_cache(
    client, lima, django_assert_max_num_queries
):
    user = User.objects.create_user(username="officer", email="officer@example.org")
    signed_in = type(client)()
    signed_in.force_login(user)
    client.get("/en/lima/")  # an anonymous copy is stored
    response = signed_in.get("/en/lima/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, max-age=0"
    assert "ETag" not in response
    assert "Cookie" in response["Vary"]
    # Rendered for them (the page and its frame were read), not the stored copy.
    with django_assert_max_num_queries(20) as queries:
        signed_in.get("/en/lima/messages/")
        signed_in.get("/en/lima/messages/")
    assert len(queries) > 2


def test_a_page_with_a_form_token_is_not_cached(client, lima):
    """The taxpayers' checker posts a form: its CSRF cookie is the visitor's own."""
    response = client.get("/en/lima/overseas-taxpayers/")
    assert response.status_code == 200
    assert "csrftoken" in response.cookies
    assert "public" not in response.get("Cache-Control", "")


def test_pages_are_served_uncached_when_the_cache_is_down(client, lima, settings, caplog):
    settings.CACHES = {
        "default": {
            "BACKEND": "acs.core.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    first = client.get("/en/lima/")
    second = client.get("/en/lima/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert first.status_code == 200
    assert "U.S. Citizen Services" in first.content.decode()
    assert first["Cache-Control"] == "public, max-age=30"
    assert second.status_code == 304  # the CDN headers still work
    assert "page cache unavailable" in caplog.text


def test_a_page_whose_policy_carries_a_nonce_is_never_replayed(lima, settings):
    """A nonce must differ in every response; a stored page would repeat it."""
    rendered = []

    def view_with_nonce(request):
        rendered.append(request)
        response = HttpResponse(f"<p>{len(rendered)}</p>")
        response["Content-Security-Policy"] = f"script-src 'nonce-{len(rendered)}'"
        return response

    middleware = pagecache.PublicPageCacheMiddleware(view_with_nonce)
    first = middleware(RequestFactory().get("/en/lima/", HTTP_HOST="localhost"))
    second = middleware(RequestFactory().get("/en/lima/", HTTP_HOST="localhost"))
    assert len(rendered) == 2
    assert first["Content-Security-Policy"] != second["Content-Security-Policy"]
