from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from acs.appointments.constants import LATE_CANCELLATION_HOURS
from acs.appointments.models import Booking, Service
from acs.posts.models import Post


def services_bookable(post: Post) -> QuerySet[Service]:
    return Service.objects.filter(post=post, active=True).select_related("post")


def service_get(*, post: Post, slug: str) -> Service | None:
    return services_bookable(post).filter(slug=slug).first()


def booking_by_token(token: str) -> Booking | None:
    return (
        Booking.objects.select_related("post", "service")
        .prefetch_related("people")
        .filter(token=token)
        .first()
    )


def booking_by_code(*, code: str, email: str) -> Booking | None:
    """Code and email together: the code alone never unlocks personal data."""
    code = code.strip().upper().replace(" ", "")
    if len(code) == 8:
        code = f"{code[:4]}-{code[4:]}"
    return (
        Booking.objects.select_related("post", "service")
        .filter(code=code, email=email.strip().lower())
        .first()
    )


def cancellation_is_late(booking: Booking, *, now: datetime | None = None) -> bool:
    """Whether cancelling now would be counted as a late cancellation."""
    now = now or timezone.now()
    return booking.starts_at - now < timedelta(hours=LATE_CANCELLATION_HOURS)
