"""Public URLs name the post (issue 12, step 1; acs/posts/routing.py): the list of posts and
its search, each post's own pages, an unknown post, today's URLs, and a post's host names."""

from __future__ import annotations

import uuid

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from acs.posts.models import Post
from acs.posts.routing import post_override

LIMA_HOTLINE = 'href="tel:+5116182000"'
QUITO_HOTLINE = 'href="tel:+59323985000"'


# The list of posts ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "peru", "ecuador"), [("en", "Peru", "Ecuador"), ("es", "Perú", "Ecuador")]
)
def test_the_list_of_posts_groups_them_by_country(client, quito, language, peru, ecuador):
    response = client.get(f"/{language}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert f'<html lang="{language}">' in html
    assert f"<h2>{ecuador}</h2>" in html and f"<h2>{peru}</h2>" in html
    assert html.index(f"<h2>{ecuador}</h2>") < html.index(f"<h2>{peru}</h2>")
    assert f'href="/{language}/lima/"' in html and f'href="/{language}/quito/"' in html
    assert LIMA_HOTLINE not in html  # the list speaks for no post
    assert 'role="search"' in html and 'name="q"' in html


@pytest.mark.parametrize(
    ("language", "query", "found", "missing"),
    [
        ("en", "quito", "quito", "lima"),  # a city
        ("en", "PERU", "lima", "quito"),  # a country, in any case
        ("es", "Perú", "lima", "quito"),  # the country's Spanish name
        ("es", "embajada quito", "quito", "lima"),  # words of the Spanish name
    ],
)
def test_the_search_finds_posts_by_city_country_or_name(
    client, quito, language, query, found, missing
):
    html = client.get(f"/{language}/", {"q": query}).content.decode()
    assert f'href="/{language}/{found}/"' in html
    assert f'href="/{language}/{missing}/"' not in html


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_search_that_finds_nothing_says_so(client, quito, language):
    response = client.get(f"/{language}/", {"q": "Atlantis"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h2>" not in html and 'value="Atlantis"' in html
    if language == "en":
        assert "No post matches your search" in html


def test_a_one_post_install_lists_its_one_post(client, lima):
    html = client.get("/en/").content.decode()
    assert 'href="/en/lima/"' in html


# Each post's pages are its own --------------------------------------------------------------


def test_a_second_posts_pages_show_its_own_hotline_and_not_limas(client, quito):
    for language in ("en", "es"):
        html = client.get(f"/{language}/quito/emergency/").content.decode()
        assert QUITO_HOTLINE in html and LIMA_HOTLINE not in html
        assert "Ecuador" in html
    html = client.get("/en/lima/emergency/").content.decode()
    assert LIMA_HOTLINE in html and QUITO_HOTLINE not in html


def test_a_second_posts_links_and_services_stay_under_that_post(client, quito):
    html = client.get("/en/quito/").content.decode()
    assert 'href="/en/quito/emergency/"' in html  # the navigation
    assert 'href="/es/quito/"' in html  # the other language
    assert 'href="/en/lima/' not in html
    html = client.get("/en/quito/appointments/").content.decode()
    assert 'href="/en/quito/appointments/quito-notarial/"' in html
    assert "passport" not in html.lower()  # Lima's services are Lima's
    lima_page = client.get("/en/lima/appointments/").content.decode()
    assert "quito-notarial" not in lima_page
    assert client.get("/en/lima/appointments/quito-notarial/").status_code == 404


def test_a_second_posts_messages_page_is_its_own(client, quito):
    response = client.get("/es/quito/messages/")
    assert response.status_code == 200
    assert 'href="/es/quito/messages/feed.atom"' in response.content.decode()


# An unknown post ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "heading"),
    [("en", "We can’t find that page"), ("es", "No podemos encontrar esa página")],
)
def test_an_unknown_post_is_a_404_in_the_language_of_the_url(client, lima, language, heading):
    for path in (f"/{language}/paris/", f"/{language}/paris/appointments/"):
        response = client.get(path)
        assert response.status_code == 404, path
        html = response.content.decode()
        assert f'<html lang="{language}">' in html
        assert heading in html
        assert LIMA_HOTLINE not in html


# Today's URLs, and every link already sent ---------------------------------------------------

TOKEN = uuid.UUID("0f0e0d0c-0b0a-4909-8807-060504030201")


@pytest.mark.parametrize(
    "path",
    [
        "/en/appointments/",
        "/en/emergency/",
        "/es/messages/",
        "/en/messages/feed.atom",
        "/en/overseas-taxpayers/",
        # The links in what was sent: manage a booking, unsubscribe, answer a welfare check,
        # verify an address, sign in by link, reset a password, keep a residence.
        "/en/appointments/manage/ABCD-token/",
        f"/es/m/unsubscribe/{TOKEN}/",
        f"/en/m/welfare/{TOKEN}/safe/",
        f"/es/m/welfare/{TOKEN}/help/",
        "/en/enroll/verify/some-token/",
        "/es/enroll/sign-in/link/some-token/",
        "/en/enroll/password/reset/some-token/",
        "/en/enroll/account/residence/keep/some-token/",
        "/en/appointments/passport-renewal/?priority=some-token",
    ],
)
def test_todays_urls_redirect_to_the_default_post(client, lima, path):
    response = client.get(path)
    assert response.status_code == 301
    language, rest = path[1:3], path[3:]
    assert response["Location"] == f"/{language}/lima{rest}"


def test_a_form_posted_to_an_old_url_is_posted_again(client, lima):
    response = client.post(f"/en/m/unsubscribe/{TOKEN}/", {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 308
    assert response["Location"] == f"/en/lima/m/unsubscribe/{TOKEN}/"


def test_without_a_post_todays_urls_are_not_found(client, no_post):
    assert client.get("/en/appointments/").status_code == 404


# A post's own host names ----------------------------------------------------------------------


@pytest.fixture
def quito_host(quito, settings) -> str:
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "ec.usembassy.example"]
    quito.host_names = "ec.usembassy.example,\nwww.ec.usembassy.example"
    quito.save(update_fields=["host_names"])
    return "ec.usembassy.example"


def test_a_posts_host_serves_its_short_urls(client, quito_host):
    response = client.get("/en/emergency/", HTTP_HOST=quito_host)
    html = response.content.decode()
    assert response.status_code == 200
    assert QUITO_HOTLINE in html and LIMA_HOTLINE not in html
    assert 'href="/en/appointments/"' in html or 'href="/en/emergency/"' in html
    assert "/quito/" not in html  # short links on the post's own address
    html = client.get("/es/appointments/", HTTP_HOST=quito_host).content.decode()
    assert 'href="/es/appointments/quito-notarial/"' in html
    assert client.get("/", HTTP_HOST=quito_host)["Location"] == "/en/"
    assert QUITO_HOTLINE in client.get("/en/", HTTP_HOST=quito_host).content.decode()


def test_another_host_still_needs_the_post_in_the_url(client, quito_host):
    assert client.get("/en/emergency/")["Location"] == "/en/lima/emergency/"
    assert QUITO_HOTLINE in client.get("/en/quito/emergency/").content.decode()


def test_host_names_are_validated():
    post = Post(host_names="good.example.org, not a host!")
    with pytest.raises(ValidationError) as refused:
        post.clean_fields(exclude=[f.name for f in Post._meta.fields if f.name != "host_names"])
    assert "not" in str(refused.value)


# Links made away from a request -----------------------------------------------------------


def test_post_override_names_the_post_in_links(lima, quito):
    assert reverse("appointments:start") == "/en/lima/appointments/"
    with post_override(quito):
        assert reverse("appointments:start") == "/en/quito/appointments/"
        assert reverse("alerts:unsubscribe", args=[TOKEN]) == f"/en/quito/m/unsubscribe/{TOKEN}/"
    assert reverse("appointments:start") == "/en/lima/appointments/"


def test_a_host_name_serves_one_post(quito_host, lima):
    lima.host_names = "www.ec.usembassy.example"
    with pytest.raises(ValidationError) as refused:
        lima.full_clean()
    assert "already serves another post" in str(refused.value)
