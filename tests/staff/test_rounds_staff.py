"""The back office's request rounds and waitlist (issue 13, item 6): a service's round
settings, changed through one audited service with plain-words refusals; demand against
supply per drawn round as a chart and a table; the draw's log with the public round page;
and each service's waitlist, whose every look is audited. All scoped to the chosen post."""

from __future__ import annotations

import re
from datetime import time, timedelta

import pytest
from django.utils import timezone

from acs.appointments.constants import AUDIT_SERVICE_ROUNDS_CHANGED, ReleaseMode
from acs.appointments.models import Booking, Service
from acs.appointments.services import booking_cancel, rounds
from acs.appointments.services.round_settings import (
    RoundSettings,
    RoundSettingsError,
    service_rounds_update,
)
from acs.appointments.services.waitlist import offers_make
from acs.core.models import AuditEntry
from acs.staff import roles
from acs.staff.services import roles_sync
from tests.appointments import rounds as round_helpers
from tests.appointments import waitlist_helpers
from tests.appointments.factories import make_service
from tests.core.outbox import hold_emails

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_emails(monkeypatch):
    hold_emails(monkeypatch)


@pytest.fixture
def officer_creds(staff_member):
    roles_sync()
    return staff_member("officer", groups=[roles.CONSULAR_OFFICER])


@pytest.fixture
def officer(officer_creds, verified_client):
    return verified_client(officer_creds)


@pytest.fixture
def quito_officer(quito, staff_member, verified_client):
    roles_sync()
    return verified_client(staff_member("quito", groups=[roles.CONSULAR_OFFICER], post=quito))


def settings_data(**change) -> dict:
    data = {
        "release_mode": "rounds",
        "round_weekday": "1",
        "round_opens": "10:00",
        "round_weeks_ahead": "2",
        "round_window_hours": "24",
    }
    return {**data, **change}


def text(response) -> str:
    return response.content.decode()


# Settings -----------------------------------------------------------------------------------


def test_an_officer_switches_a_service_to_rounds_and_it_is_audited(officer, officer_creds, lima):
    service = make_service(post=lima, slug="visas")
    url = f"/staff/rounds/services/{service.pk}/settings/"
    page = officer.get(url)
    assert page.status_code == 200 and "Round settings" in text(page)
    response = officer.post(url, settings_data(), follow=True)
    assert "Saved." in text(response)
    service.refresh_from_db()
    assert service.release_mode == ReleaseMode.ROUNDS
    assert (service.round_weekday, service.round_opens) == (1, time(10))
    assert (service.round_weeks_ahead, service.round_window_hours) == (2, 24)
    entry = AuditEntry.objects.get(action=AUDIT_SERVICE_ROUNDS_CHANGED)
    assert entry.actor == officer_creds.user and entry.post == lima
    assert entry.changes["release_mode"] == ["first_come", "rounds"]
    assert entry.changes["round_window_hours"] == [48, 24]
    # Saving the same again changes nothing and writes nothing.
    assert "Nothing changed." in text(officer.post(url, settings_data(), follow=True))
    assert AuditEntry.objects.filter(action=AUDIT_SERVICE_ROUNDS_CHANGED).count() == 1
    # The overview shows the schedule in words.
    overview = text(officer.get("/staff/rounds/"))
    assert "Opens Tuesday at 10:00 for 24 hours; gives out up to 2 weeks ahead" in overview


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"round_weeks_ahead": "0", "round_window_hours": "167"}, "would give out nothing"),
        ({"round_window_hours": "168"}, "less than or equal to 167"),
        ({"round_opens": "nine"}, "Enter a time as 09:00."),
        ({"release_mode": "lottery"}, "Select a valid choice"),
    ],
)
def test_bad_settings_get_plain_words_and_change_nothing(officer, lima, change, words):
    service = make_service(post=lima, slug="visas")
    before = Service.objects.filter(pk=service.pk).values().get()
    response = officer.post(
        f"/staff/rounds/services/{service.pk}/settings/", settings_data(**change)
    )
    assert response.status_code == 400
    assert words in text(response)
    assert Service.objects.filter(pk=service.pk).values().get() == before
    assert not AuditEntry.objects.filter(action=AUDIT_SERVICE_ROUNDS_CHANGED).exists()


def test_the_schedule_cannot_change_while_a_round_takes_requests(lima, officer_creds):
    service = round_helpers.round_service(lima)
    rounds.round_open(service=service, opens_at=timezone.now() - timedelta(hours=1))
    wanted = RoundSettings(
        release_mode=ReleaseMode.FIRST_COME,
        round_weekday=0,
        round_opens=time(9),
        round_weeks_ahead=3,
        round_window_hours=48,
    )
    with pytest.raises(RoundSettingsError) as refused:
        service_rounds_update(service=service, settings=wanted, actor=officer_creds.user)
    assert refused.value.code == "round_open"
    assert "is taking requests until" in refused.value.message
    service.refresh_from_db()
    assert service.release_mode == ReleaseMode.ROUNDS


