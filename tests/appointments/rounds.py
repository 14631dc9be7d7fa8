"""Builders for request-round tests: a round service at Lima, a round opened on a fixed
Monday, requests made and confirmed through the services."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from acs.appointments.constants import ReleaseMode
from acs.appointments.models import Round, RoundRequest, Service
from acs.appointments.services import PersonData, rounds
from acs.posts.models import Post
from tests.appointments.factories import make_service, person

# Monday 11 January 2027, 10:00 in Lima: the round opened at 09:00 (14:00 UTC).
NOW = datetime(2027, 1, 11, 15, 0, tzinfo=UTC)
OPENS_AT = datetime(2027, 1, 11, 14, 0, tzinfo=UTC)
AFTER_CLOSE = OPENS_AT + timedelta(hours=48, minutes=1)
PHONE = "+51987654321"
# The round gives 14 January (the day after the close) to 7 February (three weeks ahead).
MONDAY = "2027-02-01"


def round_service(post: Post, *, seats: int = 2, slug: str = "round-service", **extra) -> Service:
    """A service open every day 09:00–11:00 in half hours (four slots a day), in rounds."""
    service = make_service(
        post=post, slug=slug, seats=seats, opens=time(9), closes=time(11), **extra
    )
    service.release_mode = ReleaseMode.ROUNDS
    service.round_weekday, service.round_opens = 0, time(9)
    service.round_weeks_ahead, service.round_window_hours = 3, 48
    service.save()
    return service


def open_round(service: Service, opens_at: datetime = OPENS_AT) -> Round:
    round_ = rounds.round_open(service=service, opens_at=opens_at)
    assert round_ is not None
    return round_


def request(
    round_: Round,
    numbers: list[int],
    *,
    choices: tuple[str, ...] = (f"{MONDAY}/any",),
    email: str | None = None,
    confirm: bool = True,
    now: datetime = NOW,
    language: str = "en",
) -> RoundRequest:
    """A request for people ``numbers`` (``factories.person``), confirmed unless told."""
    made = rounds.request_create(
        round_=round_,
        people=[person(number) for number in numbers],
        email=email or f"family{numbers[0]}@example.org",
        phone=PHONE,
        choices=list(choices),
        language=language,
        now=now,
    )
    if confirm:
        made = rounds.request_confirm(token=made.token, now=now)
    return made


def people(numbers: list[int]) -> list[PersonData]:
    return [person(number) for number in numbers]
