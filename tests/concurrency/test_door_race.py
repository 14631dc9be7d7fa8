"""Two tablets, one code: a booking is admitted once, however many scans race."""

from __future__ import annotations

from datetime import timedelta

import pytest

from acs.appointments.constants import BookingStatus
from acs.appointments.services import booking_create
from acs.appointments.services.door import checkin_perform
from acs.core.models import AuditEntry
from acs.staff.services import staff_user_create
from tests.appointments.factories import person
from tests.concurrency.conftest import NOW, PHONE, in_threads

pytestmark = pytest.mark.django_db(transaction=True)

SCANS = 12


def test_simultaneous_scans_admit_once(lima, service, starts_at):
    booking = booking_create(
        service=service,
        starts_at=starts_at,
        people=[person(900)],
        email="door@example.org",
        phone=PHONE,
        now=NOW,
    )
    officer = staff_user_create(username="door-officer").user
    at_the_door = starts_at - timedelta(minutes=5)

    results = in_threads(
        lambda number: checkin_perform(
            post=lima, code=booking.code, actor=officer, now=at_the_door
        ),
        SCANS,
    )

    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == []
    codes = sorted(result.code for result in results)
    assert codes.count("admitted") == 1, codes
    assert codes.count("already_checked_in") == SCANS - 1, codes
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CHECKED_IN
    admitted = AuditEntry.objects.filter(action="acs.checkin.admitted", object_id=str(booking.pk))
    assert admitted.count() == 1
