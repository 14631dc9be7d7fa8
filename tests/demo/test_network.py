"""The demo's consular network: four posts in three countries, a country split between an
embassy and a consulate, a zone with daylight saving, each post with its own pages and
services."""

from __future__ import annotations

from datetime import UTC, datetime

import pycountry
import pytest
from django.utils import translation

from acs.appointments.models import Service
from acs.content.models import Page
from acs.demo.network import demo_network_seed
from acs.posts.models import Post, Region

pytestmark = pytest.mark.django_db

MEXICO = {sub.code for sub in pycountry.subdivisions.get(country_code="MX") if not sub.parent_code}


def test_four_posts_three_countries_and_a_zone_that_changes_its_clocks(lima):
    network = demo_network_seed()

    posts = [lima, *network.posts]
    assert len(posts) == 4
    assert {post.country_code for post in posts} == {"PE", "MX", "ES"}
    zones = {post.time_zone for post in posts}
    assert len(zones) >= 2
    winter, summer = datetime(2027, 1, 15, tzinfo=UTC), datetime(2027, 7, 15, tzinfo=UTC)
    assert any(
        winter.astimezone(post.zone).utcoffset() != summer.astimezone(post.zone).utcoffset()
        for post in posts
    ), "no post's zone has daylight saving"


def test_the_embassy_and_the_consulate_split_mexico(lima):
    demo_network_seed()
    embassy = Post.objects.get(slug="mexico-city")
    consulate = Post.objects.get(slug="guadalajara")

    theirs = set(consulate.regions.values_list("code", flat=True))
    assert theirs == {"MX-JAL", "MX-NAY", "MX-COL", "MX-AGU"}
    assert set(embassy.regions.values_list("code", flat=True)) == MEXICO - theirs
    assert Region.objects.filter(code="PE-CUS", post=lima).exists()  # Lima keeps Peru


def test_each_post_has_pages_naming_itself_in_both_languages_and_services(lima):
    demo_network_seed()
    madrid = Post.objects.get(slug="madrid")
    home = Page.objects.get(post=madrid, slug="home")

    assert "U.S. Embassy Madrid" in home.body_en and "in Spain" in home.body_en
    assert "Embajada de los Estados Unidos en Madrid" in home.body_es
    assert "España" in home.body_es
    assert "Peru" not in home.body_en + home.summary_en
    with translation.override("es"):
        assert "España" in home.summary
    assert "{post:" not in home.body_en + home.body_es + home.summary_en + home.summary_es
    assert Page.objects.filter(post=madrid, slug="emergency").exists()

    slugs = set(Service.objects.filter(post=madrid).values_list("slug", flat=True))
    assert "passport-renewal" in slugs
    assert "crba" not in slugs  # Lima's text of it names Peru's birth certificates


def test_seeding_the_network_again_changes_nothing(lima):
    first = demo_network_seed()
    regions = dict(Region.objects.values_list("code", "post_id"))
    again = demo_network_seed()

    assert [post.pk for post in again.posts] == [post.pk for post in first.posts]
    assert (again.pages, again.services) == (0, 0)
    assert dict(Region.objects.values_list("code", "post_id")) == regions


def test_lima_pages_are_unchanged_by_the_template_machinery(lima):
    home = Page.objects.get(post=lima, slug="home")
    assert "U.S. Embassy in Lima" in home.body_en
    assert "{post:" not in home.body_en