def test_a_service_with_people_waiting_is_not_switched_to_rounds(lima, officer_creds):
    service = waitlist_helpers.full_service(lima)
    waitlist_helpers.waiting(service, 1)
    wanted = RoundSettings(
        release_mode=ReleaseMode.ROUNDS,
        round_weekday=0,
        round_opens=time(9),
        round_weeks_ahead=3,
        round_window_hours=48,
    )
    with pytest.raises(RoundSettingsError) as refused:
        service_rounds_update(service=service, settings=wanted, actor=officer_creds.user)
    assert refused.value.code == "waitlist"
    assert "1 request is on this service's waitlist" in refused.value.message


def test_another_posts_service_is_not_found_and_not_changed(quito_officer, lima):
    service = make_service(post=lima, slug="visas")
    url = f"/staff/rounds/services/{service.pk}/settings/"
    assert quito_officer.get(url).status_code == 404
    assert quito_officer.post(url, settings_data()).status_code == 404
    assert quito_officer.get(f"/staff/rounds/services/{service.pk}/").status_code == 404
    assert quito_officer.get(f"/staff/waitlist/{service.pk}/").status_code == 404
    service.refresh_from_db()
    assert service.release_mode == ReleaseMode.FIRST_COME


def test_the_front_desk_cannot_open_the_pages(staff_member, verified_client, lima):
    roles_sync()
    desk = verified_client(staff_member("desk", groups=[roles.FRONT_DESK]))
    service = make_service(post=lima, slug="visas")
    for path in (
        "/staff/rounds/",
        f"/staff/rounds/services/{service.pk}/",
        f"/staff/rounds/services/{service.pk}/settings/",
        "/staff/waitlist/",
        f"/staff/waitlist/{service.pk}/",
    ):
        assert desk.get(path).status_code == 403, path


def test_the_menu_has_rounds_and_waitlist_for_officers(officer):
    page = text(officer.get("/staff/"))
    assert 'href="/staff/rounds/"' in page and 'href="/staff/waitlist/"' in page


# Demand against supply, and the draw's log ------------------------------------------------


@pytest.fixture
def drawn(lima):
    """A round of a two-seat service with four families of two drawn: 8 people, 192 seats."""
    service = round_helpers.round_service(lima)
    round_ = round_helpers.open_round(service)
    for n in range(4):
        round_helpers.request(round_, [2 * n, 2 * n + 1])
    rounds.round_draw(round_id=round_.pk, now=round_helpers.AFTER_CLOSE)
    return service, round_


def test_demand_against_supply_as_a_chart_and_a_table(officer, drawn):
    service, round_ = drawn
    page = text(officer.get(f"/staff/rounds/services/{service.pk}/"))
    assert '<svg xmlns="http://www.w3.org/2000/svg" role="img"' in page
    assert '<title id="demand-title">' in page and 'id="demand-desc"' in page
    cells = re.findall(r"<td>([^<]*)</td>", page)
    assert cells[:5] == ["4", "8", "192", "8", "100.0 %"]
    assert "Round opened 11 Jan 2027" in page  # the chart's description of the category
    assert f'href="/staff/rounds/{round_.pk}/log/"' in page


def test_the_draws_log_links_the_public_round_page(officer, drawn, quito_officer):
    _service, round_ = drawn
    url = f"/staff/rounds/{round_.pk}/log/"
    page = text(officer.get(url))
    assert page.index("acs.round.opened") < page.index("acs.round.drawn")
    assert "4 requests (8 people) for 192 seats" in page
    assert round_.commitment in page
    assert f'href="/en/lima/appointments/rounds/{round_.token}/"' in page
    assert quito_officer.get(url).status_code == 404


def test_the_figures_page_keeps_to_a_few_queries(officer, drawn, django_assert_max_num_queries):
    service, _round = drawn
    for n in range(3):
        round_ = round_helpers.open_round(service, round_helpers.OPENS_AT + timedelta(weeks=n + 1))
        rounds.round_draw(round_id=round_.pk, now=round_.closes_at + timedelta(minutes=1))
    with django_assert_max_num_queries(12):
        assert officer.get(f"/staff/rounds/services/{service.pk}/").status_code == 200


# The waitlist -------------------------------------------------------------------------------


def test_the_waitlist_shows_who_waits_and_the_offer_and_each_look_is_audited(
    officer, officer_creds, lima
):
    service = waitlist_helpers.full_service(lima)
    first = waitlist_helpers.waiting(service, 1)
    waitlist_helpers.waiting(service, 2, now=waitlist_helpers.NOW + timedelta(minutes=5))
    seat = Booking.objects.filter(service=service).order_by("starts_at").first()
    booking_cancel(booking=seat, now=waitlist_helpers.NOW)
    assert offers_make(service=service, now=waitlist_helpers.NOW) == 1
    overview = text(officer.get("/staff/waitlist/"))
    assert "Who waits" in overview
    url = f"/staff/waitlist/{service.pk}/"
    for look in (1, 2):
        page = text(officer.get(url))
        assert page.index(first.people.get().full_name) < page.index("waiting2@example.org")
        assert "held until" in page and "2 requests wait" in page
        views = AuditEntry.objects.filter(action="acs.waitlist.viewed")
        assert views.count() == look
    entry = views.last()
    assert entry.actor == officer_creds.user and entry.post == lima
    assert "rows=2" in entry.summary
