"""The booking path's copy of a post's services and opening rules (``selectors.service_get``,
``ACS_BOOKING_RULES_SECONDS``): a change shows at once in the process that saved it and within
the second everywhere else; seats and closures count at once whatever the copy says.

"Another process" is a change this process's signals do not see: a queryset ``update()``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.contrib.auth import get_user_model

from acs.appointments import availability, selectors
from acs.appointments.models import Service
from acs.appointments.services import BookingError, booking_create
from acs.appointments.services.capacity import RuleData, service_capacity_update
from acs.appointments.services.closures import closure_create_and_cancel
from tests.appointments.factories import make_service, person
from tests.core.outbox import hold_emails

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 1, 12, 11, 0, tzinfo=UTC)  # Tuesday 06:00 in Lima
WEDNESDAY = date(2027, 1, 13)


@pytest.fixture(autouse=True)
def _deployed(settings, monkeypatch):
    """The deployed setting (one second) and a clock the test moves on."""
    hold_emails(monkeypatch)
    settings.ACS_BOOKING_RULES_SECONDS = 1.0
    selectors.booking_rules_forget()
    clock = {"now": 1000.0}
    monkeypatch.setattr(selectors, "_clock", lambda: clock["now"])
    yield clock
    selectors.booking_rules_forget()


def later(clock, seconds: float) -> None:
    clock["now"] += seconds


@pytest.fixture
def service(lima) -> Service:
    return make_service(post=lima, seats=2, max_people=2, opens=time(9), closes=time(11))


def cached(lima, slug: str = "test-service") -> Service | None:
    return selectors.service_get(post=lima, slug=slug)


def wednesday(service: Service) -> list[availability.Slot]:
    return availability.slots_between(service, WEDNESDAY, WEDNESDAY, now=NOW)[WEDNESDAY]


def book(service: Service, starts_at: datetime, number: int, people: int = 1):
    return booking_create(
        service=service,
        starts_at=starts_at,
        people=[person(number + n) for n in range(people)],
        email=f"person{number}@example.org",
        phone="+51987654321",
        now=NOW,
    )


def test_one_read_a_second_per_process(lima, service, _deployed, django_assert_num_queries):
    with django_assert_num_queries(3):  # the post, its services, their opening rules
        first = cached(lima)
    with django_assert_num_queries(0):
        assert cached(lima) is first
        assert selectors.booking_post("lima") == lima
    with django_assert_num_queries(2):  # the rules came with it: only closures and seats
        assert len(wednesday(first)) == 4
    later(_deployed, 1.01)
    with django_assert_num_queries(3):
        assert cached(lima) is not first


def test_another_process_change_shows_within_the_second(lima, service, _deployed):
    assert cached(lima).duration_minutes == 30
    Service.objects.filter(pk=service.pk).update(duration_minutes=60, name_en="Renamed")
    later(_deployed, 0.9)
    assert cached(lima).name_en == "Test service"  # still this second's copy
    later(_deployed, 0.2)
    assert cached(lima).name_en == "Renamed"
    assert len(wednesday(cached(lima))) == 2


def test_a_service_closed_for_booking_disappears_within_the_second(lima, service, _deployed):
    assert cached(lima) is not None
    Service.objects.filter(pk=service.pk).update(active=False)
    later(_deployed, 1.01)
    assert cached(lima) is None


def test_staff_change_of_hours_shows_at_once(lima, service, _deployed):
    """Saved in this process (the officer's own request): the copy is dropped at once."""
    assert [slot.local.hour for slot in wednesday(cached(lima))] == [9, 9, 10, 10]
    officer = get_user_model().objects.create_user("capacity-officer")
    service_capacity_update(
        service=service,
        seats_per_slot=2,
        duration_minutes=30,
        horizon_days=60,
        min_notice_hours=0,
        rules=[RuleData(weekday=2, opens=time(14), closes=time(15))],
        actor=officer,
        now=NOW,
    )
    assert [slot.local.hour for slot in wednesday(cached(lima))] == [14, 14]


def test_fewer_seats_count_at_once_whatever_the_copy_says(lima, service, _deployed):
    copy = cached(lima)
    first = wednesday(copy)[0].starts_at
    book(copy, first, 1)
    Service.objects.filter(pk=service.pk).update(seats_per_slot=1)  # another process
    assert cached(lima).seats_per_slot == 2  # this second's copy
    with pytest.raises(BookingError) as refused:
        book(cached(lima), first, 2)
    assert refused.value.code == "taken"


def test_a_closure_counts_at_once_whatever_the_copy_says(lima, service, _deployed):
    copy = cached(lima)
    first = wednesday(copy)[0].starts_at
    officer = get_user_model().objects.create_user("closure-officer")
    closure_create_and_cancel(
        post=lima,
        service=None,
        starts_at=first,
        ends_at=first + timedelta(hours=1),
        reason_en="Power cut",
        reason_es="Corte de luz",
        actor=officer,
        nonce="rules-cache",
        now=NOW,
    )
    with pytest.raises(BookingError) as refused:
        book(cached(lima), first, 1)
    assert refused.value.code == "not_offered"


def test_off_reads_every_time(lima, service, settings, django_assert_num_queries):
    settings.ACS_BOOKING_RULES_SECONDS = 0
    with django_assert_num_queries(2):  # the service with its post, and its rules
        first = cached(lima)
    with django_assert_num_queries(2):
        assert cached(lima) is not first
