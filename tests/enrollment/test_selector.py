from datetime import datetime, time, timedelta

import pytest

from acs.enrollment.constants import Channel, MessageKind
from acs.enrollment.models import Enrollee, MessagePreference, Trip
from acs.enrollment.selectors import enrollees_to_reach
from acs.enrollment.services.accounts import email_verify
from acs.enrollment.services.trips import residence_set
from tests.enrollment.factories import enrollee, region, today, trip, verified_enrollee

# The alert covers days 10 to 20 from today, in Cusco and Puno.
STARTS, ENDS = 10, 20


def reach(post, *, kind=MessageKind.EMERGENCY, codes=("PE-CUS", "PE-PUN")):
    start = today(post)
    return enrollees_to_reach(
        post=post,
        region_ids=[region(post, code).pk for code in codes],
        starts=start + timedelta(days=STARTS),
        ends=start + timedelta(days=ENDS),
        kind=kind,
    )


@pytest.mark.parametrize(
    ("arrival", "departure", "reached"),
    [
        (1, STARTS - 1, False),  # left the day before the range starts
        (1, STARTS, True),  # leaves on its first day
        (ENDS, ENDS + 5, True),  # arrives on its last day
        (ENDS + 1, ENDS + 5, False),  # arrives the day after
        (STARTS + 2, STARTS + 3, True),  # wholly inside
        (0, ENDS + 30, True),  # covers the whole range
    ],
)
def test_a_trip_counts_when_it_overlaps_the_range_boundary_days_included(
    lima, arrival, departure, reached
):
    person = verified_enrollee(lima)
    trip(person, "PE-CUS", arrival=arrival, departure=departure)
    assert (person in reach(lima)) is reached


def test_a_trip_elsewhere_does_not_count(lima):
    trip(verified_enrollee(lima), "PE-ARE", arrival=STARTS, departure=ENDS)
    assert not reach(lima).exists()


def test_one_row_per_person_however_many_trips_and_stops_match(lima, django_assert_num_queries):
    person = verified_enrollee(lima)
    # Two trips in the range (one trip per day: they may not share one), one of them with
    # both regions, and a home there too.
    trip(person, "PE-CUS", "PE-PUN", arrival=STARTS, departure=STARTS + 4)
    trip(person, "PE-PUN", arrival=STARTS + 5, departure=ENDS + 1)
    residence_set(enrollee=person, region=region(lima, "PE-CUS"))
    other = verified_enrollee(lima)
    trip(other, "PE-CUS", arrival=0, departure=ENDS)
    found_people = reach(lima)  # builds the query (and looks up the regions) without running it
    with django_assert_num_queries(1):
        found = list(found_people)
    assert found == [person, other]


def test_an_active_residence_counts_and_an_old_one_does_not(lima):
    resident = verified_enrollee(lima)
    residence_set(enrollee=resident, region=region(lima, "PE-PUN"))
    moved = verified_enrollee(lima)
    residence_set(enrollee=moved, region=region(lima, "PE-CUS"))
    residence_set(enrollee=moved, region=region(lima, "PE-LMA"))
    assert list(reach(lima)) == [resident]


def test_a_trip_ended_early_before_the_range_does_not_count(lima):
    left, still_there = verified_enrollee(lima), verified_enrollee(lima)
    for person, day in ((left, STARTS - 1), (still_there, STARTS)):
        ended = trip(person, "PE-CUS", arrival=0, departure=ENDS)
        # Late in the evening, post time: a UTC date would already be the next day.
        moment = datetime.combine(today(lima) + timedelta(days=day), time(23, 30), lima.zone)
        Trip.objects.filter(pk=ended.pk).update(ended_early_at=moment)
    assert list(reach(lima)) == [still_there]


