"""Availability: rules, closures, holidays, notice, horizon and seats, in the post's zone."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from acs.appointments import availability
from acs.appointments.models import Closure
from acs.appointments.services import booking_create
from tests.appointments.factories import make_service, person

pytestmark = pytest.mark.django_db

# Tuesday 2027-01-12, 06:00 in Lima (11:00 UTC).
NOW = datetime(2027, 1, 12, 11, 0, tzinfo=UTC)
TUESDAY = date(2027, 1, 12)
WEDNESDAY = date(2027, 1, 13)


@pytest.fixture
def service(lima, settings):
    settings.ACS_POW_ENABLED = False
    return make_service(post=lima, seats=2, duration=30, opens=time(9), closes=time(11))


def day_slots(service, day, now=NOW):
    return availability.slots_between(service, day, day, now=now).get(day, [])


def test_slots_follow_the_opening_rule_in_local_time(service):
    slots = day_slots(service, WEDNESDAY)
    assert [s.local.strftime("%H:%M") for s in slots] == ["09:00", "09:30", "10:00", "10:30"]
    # Lima is UTC−5 all year: 09:00 local is 14:00 UTC.
    assert slots[0].starts_at == datetime(2027, 1, 13, 14, 0, tzinfo=UTC)
    assert all(s.free == 2 for s in slots)


def test_no_slots_on_a_day_without_a_rule(lima):
    weekdays_only = make_service(post=lima, weekdays=(0, 1, 2, 3, 4))
    saturday = date(2027, 1, 16)
    assert day_slots(weekdays_only, saturday) == []


def test_minimum_notice_hides_the_next_hours(service):
    service.min_notice_hours = 4  # now is 06:00 local: 09:00 and 09:30 are too soon
    service.save()
    times = [s.local.strftime("%H:%M") for s in day_slots(service, TUESDAY)]
    assert times == ["10:00", "10:30"]


def test_past_days_and_days_beyond_the_horizon_are_not_offered(service):
    service.horizon_days = 10
    service.save()
    assert day_slots(service, TUESDAY - timedelta(days=1)) == []
    assert day_slots(service, TUESDAY + timedelta(days=10)) != []
    assert day_slots(service, TUESDAY + timedelta(days=11)) == []


def test_peruvian_and_us_federal_holidays_close_the_unit(service):
    assert availability.holiday_name("PE", date(2027, 7, 28))  # Peru's independence day
    assert day_slots(service, date(2027, 7, 28), now=datetime(2027, 7, 1, tzinfo=UTC)) == []
    # U.S. Independence Day, a Sunday in 2027, is observed on Monday 5 July.
    assert day_slots(service, date(2027, 7, 5), now=datetime(2027, 7, 1, tzinfo=UTC)) == []
    assert day_slots(service, date(2027, 7, 6), now=datetime(2027, 7, 1, tzinfo=UTC)) != []


def test_a_closure_removes_exactly_the_slots_it_overlaps(service, lima):
    zone = lima.zone
    Closure.objects.create(
        post=lima,
        starts_at=datetime(2027, 1, 13, 9, 45, tzinfo=zone),
        ends_at=datetime(2027, 1, 13, 10, 30, tzinfo=zone),
        reason_en="Demonstration",
    )
    times = [s.local.strftime("%H:%M") for s in day_slots(service, WEDNESDAY)]
    assert times == ["09:00", "10:30"]


def test_a_closure_of_another_service_does_not_matter(service, lima):
    other = make_service(post=lima, slug="other")
    Closure.objects.create(
        post=lima,
        service=other,
        starts_at=datetime(2027, 1, 13, 0, 0, tzinfo=lima.zone),
        ends_at=datetime(2027, 1, 14, 0, 0, tzinfo=lima.zone),
        reason_en="Training",
    )
    assert len(day_slots(service, WEDNESDAY)) == 4
    assert day_slots(other, WEDNESDAY) == []


def test_booked_people_reduce_the_free_seats(service):
    slot = day_slots(service, WEDNESDAY)[0]
    booking_create(
        service=service,
        starts_at=slot.starts_at,
        people=[person(1)],
        email="a@example.org",
        phone="+51987654321",
        now=NOW,
    )
    assert day_slots(service, WEDNESDAY)[0].free == 1


def test_query_count_does_not_grow_with_the_range(service, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        availability.slots_between(service, TUESDAY, TUESDAY + timedelta(days=60), now=NOW)


def test_daylight_saving_gap_is_never_offered(new_york):
    # 2027-03-14: clocks go from 02:00 to 03:00. A 01:00–04:00 rule has no 02:xx slots.
    service = make_service(post=new_york, slug="night", opens=time(1), closes=time(4))
    day = date(2027, 3, 14)
    slots = availability.slots_between(service, day, day, now=datetime(2027, 3, 1, tzinfo=UTC))[day]
    assert [s.local.strftime("%H:%M") for s in slots] == ["01:00", "01:30", "03:00", "03:30"]
    # 01:30 EST is 06:30 UTC; 03:00 EDT is 07:00 UTC: half an hour apart in real time.
    assert slots[2].starts_at - slots[1].starts_at == timedelta(minutes=30)


def test_local_times_keep_their_wall_clock_across_the_change(new_york):
    service = make_service(post=new_york, slug="day", opens=time(9), closes=time(10))
    before, after = date(2027, 3, 12), date(2027, 3, 15)
    days = availability.slots_between(service, before, after, now=datetime(2027, 3, 1, tzinfo=UTC))
    assert days[before][0].starts_at.hour == 14  # 09:00 EST = 14:00 UTC
    assert days[after][0].starts_at.hour == 13  # 09:00 EDT = 13:00 UTC
    assert days[after][0].local.hour == 9


def test_slot_keys_round_trip():
    instant = datetime(2027, 1, 13, 14, 0, tzinfo=UTC)
    slot = availability.Slot(starts_at=instant, local=instant, free=1)
    assert availability.parse_slot_key(slot.key) == instant
    assert availability.parse_slot_key("2027-13-45T99:00Z") is None
    assert availability.parse_slot_key(None) is None
