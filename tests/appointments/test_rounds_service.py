"""Request rounds through their services: opening on the schedule, requests and their
confirmation, replacement, the draw, booking the winners and telling the others."""

from __future__ import annotations

import hashlib
import io
import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command

from acs.appointments import draw
from acs.appointments.constants import ACTIVE, RequestStatus, RoundState
from acs.appointments.models import Booking, BookingPerson, Round, RoundRequest
from acs.appointments.services import BookingError, booking_cancel, booking_create, rounds
from acs.core.models import AuditEntry, OutgoingEmail
from tests.appointments.factories import person
from tests.appointments.rounds import (
    AFTER_CLOSE,
    MONDAY,
    NOW,
    OPENS_AT,
    PHONE,
    open_round,
    request,
    round_service,
)
from tests.core.outbox import hold_emails

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _held(monkeypatch):
    hold_emails(monkeypatch)


@pytest.fixture
def service(lima):
    return round_service(lima)


def round_emails(kind: str) -> list[str]:
    return [
        row.to
        for row in OutgoingEmail.objects.filter(kind="appointments.round").order_by("pk")
        if row.arguments["kind"] == kind
    ]


# The schedule --------------------------------------------------------------------------------


def test_a_round_opens_once_on_its_schedule_with_a_published_commitment(service):
    assert rounds.rounds_open_due(now=OPENS_AT - timedelta(minutes=1)) == []
    [opened] = rounds.rounds_open_due(now=NOW)
    assert rounds.rounds_open_due(now=NOW + timedelta(minutes=5)) == []  # once
    assert opened.opens_at == OPENS_AT and opened.closes_at == OPENS_AT + timedelta(hours=48)
    assert str(opened.first_day) == "2027-01-14" and str(opened.last_day) == "2027-02-07"
    assert opened.commitment == hashlib.sha256(bytes.fromhex(opened.seed)).hexdigest()
    assert (
        AuditEntry.objects.filter(action="acs.round.opened", object_id=str(opened.pk)).count() == 1
    )


def test_a_round_missed_by_the_beat_opens_late_but_not_after_its_window(service):
    assert len(rounds.rounds_open_due(now=OPENS_AT + timedelta(hours=47))) == 1
    Round.objects.all().delete()
    assert rounds.rounds_open_due(now=OPENS_AT + timedelta(hours=48)) == []


def test_the_schedule_keeps_the_wall_clock_across_daylight_saving(new_york):
    """Sunday 14 March 2027 the clocks spring forward in New York: the Monday-09:00 round is
    at 14:00 UTC before and 13:00 UTC after."""
    service = round_service(new_york, slug="ny-rounds")
    before, after = rounds.openings_around(service, datetime(2027, 3, 10, tzinfo=UTC))
    assert before == datetime(2027, 3, 8, 14, 0, tzinfo=UTC)
    assert after == datetime(2027, 3, 15, 13, 0, tzinfo=UTC)


# Requests ------------------------------------------------------------------------------------


def test_a_request_waits_for_its_email_and_an_unconfirmed_one_is_not_drawn(service):
    round_ = open_round(service)
    waiting = request(round_, [1], confirm=False)
    assert waiting.status == RequestStatus.UNCONFIRMED
    assert round_emails("confirm") == ["family1@example.org"]

    drawn = rounds.round_draw(round_id=round_.pk, now=AFTER_CLOSE)
    assert drawn.requests_count == 0 and drawn.published["requests"] == []
    waiting.refresh_from_db()
    assert waiting.status == RequestStatus.UNCONFIRMED and waiting.starts_at is None


def test_a_second_request_for_the_same_person_replaces_the_first(service):
    round_ = open_round(service)
    first = request(round_, [1, 2], email="first@example.org")
    second = request(round_, [2, 3], email="second@example.org")
    confirmed_again = rounds.request_confirm(token=second.token, now=NOW)  # harmless
    first.refresh_from_db()
    assert first.status == RequestStatus.REPLACED
    assert confirmed_again.status == RequestStatus.CONFIRMED

    drawn = rounds.round_draw(round_id=round_.pk, now=AFTER_CLOSE)
    assert drawn.requests_count == 1 and drawn.people_count == 2


