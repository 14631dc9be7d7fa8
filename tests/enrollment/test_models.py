from datetime import date, timedelta

import pytest
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from acs.enrollment.constants import Channel, MessageKind
from acs.enrollment.models import Companion, Enrollee, MessagePreference, Residence, Trip, TripStop
from acs.enrollment.services.trips import residence_set, trip_add
from tests.enrollment.factories import enrollee, region, today, trip


def test_the_password_is_stored_hashed(lima):
    person = enrollee(lima, password="s3cret passphrase")
    assert person.password != "s3cret passphrase"  # noqa: S105 — a test password
    assert check_password("s3cret passphrase", person.password)


def test_an_email_is_one_account_for_every_post(lima, new_york):
    """One account serves every post: the address that has one at Lima cannot open another
    at New York (nor at Lima again), whatever its case and spaces."""
    enrollee(lima, email="Ana@Example.org")
    for post in (lima, new_york):
        with pytest.raises(ValidationError, match="already exists"):
            enrollee(post, email="ana@example.org ")
    assert Enrollee.objects.filter(email="ana@example.org").count() == 1


def test_a_trip_with_stops_and_companions(lima):
    person = enrollee(lima)
    start = today(lima)
    added = trip_add(
        enrollee=person,
        arrival=start,
        departure=start + timedelta(days=6),
        stops=[(region(lima, "PE-CUS"), "Machu Picchu"), (region(lima, "PE-PUN"), "")],
        purpose="Tourism",
        companions=[("Luis Quispe", date(2015, 3, 2))],
    )
    assert [stop.region.code for stop in added.stops.all()] == ["PE-CUS", "PE-PUN"]
    assert added.companions.get().full_name == "Luis Quispe"


def _nothing_saved():
    return not (Trip.objects.exists() or TripStop.objects.exists() or Companion.objects.exists())


def test_a_region_twice_is_refused_and_nothing_saved(lima):
    person = enrollee(lima)
    start = today(lima)
    with pytest.raises(ValidationError, match="each region only once") as refused:
        trip_add(
            enrollee=person,
            arrival=start,
            departure=start + timedelta(days=3),
            stops=[(region(lima, "PE-CUS"), ""), (region(lima, "PE-CUS"), "Cusco")],
            companions=[("Luis Quispe", date(2015, 3, 2))],
        )
    assert refused.value.code == "duplicate_region"
    assert _nothing_saved()


def test_a_trip_and_a_home_may_be_in_another_posts_country(lima, new_york):
    """One account serves every post: the stops and the home go to the posts that serve
    them (tests/enrollment/test_many_posts.py)."""
    person = enrollee(lima)
    start = today(lima)
    abroad = new_york.regions.first()
    added = trip_add(
        enrollee=person,
        arrival=start,
        departure=start + timedelta(days=3),
        stops=[(region(lima, "PE-CUS"), ""), (abroad, "")],
    )
    assert added.stops.count() == 2
    assert residence_set(enrollee=person, region=abroad).region == abroad
    assert not Residence.objects.filter(enrollee=person).exclude(region=abroad).exists()


def test_a_trip_needs_a_region(lima):
    start = today(lima)
    with pytest.raises(ValidationError, match="at least one region"):
        trip_add(enrollee=enrollee(lima), arrival=start, departure=start, stops=[])
    assert _nothing_saved()


def test_departure_before_arrival_is_refused(lima):
    start = today(lima)
    with pytest.raises(ValidationError, match="cannot be before the arrival") as refused:
        trip_add(
            enrollee=enrollee(lima),
            arrival=start + timedelta(days=5),
            departure=start + timedelta(days=4),
            stops=[(region(lima, "PE-CUS"), "")],
        )
    assert refused.value.code == "departure_first"
    assert _nothing_saved()


def test_a_trip_wholly_in_the_past_is_refused_but_one_ending_today_is_not(lima):
    person = enrollee(lima)
    with pytest.raises(ValidationError, match="already over") as refused:
        trip(person, "PE-CUS", arrival=-10, departure=-1)
    assert refused.value.code == "past_trip"
    assert _nothing_saved()
    assert trip(person, "PE-CUS", arrival=-10, departure=0).departure == today(lima)


def test_the_database_refuses_a_departure_before_the_arrival(lima):
    start, person = today(lima), enrollee(lima)
    with pytest.raises(IntegrityError), transaction.atomic():
        Trip.objects.create(enrollee=person, arrival=start, departure=start - timedelta(days=1))


def test_one_active_residence_per_enrollee(lima):
    person = enrollee(lima)
    residence_set(enrollee=person, region=region(lima, "PE-CUS"))
    residence_set(enrollee=person, region=region(lima, "PE-ARE"), place="Arequipa")
    assert person.residences.get(active=True).region.code == "PE-ARE"
    assert person.residences.count() == 2


def test_one_preference_per_kind_and_channel(lima):
    person = enrollee(lima)
    MessagePreference.objects.create(enrollee=person, kind=MessageKind.HEALTH)
    MessagePreference.objects.create(enrollee=person, kind=MessageKind.HEALTH, channel=Channel.SMS)
    with pytest.raises(IntegrityError), transaction.atomic():
        MessagePreference.objects.create(enrollee=person, kind=MessageKind.HEALTH)
