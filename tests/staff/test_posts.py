"""Opening a post is a staff task with its audit entry: the form, what it makes, what it
refuses (and then changes nothing), and who may do it."""

from __future__ import annotations

import pytest

from acs.content.models import Page
from acs.core.models import AuditEntry
from acs.posts.models import Post, Region
from acs.staff.roles import NETWORK_ADMINISTRATOR, POST_ADMINISTRATOR
from acs.staff.services import roles_sync

POSTS = "/staff/posts/"
NEW = "/staff/posts/new/"
QUITO = {
    "slug": "quito",
    "name": "U.S. Embassy Quito",
    "name_es": "Embajada de los Estados Unidos en Quito",
    "city": "Quito",
    "country_code": "EC",
    "time_zone": "America/Guayaquil",
    "street_address": "Avenida Test\nQuito",
    "main_phone": "+593 2 398 5000",
    "emergency_phone": "+593 2 398 5000",
    "public_email": "",
    "opening_hours": "Monday to Friday",
    "opening_hours_es": "De lunes a viernes",
    "district": "",
}


@pytest.fixture
def opener(lima, staff_member, verified_client):
    return verified_client(
        staff_member("opener", permissions=["posts.add_post", "posts.view_post"])
    )


def test_opening_a_post_makes_it_with_its_district_pages_and_audit_entry(opener):
    response = opener.post(NEW, QUITO)

    assert response.status_code == 302 and response["Location"] == POSTS
    quito = Post.objects.get(slug="quito")
    assert quito.zone.key == "America/Guayaquil"
    assert quito.regions.filter(code="EC-P").exists()  # Pichincha, around Quito
    home = Page.objects.get(post=quito, slug="home")
    assert "U.S. Embassy Quito" in home.body_en and "Ecuador" in home.body_en
    entry = AuditEntry.objects.get(action="acs.post.opened")
    assert entry.actor_name == "opener" and entry.post == quito
    assert "EC-P" in entry.changes["district"][1]
    listing = opener.get(POSTS).content.decode()
    assert "U.S. Embassy Quito" in listing and "U.S. Embassy Lima" in listing


def test_a_listed_district_takes_its_regions_from_the_post_that_served_them(opener, lima):
    response = opener.post(
        NEW,
        QUITO
        | {
            "slug": "cusco",
            "name": "Test consular agency Cusco",
            "city": "Cusco",
            "country_code": "PE",
            "time_zone": "America/Lima",
            "main_phone": "+51 84 231 474",
            "emergency_phone": "+51 1 618 2000",
            "district": "pe-cus, PE-APU",
        },
    )

    assert response.status_code == 302
    cusco = Post.objects.get(slug="cusco")
    assert set(cusco.regions.values_list("code", flat=True)) == {"PE-CUS", "PE-APU"}
    assert lima.regions.count() == 24
    entry = AuditEntry.objects.get(action="acs.post.opened")
    assert entry.changes["taken_from"][1] == {"PE-CUS": "lima", "PE-APU": "lima"}


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("emergency_phone", "call us", "phone"),
        ("district", "PE-CUS, XX-99", "XX-99"),
        ("slug", "lima", "already has this short name"),
        ("slug", "appointments", "section of the site"),
        ("time_zone", "", "required"),
    ],
)
def test_a_refused_detail_says_why_and_changes_nothing(opener, lima, field, value, words):
    regions_before = dict(Region.objects.values_list("code", "post_id"))

    response = opener.post(NEW, QUITO | {field: value})

    assert response.status_code == 400
    assert words in response.content.decode()
    assert not Post.objects.filter(slug="quito").exists()
    assert dict(Region.objects.values_list("code", "post_id")) == regions_before
    assert not AuditEntry.objects.filter(action="acs.post.opened").exists()


def test_only_staff_who_may_open_posts_see_the_form(lima, staff_member, verified_client):
    roles_sync()
    administrator = verified_client(staff_member("admin", groups=[POST_ADMINISTRATOR]))

    assert administrator.get(POSTS).status_code == 200
    assert "Open a new post" not in administrator.get(POSTS).content.decode()
    assert administrator.get(NEW).status_code == 403
    assert administrator.post(NEW, QUITO).status_code == 403
    assert not Post.objects.filter(slug="quito").exists()


def test_a_network_administrator_opens_a_post(lima, staff_member, verified_client):
    roles_sync()
    network = verified_client(staff_member("network", groups=[NETWORK_ADMINISTRATOR]))

    assert network.post(NEW, QUITO).status_code == 302
    assert Post.objects.filter(slug="quito").exists()
