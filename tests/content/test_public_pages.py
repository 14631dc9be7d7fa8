"""Every public page, in both languages, with what a citizen needs to find on it."""

import json
from pathlib import Path

import pytest

from acs.content.models import Page

pytestmark = pytest.mark.django_db

SLUGS = [p["slug"] for p in json.loads(Path("acs/content/seed/pages.json").read_text())]


def page_path(language, slug):
    return f"/{language}/lima/" if slug == "home" else f"/{language}/lima/{slug}/"


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("slug", SLUGS)
def test_every_page_renders_in_both_languages(client, lima, language, slug):
    response = client.get(page_path(language, slug))
    html = response.content.decode()
    page = Page.objects.get(post=lima, slug=slug)
    assert response.status_code == 200
    assert f'<html lang="{language}">' in html
    assert (page.title_es if language == "es" else page.title_en) in html
    # The hotline is on every page, as a tap-to-call link.
    assert 'href="tel:+5116182000"' in html


def test_home_states_the_appointment_rules(client, lima):
    html = client.get("/en/lima/").content.decode()
    assert "appointment only" in html
    assert "15 minutes" in html
    assert "not an emergency" in html
    assert 'href="/en/lima/federal-benefits/"' in html  # {page:…} links resolved


def test_home_in_spanish_states_the_lateness_rule(client, lima):
    html = client.get("/es/lima/").content.decode()
    assert "15 minutos" in html
    assert 'href="/es/lima/federal-benefits/"' in html


def test_access_policy_lists_what_not_to_bring(client, lima):
    html = client.get("/en/lima/access-policy/").content.decode().lower()
    for words in ("electronic", "sealed", "storage", "babies and small children"):
        assert words in html


def test_emergency_page_gives_the_hotline_in_local_and_international_form(client, lima):
    html = client.get("/en/lima/emergency/").content.decode()
    assert "(01) 6182000" in html
    assert "+51 1 6182000" in html
    assert "011 51 1 6182000" in html
    html_es = client.get("/es/lima/emergency/").content.decode()
    assert "Perú" in html_es


def test_language_switcher_keeps_the_reader_on_the_same_page(client, lima):
    html = client.get("/en/lima/arrest-scam/").content.decode()
    assert 'href="/es/lima/arrest-scam/" hreflang="es"' in html
    html = client.get("/es/lima/arrest-scam/").content.decode()
    assert 'href="/en/lima/arrest-scam/" hreflang="en"' in html


def test_root_sends_the_reader_to_a_language(client, lima):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/en/"
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="es-PE,es;q=0.9")
    assert response["Location"] == "/es/"


@pytest.mark.parametrize("prefix", ["fr", "de", "pt-br", "zz"])
def test_unknown_language_prefix_gives_the_english_page(client, lima, prefix):
    response = client.get(f"/{prefix}/emergency/", follow=True)
    assert response.redirect_chain[-1][0] == "/en/lima/emergency/"
    assert response.status_code == 200


def test_unknown_page_is_a_styled_404_in_the_readers_language(client, lima):
    response = client.get("/es/lima/no-existe/")
    html = response.content.decode()
    assert response.status_code == 404
    assert 'class="usa-banner"' in html
    assert '<html lang="es">' in html
    assert "No podemos encontrar esa página" in html


def test_staff_edits_show_up_and_unsafe_html_is_removed(client, lima):
    Page.objects.filter(post=lima, slug="travel-app").update(
        body_en='<p>New text</p><script>alert(1)</script><p onclick="x()">Click</p>'
        '<a href="javascript:alert(1)">bad</a><a href="//evil.example/x">evil</a>'
    )
    html = client.get("/en/lima/travel-app/").content.decode()
    assert "<p>New text</p>" in html
    assert "alert(1)" not in html
    assert "onclick" not in html
    assert "evil.example" not in html


def test_pages_without_spanish_text_fall_back_to_english(client, lima):
    Page.objects.filter(post=lima, slug="step").update(title_es="", body_es="")
    html = client.get("/es/lima/step/").content.decode()
    page = Page.objects.get(post=lima, slug="step")
    assert page.title_en in html


def test_site_without_any_post_still_answers(client, no_post):
    assert client.get("/en/lima/").status_code == 404
