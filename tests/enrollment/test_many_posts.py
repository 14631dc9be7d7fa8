"""One citizen account serves every post (issue 12, item 4).

The account signs in from any post's pages; a trip may cross borders; each post's staff see
the people, trips and homes in their own district, and only those stops; a post's message
reaches its own district and nobody else.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from acs.enrollment import selectors
from acs.enrollment.constants import MessageKind
from acs.enrollment.identity import tokens
from acs.enrollment.models import Trip, TripStop
from acs.enrollment.services.trips import residence_set, trip_add
from acs.posts.models import Post, Region
from tests.conftest import CheckingClient
from tests.enrollment.factories import today, verified_enrollee
from tests.enrollment.selfservice import PASSWORD, signed_in

pytestmark = pytest.mark.django_db


def code(value: str) -> Region:
    return Region.objects.get(code=value)


def lima_to_mexico(person, *, arrival: int = 2, departure: int = 9) -> Trip:
    start = today(person.post)
    return trip_add(
        enrollee=person,
        arrival=start + timedelta(days=arrival),
        departure=start + timedelta(days=departure),
        stops=[(code("PE-LIM"), "Miraflores"), (code("MX-CMX"), "Coyoacán")],
    )


def reach(post: Post, *codes: str):
    start = today(post)
    return list(
        selectors.enrollees_to_reach(
            post=post,
            region_ids=[code(c).pk for c in codes],
            starts=start,
            ends=start + timedelta(days=30),
            kind=MessageKind.EMERGENCY,
        )
    )


# One account, every post's pages ------------------------------------------------------------


def test_one_account_signs_in_from_two_posts_pages(lima, quito):
    person = verified_enrollee(lima)  # opened at Lima
    for prefix in ("/en/lima/enroll/", "/en/quito/enroll/"):
        browser = CheckingClient()
        answer = {"email": person.email.upper(), "password": PASSWORD}
        response = browser.post(prefix + "sign-in/", answer)
        assert response.status_code == 302, response.content.decode()[:300]
        assert response["Location"] == prefix + "account/"
        home = browser.get(prefix + "account/")
        assert home.status_code == 200
        assert person.full_name in home.content.decode()


def test_a_session_begun_at_one_post_holds_at_another(quito, lima):
    browser = signed_in(verified_enrollee(lima))
    assert browser.get("/en/quito/enroll/account/").status_code == 200


def test_the_same_address_cannot_open_a_second_account_at_another_post(lima, quito):
    verified_enrollee(lima, email="ana@example.org")
    with pytest.raises(ValidationError, match="already exists") as refused:
        verified_enrollee(quito, email="Ana@Example.org ")
    assert refused.value.code == "email_taken"


def test_links_sent_under_one_post_work_under_another(lima, quito):
    """A link emailed before accounts served every post names the post that opened the
    account; under that post's address or another's it reaches the same account."""
    person = verified_enrollee(lima)
    token = tokens.sign_in_link(person)
    for prefix in ("/en/quito/enroll/", "/en/lima/enroll/"):
        browser = CheckingClient()
        assert browser.get(f"{prefix}sign-in/link/{token}/").status_code == 200
    response = browser.post(f"/en/lima/enroll/sign-in/link/{token}/")
    assert response.status_code == 302
    assert browser.get("/en/quito/enroll/account/").status_code == 200


# A trip across borders ------------------------------------------------------------------------


def test_a_trip_lima_to_mexico_is_saved_with_both_stops(lima, mexico):
    trip = lima_to_mexico(verified_enrollee(lima))
    assert sorted(trip.stops.values_list("region__code", flat=True)) == ["MX-CMX", "PE-LIM"]


def test_each_posts_staff_see_the_traveller_with_only_their_own_stops(lima, mexico, quito):
    person = verified_enrollee(lima)
    lima_to_mexico(person)
    for post, mine in ((lima, ["PE-LIM"]), (mexico, ["MX-CMX"])):
        record = selectors.enrollee_for_staff(post=post, pk=person.pk)
        assert record is not None, post.slug
        [trip] = record.trips.all()
        assert [stop.region.code for stop in trip.stops.all()] == mine
        listed = list(selectors.enrollees_for_staff(post=post, day=today(post) + timedelta(3)))
        assert listed == [person]
        [shown] = listed[0].trips_shown
        assert [stop.region.code for stop in shown.stops.all()] == mine
    # Quito's district holds none of it: not listed, and their pk is a 404 there.
    assert selectors.enrollee_for_staff(post=quito, pk=person.pk) is None
    assert not selectors.enrollees_for_staff(post=quito, day=today(quito)).exists()


def test_counts_count_a_post_own_district_only(lima, mexico):
    person = verified_enrollee(lima)
    lima_to_mexico(person)
    day = today(lima) + timedelta(days=3)
    for post, there in ((lima, "PE-LIM"), (mexico, "MX-CMX")):
        counts = selectors.enrollee_counts_by_region(post=post, day=day)
        assert counts.people == 1
        assert {row.region.code for row in counts.regions if row.people} == {there}


def test_a_residence_abroad_is_seen_by_the_post_that_serves_it(lima, mexico):
    person = verified_enrollee(lima)  # opened at Lima
    residence_set(enrollee=person, region=code("MX-JAL"))
    assert selectors.enrollee_for_staff(post=lima, pk=person.pk) is None
    record = selectors.enrollee_for_staff(post=mexico, pk=person.pk)
    assert [home.region.code for home in record.residences.all()] == ["MX-JAL"]
    assert list(selectors.enrollees_for_staff(post=mexico, day=today(mexico))) == [person]


def test_the_download_holds_every_trip_whichever_district(lima, mexico):
    person = verified_enrollee(lima)
    lima_to_mexico(person)
    data = selectors.enrollee_export(enrollee=person)
    [trip] = data["trips"]
    assert {(r["code"], r["country"]) for r in trip["regions"]} == {
        ("PE-LIM", "PE"),
        ("MX-CMX", "MX"),
    }


# Messages reach their own district --------------------------------------------------------


def test_each_posts_message_reaches_the_stop_in_its_district(lima, mexico):
    traveller = verified_enrollee(lima)
    lima_to_mexico(traveller)
    only_in_mexico = verified_enrollee(mexico)
    residence_set(enrollee=only_in_mexico, region=code("MX-CMX"))
    assert reach(lima, "PE-LIM") == [traveller]
    assert reach(mexico, "MX-CMX") == [traveller, only_in_mexico]
    # Lima's whole district never reaches someone who is only in Mexico.
    lima_regions = list(lima.regions.values_list("code", flat=True))
    assert only_in_mexico not in reach(lima, *lima_regions)


def test_an_account_opened_in_mexico_is_reached_by_lima_on_a_lima_trip(lima, mexico):
    person = verified_enrollee(mexico)
    start = today(mexico)
    trip_add(
        enrollee=person,
        arrival=start,
        departure=start + timedelta(days=3),
        stops=[(code("PE-CUS"), "")],
    )
    assert reach(lima, "PE-CUS") == [person]
    assert reach(mexico, *mexico.regions.values_list("code", flat=True)) == []


# Bad region input ---------------------------------------------------------------------------


def _trip_form(first: str, second: str = "") -> dict[str, str]:
    start = today(Post.objects.get(slug="lima"))
    data = {
        "arrival": (start + timedelta(days=3)).isoformat(),
        "departure": (start + timedelta(days=6)).isoformat(),
        "stops-TOTAL_FORMS": "4",
        "stops-INITIAL_FORMS": "0",
        "companions-TOTAL_FORMS": "3",
        "companions-INITIAL_FORMS": "0",
    }
    for index, value in enumerate((first, second, "", "")):
        data[f"stops-{index}-region"] = value
        data[f"stops-{index}-place"] = ""
    return data


def _rows():
    return Trip.objects.count(), TripStop.objects.count()


@pytest.mark.parametrize(
    "bad",
    [
        "999999",  # no such region
        "PE-LIM",  # a code where the form sends an id
        "MX-CMX-XX",  # a made-up second-level subdivision
        "-1",
    ],
)
def test_a_region_the_form_does_not_offer_is_refused_plainly_and_saves_nothing(lima, mexico, bad):
    browser = signed_in(verified_enrollee(lima))
    before = _rows()
    response = browser.post("/en/lima/enroll/account/trips/new/", _trip_form(bad))
    assert response.status_code == 400
    assert "We do not know that region. Choose one from the list, under its country." in (
        response.content.decode()
    )
    assert _rows() == before


def test_a_trip_across_borders_through_the_form_without_javascript(lima, mexico):
    person = verified_enrollee(lima)
    browser = signed_in(person)
    page = browser.get("/en/lima/enroll/account/trips/new/").content.decode()
    # A plain select, a group per country, the page's post's country first.
    assert page.index('<optgroup label="Peru">') < page.index('<optgroup label="Mexico">')
    assert f'<option value="{code("MX-CMX").pk}">{code("MX-CMX").name} (Mexico)</option>' in page
    data = _trip_form(str(code("PE-LIM").pk), str(code("MX-CMX").pk))
    response = browser.post("/en/mexico-city-test/enroll/account/trips/new/", data)
    assert response.status_code == 302
    [trip] = person.trips.all()
    assert sorted(trip.stops.values_list("region__code", flat=True)) == ["MX-CMX", "PE-LIM"]


def test_a_home_may_be_in_any_country_a_post_serves(lima, mexico):
    person = verified_enrollee(lima)
    browser = signed_in(person)
    url = "/en/lima/enroll/account/residence/"
    response = browser.post(url, {"region": "424242", "place": ""})
    assert response.status_code == 400
    assert "We do not know that region." in response.content.decode()
    assert not person.residences.exists()
    response = browser.post(url, {"region": str(code("MX-JAL").pk), "place": "Guadalajara"})
    assert response.status_code == 302
    assert person.residences.get(active=True).region.code == "MX-JAL"
