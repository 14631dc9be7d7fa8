"""Small keyword-only builders for appointment tests."""

from __future__ import annotations

from datetime import date, time

from acs.appointments.models import OpeningRule, Service
from acs.appointments.services import PersonData
from acs.posts.models import Post


def make_service(
    *,
    post: Post,
    slug: str = "test-service",
    seats: int = 2,
    duration: int = 30,
    max_people: int = 4,
    horizon_days: int = 60,
    min_notice_hours: int = 0,
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6),
    opens: time = time(9, 0),
    closes: time = time(11, 0),
) -> Service:
    service = Service.objects.create(
        post=post,
        slug=slug,
        name_en="Test service",
        name_es="Servicio de prueba",
        checklist_en="Passport\nPhoto",
        checklist_es="Pasaporte\nFoto",
        duration_minutes=duration,
        seats_per_slot=seats,
        max_people=max_people,
        horizon_days=horizon_days,
        min_notice_hours=min_notice_hours,
    )
    OpeningRule.objects.bulk_create(
        [OpeningRule(service=service, weekday=d, opens=opens, closes=closes) for d in weekdays]
    )
    return service


def person(number: int, *, passport: bool = True) -> PersonData:
    return PersonData(
        full_name=f"Person Number{number}",
        date_of_birth=date(1980, 1, 1 + number % 28),
        passport_number=f"A{number:08d}" if passport else "",
    )
