"""The trip services' own rules: one trip per day, changes that replace what a trip says,
ending early, and what each refusal leaves untouched."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError

from acs.enrollment.models import Companion, Enrollee, Trip, TripStop
from acs.enrollment.services.trips import (
    residence_end,
    residence_set,
    trip_add,
    trip_delete,
    trip_end_early,
    trip_update,
)
from tests.enrollment.factories import enrollee, region, today, trip


def _rows() -> tuple[int, int, int]:
    return Trip.objects.count(), TripStop.objects.count(), Companion.objects.count()


def _days(post, offset: int) -> date:
    return today(post) + timedelta(days=offset)


@pytest.mark.parametrize(
    ("arrival", "departure", "refused"),
    [
        (0, 4, True),  # ends on the day the other begins
        (10, 12, True),  # begins on the day the other ends
        (6, 8, True),  # inside it
        (0, 20, True),  # around it
        (0, 3, False),  # the day before
        (11, 15, False),  # the day after
    ],
)
def test_a_trip_that_shares_a_day_with_another_is_refused(lima, arrival, departure, refused):
    person = enrollee(lima)
    trip(person, "PE-CUS", arrival=4, departure=10)
    before = _rows()
    if not refused:
        trip(person, "PE-PUN", arrival=arrival, departure=departure)
        return
    with pytest.raises(ValidationError, match="You already have a trip from") as refusal:
        trip_add(
            enrollee=person,
            arrival=_days(lima, arrival),
            departure=_days(lima, departure),
            stops=[(region(lima, "PE-PUN"), "")],
            companions=[("Luis Quispe", date(2015, 3, 2))],
        )
    assert refusal.value.code == "overlap"
    assert _rows() == before


def test_another_persons_trips_and_ended_trips_do_not_count(lima):
    person, someone = enrollee(lima), enrollee(lima)
    trip(someone, "PE-CUS", arrival=0, departure=10)
    ended = trip(person, "PE-CUS", arrival=0, departure=10)
    trip_end_early(trip=ended)
    assert trip(person, "PE-PUN", arrival=2, departure=5).enrollee == person


def test_a_change_is_checked_like_a_new_trip_but_not_against_itself(lima):
    person = enrollee(lima)
    first = trip(person, "PE-CUS", arrival=1, departure=5)
    second = trip(person, "PE-PUN", arrival=10, departure=12)
    stops = [(region(lima, "PE-PUN"), "Puno")]
    with pytest.raises(ValidationError) as refusal:
        trip_update(trip=second, arrival=_days(lima, 5), departure=_days(lima, 12), stops=stops)
    assert refusal.value.code == "overlap"
    second.refresh_from_db()
    assert second.arrival == _days(lima, 10)
    assert list(second.stops.values_list("place", flat=True)) == [""]
    changed = trip_update(trip=first, arrival=_days(lima, 2), departure=_days(lima, 6), stops=stops)
    assert (changed.arrival, changed.departure) == (_days(lima, 2), _days(lima, 6))
    assert list(changed.stops.values_list("region__code", "place")) == [("PE-PUN", "Puno")]


@pytest.mark.parametrize(
    ("arrival", "departure", "code"),
    [(5, 4, "departure_first"), (-5, -1, "past_trip")],
)
def test_a_change_to_impossible_dates_is_refused(lima, arrival, departure, code):
    saved = trip(enrollee(lima), "PE-CUS", arrival=1, departure=5)
    with pytest.raises(ValidationError) as refusal:
        trip_update(
            trip=saved,
            arrival=_days(lima, arrival),
            departure=_days(lima, departure),
            stops=[(region(lima, "PE-CUS"), "")],
        )
    assert refusal.value.code == code
    saved.refresh_from_db()
    assert (saved.arrival, saved.departure) == (_days(lima, 1), _days(lima, 5))


def test_a_change_with_no_region_is_refused(lima):
    saved = trip(enrollee(lima), "PE-CUS", arrival=1, departure=5)
    with pytest.raises(ValidationError) as refusal:
        trip_update(trip=saved, arrival=_days(lima, 1), departure=_days(lima, 5), stops=[])
    assert refusal.value.code == "no_region"
    assert list(saved.stops.values_list("region__code", flat=True)) == ["PE-CUS"]


def test_a_change_may_cross_a_border(lima, new_york):
    saved = trip(enrollee(lima), "PE-CUS", arrival=1, departure=5)
    abroad = new_york.regions.first()
    trip_update(
        trip=saved,
        arrival=_days(lima, 1),
        departure=_days(lima, 5),
        stops=[(region(lima, "PE-CUS"), ""), (abroad, "")],
    )
    assert set(saved.stops.values_list("region__code", flat=True)) == {"PE-CUS", abroad.code}


def test_one_region_twice_is_refused(lima):
    with pytest.raises(ValidationError) as refusal:
        trip_add(
            enrollee=enrollee(lima),
            arrival=_days(lima, 1),
            departure=_days(lima, 2),
            stops=[(region(lima, "PE-CUS"), "Cusco"), (region(lima, "PE-CUS"), "Pisac")],
        )
    assert refusal.value.code == "duplicate_region"
    assert _rows() == (0, 0, 0)


def test_companions_are_replaced_by_the_list_given(lima):
    saved = trip_add(
        enrollee=enrollee(lima),
        arrival=_days(lima, 1),
        departure=_days(lima, 3),
        stops=[(region(lima, "PE-CUS"), "")],
        companions=[("Luis", date(2015, 1, 1)), ("Rosa", date(2013, 1, 1))],
    )
    luis, _rosa = saved.companions.order_by("id")
    trip_update(
        trip=saved,
        arrival=saved.arrival,
        departure=saved.departure,
        stops=[(region(lima, "PE-CUS"), "")],
        companions=[(luis.public_id, "Luis Q.", date(2015, 1, 2)), (None, "Eva", date(2019, 1, 1))],
    )
    people = list(saved.companions.order_by("id").values_list("public_id", "full_name"))
    assert people[0] == (luis.public_id, "Luis Q.")
    assert [name for _id, name in people] == ["Luis Q.", "Eva"]


def test_a_companion_born_in_the_future_is_refused(lima):
    with pytest.raises(ValidationError) as refusal:
        trip_add(
            enrollee=enrollee(lima),
            arrival=_days(lima, 1),
            departure=_days(lima, 3),
            stops=[(region(lima, "PE-CUS"), "")],
            companions=[("Baby", _days(lima, 30))],
        )
    assert refusal.value.code == "companion_born"
    assert _rows() == (0, 0, 0)


def test_ending_early(lima):
    person = enrollee(lima)
    current = trip(person, "PE-CUS", arrival=-1, departure=3)
    first = trip_end_early(trip=current).ended_early_at
    assert first is not None
    assert trip_end_early(trip=current).ended_early_at == first  # a repeat is harmless
    with pytest.raises(ValidationError) as refusal:
        trip_update(
            trip=current,
            arrival=current.arrival,
            departure=current.departure,
            stops=[(region(lima, "PE-CUS"), "")],
        )
    assert refusal.value.code == "ended"
    later = trip(person, "PE-PUN", arrival=5, departure=6)
    with pytest.raises(ValidationError) as refusal:
        trip_end_early(trip=later)
    assert refusal.value.code == "not_started"
    assert Trip.objects.get(pk=later.pk).ended_early_at is None


def test_every_change_marks_the_account_active(lima):
    person = enrollee(lima)
    Enrollee.objects.filter(pk=person.pk).update(last_active_at=None)
    saved = trip(person, "PE-CUS", arrival=1, departure=2)
    assert Enrollee.objects.get(pk=person.pk).last_active_at is not None
    Enrollee.objects.filter(pk=person.pk).update(last_active_at=None)
    trip_delete(trip=saved)
    assert Enrollee.objects.get(pk=person.pk).last_active_at is not None
    assert not Trip.objects.exists()


def test_ending_the_residence(lima):
    person = enrollee(lima)
    residence_end(enrollee=person)  # none: harmless
    residence_set(enrollee=person, region=region(lima, "PE-CUS"))
    residence_end(enrollee=person)
    assert not person.residences.filter(active=True).exists()
