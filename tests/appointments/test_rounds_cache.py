"""The request form's copy of a service's open round and its days
(``selectors.round_open_with_days``, ``ACS_BOOKING_RULES_SECONDS``): a change saved in this
process shows at once, one made elsewhere (a queryset ``update()``) within the second, and the
copy never lets a request in after its window: the clock against the round's times decides.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from acs.appointments import selectors
from acs.appointments.models import Round
from acs.appointments.services import rounds
from tests.appointments.rounds import AFTER_CLOSE, MONDAY, NOW, open_round, people, round_service
from tests.core.outbox import hold_emails

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _deployed(settings, monkeypatch):
    hold_emails(monkeypatch)
    settings.ACS_BOOKING_RULES_SECONDS = 1.0
    selectors.open_rounds_forget()
    clock = {"now": 1000.0}
    monkeypatch.setattr(selectors, "_clock", lambda: clock["now"])
    yield clock
    selectors.open_rounds_forget()


def test_the_open_round_and_its_days_are_read_once_a_second(
    lima, django_assert_num_queries, _deployed
):
    service = round_service(lima)
    round_ = open_round(service)
    found, days = selectors.round_open_with_days(service, now=NOW)
    assert found.pk == round_.pk
    assert days == selectors.round_days_offered(round_)
    with django_assert_num_queries(0):
        assert selectors.round_open_with_days(service, now=NOW)[0].pk == round_.pk
    # Another process moves the window's end: seen once the second has passed.
    Round.objects.filter(pk=round_.pk).update(closes_at=NOW)
    assert selectors.round_open_for(service, now=NOW) is not None
    _deployed["now"] += 1.0
    assert selectors.round_open_for(service, now=NOW) is None


def test_a_round_saved_here_shows_at_once(lima):
    service = round_service(lima)
    assert selectors.round_open_with_days(service, now=NOW) == (None, [])
    round_ = open_round(service)
    assert selectors.round_open_for(service, now=NOW).pk == round_.pk


def test_the_copy_never_takes_a_request_after_the_window(lima):
    service = round_service(lima)
    open_round(service)
    cached = selectors.round_open_for(service, now=NOW)
    assert selectors.round_open_for(service, now=AFTER_CLOSE) is None
    with pytest.raises(rounds.RoundError) as refused:
        rounds.request_create(
            round_=cached,
            people=people([1]),
            email="late@example.org",
            phone="+51987654321",
            choices=[f"{MONDAY}/any"],
            now=cached.closes_at + timedelta(seconds=1),
        )
    assert refused.value.code == "closed"


def test_while_one_thread_reads_the_expired_copy_the_others_keep_the_old_one(
    lima, django_assert_num_queries, _deployed
):
    """At a round's busiest moment sixteen threads find the copy expired in the same
    millisecond: one reads it afresh, the others go on with the old copy meanwhile."""
    service = round_service(lima)
    round_ = open_round(service)
    selectors.round_open_with_days(service, now=NOW)
    _deployed["now"] += 1.0
    with selectors._refreshing(("rounds", service.pk), "stale") as mine:
        assert mine  # this "thread" is reading it
        with django_assert_num_queries(0):
            found, _days = selectors.round_open_with_days(service, now=NOW)
        assert found.pk == round_.pk
    with django_assert_num_queries(2):  # the round, its opening days
        selectors.round_open_with_days(service, now=NOW)
    with django_assert_num_queries(0):
        selectors.round_open_with_days(service, now=NOW)
