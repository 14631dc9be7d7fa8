"""The capacity pages: services with their hours, holidays and closures; a change that leaves
bookings out (fewer seats, shorter hours, another duration) lists them and saves only once
the officer confirms, the bookings staying booked; every save is audited with before and
after; the front desk cannot open them."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

import pytest

from acs.appointments.constants import AUDIT_SERVICE_CAPACITY_CHANGED, BookingStatus
from acs.appointments.models import Booking, Service
from acs.appointments.services.capacity import (
    CapacityError,
    RuleData,
    service_capacity_update,
)
from acs.core.models import AuditEntry
from acs.staff import roles
from acs.staff.services import roles_sync
from tests.appointments.factories import make_service
from tests.staff.test_closures import at, book, close, open_day

pytestmark = pytest.mark.django_db


@pytest.fixture
def day(lima) -> date:
    return open_day(lima, 3)


@pytest.fixture
def world(lima, day):
    """Passports: 2 seats, 30 minutes, 09:00–11:00 every day; the 09:00 slot full with two
    bookings, and one booking at 10:30."""
    service = make_service(post=lima, slug="passports", seats=2, duration=30)
    return {
        "service": service,
        "nine_a": book(service, at(lima, day, 9, 0), "a@example.org"),
        "nine_b": book(service, at(lima, day, 9, 0), "b@example.org"),
        "half_ten": book(service, at(lima, day, 10, 30), "c@example.org"),
    }


@pytest.fixture
def officer_creds(staff_member):
    roles_sync()
    return staff_member("officer", groups=[roles.CONSULAR_OFFICER])


@pytest.fixture
def officer(officer_creds, verified_client):
    return verified_client(officer_creds)


def edit_data(*, seats=2, duration=30, opens="09:00", closes="11:00", rules=None) -> dict:
    rules = rules if rules is not None else [(day, opens, closes) for day in range(7)]
    data = {
        "seats_per_slot": str(seats),
        "duration_minutes": str(duration),
        "horizon_days": "60",
        "min_notice_hours": "0",
        "rules-TOTAL_FORMS": str(len(rules)),
        "rules-INITIAL_FORMS": "0",
        "rules-MIN_NUM_FORMS": "0",
        "rules-MAX_NUM_FORMS": "1000",
    }
    for index, (weekday, start, end) in enumerate(rules):
        data |= {
            f"rules-{index}-weekday": str(weekday),
            f"rules-{index}-opens": start,
            f"rules-{index}-closes": end,
        }
    return data


def edit_url(service: Service) -> str:
    return f"/staff/capacity/{service.pk}/"


def hidden_fields(page: str) -> list[tuple[str, str]]:
    """What the confirmation form sends back, as a browser would."""
    form = page[page.index('<form class="usa-form usa-form--large" method="post"') :]
    pairs = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form)
    return [(name, html.unescape(value)) for name, value in pairs]


def confirm(client, service, page: str):
    data: dict[str, list[str]] = {}
    for name, value in hidden_fields(page):
        data.setdefault(name, []).append(value)
    return client.post(edit_url(service), {**data, "step": "confirm"})


def capacity_entries():
    return AuditEntry.objects.filter(action=AUDIT_SERVICE_CAPACITY_CHANGED)


# The overview -----------------------------------------------------------------------------


def test_the_capacity_page_shows_services_hours_holidays_and_closures(
    officer, officer_creds, world, lima, day
):
    close(lima, at(lima, day, 14, 0), who=officer_creds.user)
    page = officer.get("/staff/capacity/").content.decode()
    assert "Test service" in page
    assert "Monday 09:00–11:00" in page
    assert "30 minutes" in page
    assert edit_url(world["service"]) in page
    assert "Christmas Day" in page  # within the next twelve months, whenever this runs
    assert "A demonstration blocks the street." in page
    assert ">officer<" in page  # who made the closure


# Changes that leave bookings out ------------------------------------------------------------


def test_fewer_seats_lists_the_bookings_that_no_longer_fit_then_saves_audited(officer, world):
    service = world["service"]
    response = officer.post(edit_url(service), edit_data(seats=1))
    assert response.status_code == 200
    page = response.content.decode()
    assert "2 bookings would no longer fit" in page
    assert world["nine_a"].code in page and world["nine_b"].code in page
    assert world["half_ten"].code not in page
    assert "2 people are booked at this time for 1 place." in page
    service.refresh_from_db()
    assert service.seats_per_slot == 2  # nothing saved before the confirmation
    assert not capacity_entries().exists()

    saved = confirm(officer, service, page)
    assert saved.status_code == 302
    service.refresh_from_db()
    assert service.seats_per_slot == 1
    assert Booking.objects.filter(status=BookingStatus.BOOKED).count() == 3  # all kept
    (entry,) = capacity_entries()
    assert entry.actor.username == "officer"
    assert entry.object_id == str(service.pk)
    assert entry.changes["seats_per_slot"] == [2, 1]
    assert set(entry.changes["bookings_not_fitting"][1].split()) == {
        world["nine_a"].code,
        world["nine_b"].code,
    }
    # The service's page keeps listing them until staff have dealt with them.
    edit = officer.get(saved["Location"]).content.decode()
    assert "2 bookings do not fit the current settings" in edit
    assert "no longer fit and stay booked" in edit


def test_shorter_hours_list_the_booking_left_outside(officer, world):
    service = world["service"]
    response = officer.post(edit_url(service), edit_data(closes="10:30"))
    page = response.content.decode()
    assert response.status_code == 200
    assert world["half_ten"].code in page
    assert "Outside the new opening hours." in page
    assert world["nine_a"].code not in page

    assert confirm(officer, service, page).status_code == 302
    (entry,) = capacity_entries()
    before, after = entry.changes["opening_rules"]
    assert "Mon 09:00–11:00" in before and "Mon 09:00–10:30" in after
    assert service.opening_rules.filter(closes="10:30").count() == 7


def test_a_new_duration_lists_bookings_off_the_new_slots(officer, world):
    # Open longer, so 10:30–11:30 is inside the hours; but hour-long slots start on the hour.
    response = officer.post(edit_url(world["service"]), edit_data(duration=60, closes="12:00"))
    page = response.content.decode()
    assert world["half_ten"].code in page
    assert "Not at a start time of the new 60-minute slots." in page
    assert world["nine_a"].code not in page  # 09:00 is still a start, with room for two


def test_a_confirmation_that_missed_a_booking_is_asked_again(officer, world, lima, day):
    service = world["service"]
    page = officer.post(edit_url(service), edit_data(seats=1)).content.decode()
    late = book(service, at(lima, day, 9, 30), "late@example.org")
    book(service, at(lima, day, 9, 30), "later@example.org")  # 09:30 is now over one seat
    again = confirm(officer, service, page)
    assert again.status_code == 200
    assert late.code in again.content.decode()
    service.refresh_from_db()
    assert service.seats_per_slot == 2
    assert not capacity_entries().exists()


# Changes that leave no one out --------------------------------------------------------------


def test_more_seats_save_at_once_with_their_audit_entry(officer, world):
    service = world["service"]
    response = officer.post(edit_url(service), edit_data(seats=3))
    assert response.status_code == 302
    service.refresh_from_db()
    assert service.seats_per_slot == 3
    (entry,) = capacity_entries()
    assert entry.changes == {"seats_per_slot": [2, 3]}
    assert "Saved." in officer.get(response["Location"]).content.decode()


def test_saving_what_is_there_changes_nothing(officer, world):
    response = officer.post(edit_url(world["service"]), edit_data())
    assert response.status_code == 302
    assert "Nothing changed." in officer.get(response["Location"]).content.decode()
    assert not capacity_entries().exists()


def test_the_edit_page_shows_the_current_settings(officer, world):
    page = officer.get(edit_url(world["service"])).content.decode()
    assert 'name="seats_per_slot" value="2"' in page
    assert 'name="rules-0-opens" value="09:00"' in page
    assert 'name="rules-TOTAL_FORMS" value="9"' in page  # seven rules and two empty rows


def test_rules_that_end_first_or_overlap_are_refused(officer, world):
    service = world["service"]
    backwards = officer.post(edit_url(service), edit_data(opens="11:00", closes="09:00"))
    assert backwards.status_code == 400
    page = backwards.content.decode()
    assert "Opening rule 1, Until: The opening must end after it starts." in page
    assert 'aria-invalid="true"' in page and 'role="alert"' in page
    overlap = officer.post(
        edit_url(service), edit_data(rules=[(0, "09:00", "11:00"), (0, "10:00", "12:00")])
    )
    assert overlap.status_code == 400
    assert "Opening rules of the same weekday overlap." in overlap.content.decode()
    assert not capacity_entries().exists()


def test_the_service_refuses_an_unconfirmed_reduction(world, officer_creds):
    service = world["service"]
    rules = [
        RuleData(rule.weekday, rule.opens, rule.closes) for rule in service.opening_rules.all()
    ]
    values = {
        "service": service,
        "seats_per_slot": 1,
        "duration_minutes": 30,
        "horizon_days": 60,
        "min_notice_hours": 0,
        "rules": rules,
        "actor": officer_creds.user,
    }
    with pytest.raises(CapacityError) as refused:
        service_capacity_update(**values, confirmed=[world["nine_a"].pk])
    assert refused.value.code == "unconfirmed"
    assert {m.booking.pk for m in refused.value.misfits} == {
        world["nine_a"].pk,
        world["nine_b"].pk,
    }
    result = service_capacity_update(**values, confirmed=[world["nine_a"].pk, world["nine_b"].pk])
    assert result.changed and len(result.misfits) == 2


def test_only_future_bookings_count_as_not_fitting(world, officer_creds):
    Booking.objects.filter(pk=world["half_ten"].pk).update(
        starts_at=world["half_ten"].starts_at - timedelta(days=30)
    )
    future = [world["nine_a"].pk, world["nine_b"].pk]
    result = service_capacity_update(
        service=world["service"],
        seats_per_slot=2,
        duration_minutes=30,
        horizon_days=60,
        min_notice_hours=0,
        rules=[],  # no opening hours at all: every future booking is outside them
        actor=officer_creds.user,
        confirmed=future,
    )
    assert [misfit.booking.pk for misfit in result.misfits] == future
    assert {misfit.reason for misfit in result.misfits} == {"hours"}


# Who may ----------------------------------------------------------------------------------


def test_the_front_desk_cannot_open_the_capacity_pages(staff_member, verified_client, world):
    roles_sync()
    desk = verified_client(staff_member("desk", groups=[roles.FRONT_DESK]))
    assert desk.get("/staff/capacity/").status_code == 403
    assert desk.get(edit_url(world["service"])).status_code == 403
    assert desk.post(edit_url(world["service"]), edit_data(seats=9)).status_code == 403
    world["service"].refresh_from_db()
    assert world["service"].seats_per_slot == 2
