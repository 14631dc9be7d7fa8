"""Every staff page that shows a citizen's personal data records the look (issue 14, item 2).

The walk takes every back-office route from the URLconf and opens it as a member of Lima's
staff holding every permission, with Lima's booking, message and enrollee in the URLs: any
answer that carries a person's name, email, phone or passport number must have written an
audit entry naming the reader, in that request. The walk also proves it found such pages.
"""

from __future__ import annotations

import pytest

from acs.core.models import AuditEntry
from tests.staff.test_isolation import EVERY_PERMISSION, record_url, response_text

# The fixtures: Lima's booking and service (world), and its closure, message and enrollee.
from tests.staff.test_isolation import lima_world as lima_world
from tests.staff.test_permissions import ROUTES
from tests.staff.test_permissions import world as world

pytestmark = pytest.mark.django_db


def test_every_staff_page_showing_personal_data_records_the_look(
    lima_world, staff_member, verified_client
):
    reader = staff_member("reader", permissions=EVERY_PERMISSION)
    browser = verified_client(reader)
    booking = lima_world["booking"]
    person = booking.people.get()
    personal = [
        person.full_name,
        person.passport_number,
        booking.email,
        "Marker Enrollee Lima",
        lima_world["enrollee"].email,
    ]
    showing = []
    for route in ROUTES:
        path = record_url(route, lima_world)
        last = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
        text = response_text(browser.get(path))
        shown = [value for value in personal if value and value in text]
        if not shown:
            continue
        showing.append(path)
        new = AuditEntry.objects.filter(id__gt=last, actor=reader.user)
        assert new.exists(), f"{path} showed {shown} without an audit entry"
    # The walk reached the pages that show people: the day, a booking, the enrollees.
    assert {"/staff/day/", f"/staff/bookings/{booking.pk}/"} <= set(showing), showing
    assert any(path.startswith("/staff/enrollees/") for path in showing), showing
