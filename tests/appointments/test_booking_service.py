"""The booking services: create, cancel, reschedule, and the rules they enforce."""

from datetime import UTC, date, datetime, time

import pytest

from acs.appointments import availability
from acs.appointments.constants import BookingStatus
from acs.appointments.models import Booking, BookingPerson
from acs.appointments.services import (
    BookingError,
    PersonData,
    booking_cancel,
    booking_create,
    booking_reschedule,
    identity_key,
)
from tests.appointments.factories import make_service, person
from tests.core.outbox import booking_emails, hold_emails

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 1, 12, 11, 0, tzinfo=UTC)
WEDNESDAY = date(2027, 1, 13)


@pytest.fixture(autouse=True)
def _no_emails(monkeypatch):
    """The emails are written to the outbox, and not sent."""
    hold_emails(monkeypatch)


@pytest.fixture
def service(lima):
    return make_service(post=lima, seats=2, max_people=3, opens=time(9), closes=time(11))


@pytest.fixture
def slots(service):
    return availability.slots_between(service, WEDNESDAY, WEDNESDAY, now=NOW)[WEDNESDAY]


def book(service, slot, people, email="family@example.org"):
    return booking_create(
        service=service,
        starts_at=slot.starts_at,
        people=people,
        email=email,
        phone="+51987654321",
        now=NOW,
    )


def test_booking_holds_people_and_a_readable_code(
    service, slots, _no_emails, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        booking = book(service, slots[0], [person(1), person(2)])
    assert booking.people.count() == 2
    assert len(booking.code) == 9 and booking.code[4] == "-"
    assert not set(booking.code) & set("01ILOU")
    assert len(booking.token) >= 32
    assert booking_emails() == [(booking.pk, "confirmation")]


def test_full_slot_is_refused_with_the_nearest_free_times(service, slots):
    book(service, slots[0], [person(1), person(2)])
    with pytest.raises(BookingError) as refused:
        book(service, slots[0], [person(3)])
    assert refused.value.code == "taken"
    assert refused.value.nearest
    assert slots[0].starts_at not in [s.starts_at for s in refused.value.nearest]
    assert Booking.objects.count() == 1


def test_a_family_needs_as_many_seats_as_people(service, slots):
    book(service, slots[0], [person(1)])
    with pytest.raises(BookingError, match="just taken"):
        book(service, slots[0], [person(2), person(3)])


def test_too_many_people_in_one_booking(service, slots):
    with pytest.raises(BookingError) as refused:
        book(service, slots[0], [person(n) for n in range(4)])
    assert refused.value.code == "people_count"


def test_a_time_that_is_not_offered_is_refused(service):
    for instant in (
        datetime(2027, 1, 13, 3, 0, tzinfo=UTC),  # 22:00 the evening before in Lima
        datetime(2027, 1, 11, 14, 0, tzinfo=UTC),  # yesterday
        datetime(2027, 1, 13, 14, 10, tzinfo=UTC),  # between two slots
    ):
        with pytest.raises(BookingError) as refused:
            booking_create(
                service=service,
                starts_at=instant,
                people=[person(1)],
                email="a@example.org",
                phone="+51987654321",
                now=NOW,
            )
        assert refused.value.code == "not_offered"
    assert not Booking.objects.exists()


def test_one_active_booking_per_person_per_service_names_the_date(service, slots):
    book(service, slots[0], [person(1)])
    with pytest.raises(BookingError) as refused:
        book(service, slots[2], [person(1)])
    assert refused.value.code == "already_booked"
    assert "Wednesday, January 13, 2027" in refused.value.message


def test_a_stranger_with_the_passport_number_learns_no_date(service, slots):
    book(service, slots[0], [person(1)])
    with pytest.raises(BookingError) as refused:
        book(service, slots[2], [person(1)], email="stranger@example.org")
    assert refused.value.code == "already_booked"
    assert "2027" not in refused.value.message
    assert "Number1" not in refused.value.message


def test_identity_without_passport_is_name_birth_date_and_email(service, slots):
    book(service, slots[0], [person(1, passport=False)], email="A@Example.org")
    same_person = PersonData(full_name="  person   NUMBER1 ", date_of_birth=date(1980, 1, 2))
    with pytest.raises(BookingError, match="already has an appointment"):
        book(service, slots[1], [same_person], email="a@example.org")


def test_the_same_person_twice_in_one_booking(service, slots):
    with pytest.raises(BookingError) as refused:
        book(service, slots[0], [person(1), person(1)])
    assert refused.value.code == "duplicate_person"


def test_database_backstops_the_one_booking_rule(service, slots):
    booking = book(service, slots[0], [person(1)])
    key = identity_key(person(1), email="x@example.org")
    assert BookingPerson.objects.get(booking=booking).identity_key == key


def test_cancel_frees_the_seats_and_is_harmless_twice(service, slots):
    booking = book(service, slots[0], [person(1), person(2)])
    booking_cancel(booking=booking, now=NOW)
    again = booking_cancel(booking=booking, now=NOW)
    assert again.status == BookingStatus.CANCELLED
    assert availability.slot_offered(service, slots[0].starts_at, now=NOW).free == 2
    # The person may book again after cancelling.
    book(service, slots[1], [person(1)])


def test_cancellation_within_24_hours_is_counted_as_late(service, slots):
    booking = book(service, slots[0], [person(1)])
    late = booking_cancel(booking=booking, now=slots[0].starts_at.replace(hour=2))
    assert late.cancelled_late is True
    early = book(service, slots[1], [person(2)])
    assert booking_cancel(booking=early, now=NOW.replace(day=1)).cancelled_late is False


def test_reschedule_takes_the_new_seat_and_frees_the_old(service, slots):
    booking = book(service, slots[0], [person(1), person(2)])
    moved = booking_reschedule(booking=booking, starts_at=slots[1].starts_at, now=NOW)
    assert moved.starts_at == slots[1].starts_at
    assert moved.reschedule_count == 1
    assert availability.slot_offered(service, slots[0].starts_at, now=NOW).free == 2
    assert availability.slot_offered(service, slots[1].starts_at, now=NOW).free == 0


def test_reschedule_to_a_full_slot_keeps_the_old_booking(service, slots):
    booking = book(service, slots[0], [person(1)])
    book(service, slots[1], [person(2), person(3)])
    with pytest.raises(BookingError) as refused:
        booking_reschedule(booking=booking, starts_at=slots[1].starts_at, now=NOW)
    assert refused.value.code == "taken"
    booking.refresh_from_db()
    assert booking.starts_at == slots[0].starts_at
    assert booking.status == BookingStatus.BOOKED


def test_cancelled_booking_cannot_be_rescheduled(service, slots):
    booking = book(service, slots[0], [person(1)])
    booking_cancel(booking=booking, now=NOW)
    with pytest.raises(BookingError) as refused:
        booking_reschedule(booking=booking, starts_at=slots[1].starts_at, now=NOW)
    assert refused.value.code == "not_reschedulable"