def test_people_only_in_another_posts_district_never_appear(lima, new_york):
    """The regions decide, not the post that opened the account: Lima's regions reach the
    people there (an account opened at New York too) and nobody only in New York's."""
    here = verified_enrollee(lima)
    there = verified_enrollee(new_york)
    visiting = verified_enrollee(new_york)
    trip(here, "PE-CUS", arrival=STARTS, departure=ENDS)
    trip(visiting, "PE-PUN", arrival=STARTS, departure=ENDS)
    residence_set(enrollee=there, region=new_york.regions.first())
    assert list(reach(lima)) == [here, visiting]
    ids = list(new_york.regions.values_list("pk", flat=True))
    start = today(new_york)
    assert list(
        enrollees_to_reach(
            post=new_york,
            region_ids=ids,
            starts=start,
            ends=start + timedelta(days=ENDS),
            kind=MessageKind.EMERGENCY,
        )
    ) == [there]


def test_an_enrollee_whose_email_is_not_verified_is_left_out(lima):
    # An unverified address may not be theirs: no trip, home or opt-in makes them reachable.
    travelling, at_home, verified = enrollee(lima), enrollee(lima), verified_enrollee(lima)
    for person in (travelling, verified):
        trip(person, "PE-CUS", arrival=STARTS, departure=ENDS)
        _prefer(person, MessageKind.WEATHER, enabled=True)
    residence_set(enrollee=at_home, region=region(lima, "PE-PUN"))
    assert list(reach(lima)) == [verified]
    assert list(reach(lima, kind=MessageKind.WEATHER)) == [verified]
    email_verify(enrollee=at_home)
    assert list(reach(lima)) == [at_home, verified]


def test_an_inactive_enrollee_is_left_out(lima):
    person = verified_enrollee(lima)
    trip(person, "PE-CUS", arrival=STARTS, departure=ENDS)
    Enrollee.objects.filter(pk=person.pk).update(active=False)
    assert not reach(lima).exists()


def _prefer(person, kind, enabled, channel=Channel.EMAIL):
    MessagePreference.objects.create(enrollee=person, kind=kind, channel=channel, enabled=enabled)


def test_emergency_and_security_reach_everyone_who_did_not_opt_out(lima):
    silent, opted_out, email_off_sms_on = (
        verified_enrollee(lima),
        verified_enrollee(lima),
        verified_enrollee(lima),
    )
    for person in (silent, opted_out, email_off_sms_on):
        trip(person, "PE-CUS", arrival=STARTS, departure=ENDS)
    _prefer(opted_out, MessageKind.SECURITY, enabled=False)
    _prefer(email_off_sms_on, MessageKind.SECURITY, enabled=False)
    _prefer(email_off_sms_on, MessageKind.SECURITY, enabled=True, channel=Channel.SMS)
    assert list(reach(lima, kind=MessageKind.SECURITY)) == [silent, email_off_sms_on]
    # An opt-out of one kind is not an opt-out of another.
    assert opted_out in reach(lima, kind=MessageKind.EMERGENCY)


def test_the_other_kinds_reach_only_those_who_opted_in(lima):
    silent, opted_in, opted_in_then_out = (
        verified_enrollee(lima),
        verified_enrollee(lima),
        verified_enrollee(lima),
    )
    for person in (silent, opted_in, opted_in_then_out):
        trip(person, "PE-PUN", arrival=STARTS, departure=ENDS)
    _prefer(opted_in, MessageKind.WEATHER, enabled=True)
    _prefer(opted_in_then_out, MessageKind.WEATHER, enabled=False)
    assert list(reach(lima, kind=MessageKind.WEATHER)) == [opted_in]
    assert not reach(lima, kind=MessageKind.HEALTH).exists()


def test_preferences_hold_for_residents_as_for_travellers(lima):
    opted_out, opted_in = verified_enrollee(lima), verified_enrollee(lima)
    for person in (opted_out, opted_in):
        residence_set(enrollee=person, region=region(lima, "PE-CUS"))
    _prefer(opted_out, MessageKind.EMERGENCY, enabled=False)
    _prefer(opted_in, MessageKind.WEATHER, enabled=True)
    assert list(reach(lima)) == [opted_in]
    assert list(reach(lima, kind=MessageKind.WEATHER)) == [opted_in]


def test_an_unknown_kind_is_refused(lima):
    with pytest.raises(ValueError, match="gossip"):
        reach(lima, kind="gossip")


def test_no_regions_reach_nobody(lima):
    trip(verified_enrollee(lima), "PE-CUS", arrival=STARTS, departure=ENDS)
    assert list(reach(lima, codes=())) == []