def test_an_unconfirmed_request_does_not_replace_a_confirmed_one(service):
    round_ = open_round(service)
    confirmed = request(round_, [1])
    request(round_, [1], email="someone-else@example.org", confirm=False)
    confirmed.refresh_from_db()
    assert confirmed.status == RequestStatus.CONFIRMED


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"choices": []}, "choices"),
        ({"choices": ["2027-03-01/any"]}, "choices"),  # not a day of the round
        ({"choices": ["2027-02-30/am"]}, "choices"),
        ({"choices": [f"{MONDAY}/evening"]}, "choices"),
        ({"choices": [f"2027-02-0{n}/any" for n in range(1, 7)]}, "choices"),  # six
        ({"people": []}, "people_count"),
        ({"people": [person(n) for n in range(5)]}, "people_count"),
        ({"people": [person(1), person(1)]}, "duplicate_person"),
        ({"now": OPENS_AT + timedelta(hours=48)}, "closed"),
    ],
)
def test_bad_requests_are_refused_in_plain_words_and_change_nothing(service, change, code):
    round_ = open_round(service)
    arguments = {
        "round_": round_,
        "people": [person(1)],
        "email": "ana@example.org",
        "phone": PHONE,
        "choices": [f"{MONDAY}/am"],
        "now": NOW,
        **change,
    }
    with pytest.raises(rounds.RoundError) as refused:
        rounds.request_create(**arguments)
    assert refused.value.code == code and refused.value.message.endswith(".")
    assert not RoundRequest.objects.exists() and not OutgoingEmail.objects.exists()


def test_confirming_after_the_close_is_refused_and_counts_nothing(service):
    round_ = open_round(service)
    late = request(round_, [1], confirm=False)
    with pytest.raises(rounds.RoundError) as refused:
        rounds.request_confirm(token=late.token, now=round_.closes_at)
    assert refused.value.code == "closed"
    with pytest.raises(rounds.RoundError) as invalid:
        rounds.request_confirm(token="not-a-token", now=NOW)
    assert invalid.value.code == "invalid_link"


def test_a_person_already_booked_cannot_request(service, lima):
    round_ = open_round(service)
    request(round_, [1])
    rounds.round_draw(round_id=round_.pk, now=AFTER_CLOSE)
    rounds.round_settle(round_id=round_.pk, now=AFTER_CLOSE)
    later = open_round(service, OPENS_AT + timedelta(days=7))
    with pytest.raises(rounds.RoundError) as refused:
        request(later, [1], now=NOW + timedelta(days=7))
    assert refused.value.code == "already_booked"


# First come is refused -----------------------------------------------------------------------


def test_a_round_service_is_never_booked_first_come(service):
    with pytest.raises(BookingError) as refused:
        booking_create(
            service=service,
            starts_at=datetime(2027, 2, 1, 14, 0, tzinfo=UTC),
            people=[person(1)],
            email="ana@example.org",
            phone=PHONE,
            now=NOW,
        )
    assert refused.value.code == "by_request"
    assert "request" in refused.value.message and not Booking.objects.exists()


# The draw ------------------------------------------------------------------------------------


def test_the_draw_books_winners_tells_the_others_and_publishes_a_replayable_allocation(service):
    """Monday 1 February has four slots of two seats: eight seats for 3 families of 3 and
    six singles. Families stay together; every seat counted; each person at most once."""
    round_ = open_round(service)
    [request(round_, [10 * f + 1, 10 * f + 2, 10 * f + 3]) for f in range(3)]
    [request(round_, [100 + n], language="es") for n in range(6)]
    assert rounds.round_draw(round_id=round_.pk, now=AFTER_CLOSE - timedelta(minutes=2)) is None

    drawn = rounds.round_draw(round_id=round_.pk, now=AFTER_CLOSE)
    assert rounds.round_draw(round_id=round_.pk, now=AFTER_CLOSE) is None  # exactly once
    assert drawn.state == RoundState.DRAWN and drawn.requests_count == 9
    # 25 days of 4 slots but Martin Luther King Day (18 January, a U.S. holiday).
    assert drawn.seats_count == 2 * 4 * 24
    settled = rounds.round_settle(round_id=round_.pk, now=AFTER_CLOSE)
    assert rounds.round_settle(round_id=round_.pk, now=AFTER_CLOSE) == {"booked": 0, "notified": 0}

    seats = Counter()
    for booking in Booking.objects.filter(service=service, status__in=ACTIVE):
        seats[booking.starts_at] += booking.people_count
    assert seats and max(seats.values()) <= 2
    assert sum(seats.values()) == drawn.served_people <= 8
    served = RoundRequest.objects.filter(round=round_, status=RequestStatus.BOOKED)
    assert settled["booked"] == served.count() == drawn.served_requests
    for won in served.select_related("booking"):
        assert won.booking.people_count == won.people_count
        assert won.booking.starts_at == won.starts_at
        assert won.booking.starts_at.astimezone(service.post.zone).date().isoformat() == MONDAY
    assert BookingPerson.objects.filter(service=service, active=True).count() == drawn.served_people

    lost = RoundRequest.objects.filter(round=round_, status=RequestStatus.LOST)
    assert lost.count() == 9 - served.count() and settled["notified"] == lost.count()
    assert sorted(round_emails("lost")) == sorted(lost.values_list("email", flat=True))
    booking_rows = OutgoingEmail.objects.filter(kind="appointments.booking")
    assert booking_rows.count() == served.count()
    assert set(booking_rows.values_list("arguments__kind", flat=True)) == {"confirmation"}

    replayed, problems = draw.published_check(drawn.published)
    assert problems == []
    assert sum(1 for slot in replayed.values() if slot) == served.count()
    actions = Counter(AuditEntry.objects.values_list("action", flat=True))
    assert actions["acs.round.drawn"] == 1 and actions["acs.round.booked"] == served.count()
    assert actions["acs.round.notified"] == 1


