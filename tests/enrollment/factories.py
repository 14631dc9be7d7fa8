"""Small keyword-only builders over the enrollment services."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import count

from django.utils import timezone

from acs.enrollment.models import Enrollee, Trip
from acs.enrollment.services.accounts import email_verify, enrollee_create
from acs.enrollment.services.trips import trip_add
from acs.posts.models import Post, Region

_serial = count(1)


def today(post: Post) -> date:
    return timezone.localdate(timezone=post.zone)


def region(post: Post, code: str) -> Region:
    return post.regions.get(code=code)


def enrollee(post: Post, **fields) -> Enrollee:
    serial = next(_serial)
    values = {
        "email": f"traveler{serial}@example.org",
        "password": "correct horse battery staple",
        "full_name": f"Traveler {serial}",
        "date_of_birth": date(1980, 5, 17),
    }
    return enrollee_create(post=post, **(values | fields))


def trip(person: Enrollee, *codes: str, arrival: int, departure: int) -> Trip:
    """A trip from today + ``arrival`` days to today + ``departure`` days."""
    start = today(person.post)
    return trip_add(
        enrollee=person,
        arrival=start + timedelta(days=arrival),
        departure=start + timedelta(days=departure),
        # Any post's region: a trip may cross borders.
        stops=[(Region.objects.get(code=code), "") for code in codes],
    )


def verified_enrollee(post: Post, **fields) -> Enrollee:
    """An enrollee who confirmed their email: the kind the staff pages list and count."""
    return email_verify(enrollee=enrollee(post, **fields))
