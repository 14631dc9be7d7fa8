"""Messages of a post reach only its district (issue 12, item 4).

A country may have an embassy and a consulate splitting its regions: a message may name only
regions of its own post's district, and it reaches the people whose trip stops or home are in
them, whichever post opened their account.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from acs.alerts import services
from acs.alerts.cap import cap_alert
from acs.alerts.forms import MessageForm
from acs.alerts.models import Message
from acs.alerts.services.outbox import recipients_count
from acs.enrollment.services.trips import residence_set, trip_add
from acs.posts.models import Post, Region
from acs.posts.services import post_create
from tests.alerts.conftest import DRAFTER, message_fields
from tests.enrollment.factories import today, verified_enrollee
from tests.staff.conftest import permissions_give

pytestmark = pytest.mark.django_db

REFUSAL = "A region you chose is served by another post. Choose regions of this post only."


def _post(slug: str, city: str, district=None) -> Post:
    return post_create(
        slug=slug,
        name=f"U.S. post in {city} (test)",
        city=city,
        country_code="MX",
        time_zone="America/Mexico_City",
        street_address="Test street 1",
        main_phone="+52 55 5080 2000",
        emergency_phone="+52 55 8526 2561",
        district=district,
    )


@pytest.fixture
def mexico(lima) -> Post:
    """The embassy: every Mexican state but Jalisco, which the consulate serves."""
    embassy = _post("mexico-city-test", "Mexico City")
    _post("guadalajara-test", "Guadalajara", district=["MX-JAL"])
    embassy.refresh_from_db()
    return embassy


@pytest.fixture
def guadalajara(mexico) -> Post:
    return Post.objects.get(slug="guadalajara-test")


@pytest.fixture
def drafter(person):
    """A writer at every post (a network role): these tests draft for three posts."""
    user = person("writer")
    permissions_give(user, DRAFTER, None)
    return user


def code(value: str) -> Region:
    return Region.objects.get(code=value)


def draft_of(post: Post, drafter, *codes: str) -> Message:
    # Lima's text (message_fields reads Lima's Cusco), with these regions.
    fields = message_fields(Post.objects.get(slug="lima"), regions=[code(c) for c in codes])
    return services.message_draft_create(post=post, actor=drafter, **fields)


def test_a_region_of_the_consulates_district_is_refused_to_the_embassy(mexico, drafter):
    with pytest.raises(ValidationError) as refused:
        draft_of(mexico, drafter, "MX-CMX", "MX-JAL")
    assert refused.value.code == "foreign_region"
    assert refused.value.messages == [REFUSAL]
    assert not Message.objects.exists()


def test_a_change_to_another_posts_region_leaves_the_draft_as_it_was(mexico, drafter):
    message = draft_of(mexico, drafter, "MX-CMX")
    with pytest.raises(ValidationError, match="served by another post"):
        services.message_draft_update(message=message, actor=drafter, regions=[code("PE-LIM")])
    assert [region.code for region in message.regions.all()] == ["MX-CMX"]


def test_the_message_form_offers_and_takes_only_the_posts_own_regions(mexico, guadalajara):
    form = MessageForm({"regions": [str(code("MX-JAL").pk)]}, post=mexico)
    assert not form.is_valid()
    assert form.errors["regions"] == [REFUSAL]
    offered = {region.code for region in form.fields["regions"].queryset}
    assert "MX-CMX" in offered and "MX-JAL" not in offered and "PE-LIM" not in offered
    form = MessageForm({"regions": [str(code("MX-JAL").pk)]}, post=guadalajara)
    form.is_valid()
    assert "regions" not in form.errors


def test_each_posts_message_reaches_its_own_district_only(lima, mexico, guadalajara, drafter):
    start = today(lima)
    traveller = verified_enrollee(lima)  # Lima → Mexico City → Guadalajara
    trip_add(
        enrollee=traveller,
        arrival=start,
        departure=start + timedelta(days=5),
        stops=[(code("PE-LIM"), ""), (code("MX-CMX"), ""), (code("MX-JAL"), "")],
    )
    in_mexico_only = verified_enrollee(mexico)
    residence_set(enrollee=in_mexico_only, region=code("MX-CMX"))
    assert recipients_count(message=draft_of(lima, drafter, "PE-LIM")) == 1
    assert recipients_count(message=draft_of(mexico, drafter, "MX-CMX")) == 2
    assert recipients_count(message=draft_of(guadalajara, drafter, "MX-JAL")) == 1
    # Lima's whole country never reaches the person who is only in Mexico.
    whole_peru = services.message_draft_create(
        post=lima, actor=drafter, **message_fields(lima, whole_country=True, regions=[])
    )
    assert recipients_count(message=whole_peru) == 1


def test_a_whole_district_is_named_as_such_where_posts_share_a_country(
    lima, mexico, guadalajara, drafter
):
    """ "The whole country" only for a post alone in its country; the embassy in Mexico City
    serves every state but Jalisco, so its readers are told whose district it is, and its
    CAP area lists its states instead of the country code."""
    fields = message_fields(lima, whole_country=True, regions=[])
    peru = services.message_draft_create(post=lima, actor=drafter, **fields)
    assert peru.whole_area_text() == "The whole country"
    embassy = services.message_draft_create(post=mexico, actor=drafter, **fields)
    assert embassy.whole_area_text() == "Everywhere U.S. post in Mexico City (test) serves"
    assert MessageForm(post=mexico).fields["whole_country"].label == embassy.whole_area_text()
    assert MessageForm(post=lima).fields["whole_country"].label == "The whole country"
    Message.objects.filter(pk=embassy.pk).update(published_at=timezone.now())
    embassy.refresh_from_db()
    area = cap_alert(embassy, absolute=lambda path: f"https://example.org{path}").decode()
    assert "<valueName>ISO3166-1</valueName>" not in area
    assert "<value>MX-CMX</value>" in area and "<value>MX-JAL</value>" not in area
