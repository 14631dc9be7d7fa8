"""Consular districts: an embassy and a consulate in one country split its regions, and each
region belongs to exactly one post whatever order they are seeded in."""

from __future__ import annotations

import pycountry
import pytest
from django.core.exceptions import ValidationError

from acs.posts.models import Region
from acs.posts.services import district_set, post_create

pytestmark = pytest.mark.django_db

EMBASSY = {
    "slug": "mexico-city-test",
    "name": "Test embassy",
    "city": "Mexico City",
    "country_code": "MX",
    "time_zone": "America/Mexico_City",
    "street_address": "1 Test Street",
    "main_phone": "+52 55 5080 2000",
    "emergency_phone": "+52 55 5080 2000",
}
CONSULATE = EMBASSY | {
    "slug": "guadalajara-test",
    "name": "Test consulate",
    "city": "Guadalajara",
    "main_phone": "+52 33 3268 2100",
    "emergency_phone": "+52 33 3268 2100",
    "district": ["MX-JAL", "MX-NAY", "MX-COL", "MX-AGU"],
}
MEXICO = {sub.code for sub in pycountry.subdivisions.get(country_code="MX") if not sub.parent_code}


def codes(post) -> set[str]:
    return set(post.regions.values_list("code", flat=True))


@pytest.mark.parametrize("order", [("embassy", "consulate"), ("consulate", "embassy")])
def test_an_embassy_and_a_consulate_split_the_country_in_either_order(order):
    specs = {"embassy": EMBASSY, "consulate": CONSULATE}
    made = {name: post_create(**specs[name]) for name in order}
    embassy, consulate = made["embassy"], made["consulate"]

    assert codes(consulate) == set(CONSULATE["district"])
    assert codes(embassy) == MEXICO - set(CONSULATE["district"])
    assert Region.objects.filter(code__startswith="MX-").count() == len(MEXICO)  # none twice

    for name in order:  # seeding again changes nothing
        post_create(**specs[name])
    assert codes(consulate) == set(CONSULATE["district"])
    assert codes(embassy) == MEXICO - set(CONSULATE["district"])


def test_moving_a_region_keeps_what_points_at_it(lima):
    """A region moved to another district is the same row: trips and residences that point at
    it follow it to the post that now serves it."""
    cusco = Region.objects.get(code="PE-CUS")
    other = post_create(**(EMBASSY | {"slug": "cusco-test", "country_code": "PE", "district": []}))
    district_set(post=other, codes=["pe-cus"])

    cusco.refresh_from_db()
    assert cusco.post == other
    assert "PE-CUS" not in codes(lima)
    assert len(codes(lima)) == 25


@pytest.mark.parametrize("bad", ["PE-XXX", "ZZ-01", "Cusco", "ES-M"])
def test_an_unknown_or_second_level_code_refuses_the_whole_change(lima, bad):
    with pytest.raises(ValidationError) as refused:
        district_set(post=lima, codes=["MX-JAL", bad])
    assert bad.upper() in str(refused.value)
    assert not Region.objects.filter(code="MX-JAL").exists()
    assert len(codes(lima)) == 26


@pytest.mark.parametrize("slug", ["appointments", "enroll", "messages", "m"])
def test_a_short_name_that_would_hide_a_section_is_refused(slug):
    with pytest.raises(ValidationError) as refused:
        post_create(**(EMBASSY | {"slug": slug}))
    assert "section of the site" in str(refused.value)
    assert not Region.objects.filter(code__startswith="MX-").exists()