def test_requests_fall_back_to_their_next_choice(service):
    round_ = open_round(service)
    firsts = [request(round_, [n], choices=(f"{MONDAY}/am", "2027-02-02/pm")) for n in range(12)]
    rounds.round_draw(round_id=round_.pk, now=AFTER_CLOSE)
    days = Counter(
        RoundRequest.objects.get(pk=r.pk).starts_at.astimezone(service.post.zone).strftime("%d %H")
        for r in firsts
        if RoundRequest.objects.get(pk=r.pk).starts_at
    )
    # Monday 09:00–11:00 holds 8; the Tuesday afternoon has no slot (the service closes at
    # 11:00): four requests are left without a seat.
    assert sum(days.values()) == 8 and all(key.startswith("01") for key in days)


def test_seats_freed_by_a_cancellation_go_to_the_next_round(service):
    round_ = open_round(service)
    requests = [request(round_, [n], choices=(f"{MONDAY}/any",)) for n in range(9)]
    rounds.round_draw(round_id=round_.pk, now=AFTER_CLOSE)
    rounds.round_settle(round_id=round_.pk, now=AFTER_CLOSE)
    booking = Booking.objects.filter(service=service).first()
    booking_cancel(booking=booking, now=AFTER_CLOSE)
    with pytest.raises(BookingError):  # not back online
        booking_create(
            service=service,
            starts_at=booking.starts_at,
            people=[person(99)],
            email="fast@example.org",
            phone=PHONE,
            now=AFTER_CLOSE,
        )
    week_later = OPENS_AT + timedelta(days=7)
    later = open_round(service, week_later)
    assert later.first_day.isoformat() <= MONDAY <= later.last_day.isoformat()
    request(later, [99], choices=(f"{MONDAY}/any",), now=week_later)
    drawn = rounds.round_draw(round_id=later.pk, now=later.closes_at)
    assert drawn.served_people == 1
    assert len(requests) == 9


def test_the_replay_command_prints_the_same_allocation(service, tmp_path):
    round_ = open_round(service)
    for n in range(10):
        request(round_, [n])
    drawn = rounds.round_draw(round_id=round_.pk, now=AFTER_CLOSE)
    path = tmp_path / "draw.json"
    path.write_text(json.dumps(drawn.published))
    out = io.StringIO()
    call_command("round_replay", file=str(path), stdout=out)
    assert "matches" in out.getvalue()
    lines = [line.split() for line in out.getvalue().splitlines() if len(line.split()) == 2]
    locals_ = {slot["start"]: slot["local"] for slot in drawn.published["slots"]}
    published = {
        e["id"]: locals_[e["slot"]] if e["slot"] else "-" for e in drawn.published["requests"]
    }
    assert dict(lines) == published

    tampered = dict(drawn.published, seed="00" * 32)
    path.write_text(json.dumps(tampered))
    with pytest.raises(CommandError):
        call_command("round_replay", file=str(path), stdout=io.StringIO(), stderr=io.StringIO())
    call_command("round_replay", round=round_.token, stdout=io.StringIO())


def test_the_tick_opens_draws_and_settles(service):
    assert rounds.rounds_tick(now=NOW)["opened"] == 1
    round_ = Round.objects.get()
    request(round_, [1])
    result = rounds.rounds_tick(now=AFTER_CLOSE)
    assert result["drawn"] == 1 and result["settled"] == 1
    assert RoundRequest.objects.get().status == RequestStatus.BOOKED


def test_the_figures_per_round(service, lima):
    from acs.appointments import selectors

    round_ = open_round(service)
    for n in range(4):
        request(round_, [2 * n, 2 * n + 1])
    rounds.round_draw(round_id=round_.pk, now=AFTER_CLOSE)
    [figures] = selectors.rounds_figures(post=lima)
    assert (figures.requests, figures.people, figures.seats) == (4, 8, 192)
    assert figures.share_served == 1.0 and figures.served_people == 8
    assert [e.action for e in selectors.round_log(round_)] == [
        "acs.round.opened",
        "acs.round.drawn",
    ]
