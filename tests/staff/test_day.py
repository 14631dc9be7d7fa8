"""The day for staff: the list by local time, its filters, CSV and PDF, one booking's page,
and the audit entry each of them writes.

Staff sign in through the real login form with a TOTP code, and hold one role's group.
Bookings are made through ``booking_create`` on Wednesday 13 January 2027 in Lima (UTC−5,
no daylight saving), so that a booking at 23:30 local time falls on the next UTC day.
"""

from __future__ import annotations

import csv
import html
import io
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_otp.oath import totp

from acs.appointments import selectors
from acs.appointments.constants import BookingStatus
from acs.appointments.models import Booking
from acs.appointments.services import PersonData, booking_cancel, booking_create
from acs.core.audit import audit_record
from acs.core.clock import long_date
from acs.core.models import AuditEntry
from acs.staff import roles
from acs.staff.services import roles_sync, staff_user_create
from tests.appointments.factories import make_service, person
from tests.staff.conftest import roles_give

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)
WEDNESDAY = date(2027, 1, 13)
LOGIN = "/staff/admin/login/"
DAY = "/staff/day/"
DAY_CSV = "/staff/day.csv"
DAY_PDF = "/staff/day.pdf"
VIEW_ACTIONS = ["acs.day.viewed", "acs.day.exported", "acs.day.exported_pdf", "acs.booking.viewed"]


@pytest.fixture(autouse=True)
def _no_emails(monkeypatch):
    monkeypatch.setattr(
        "acs.appointments.tasks.send_booking_email.apply_async", lambda *args, **kwargs: None
    )


# Signing in -----------------------------------------------------------------------------------


def _current_code(creds) -> str:
    device = creds.user.totpdevice_set.get()
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


@pytest.fixture
def sign_in(client, lima):
    """``sign_in(role)``: a staff account in that role's group, signed in with password and
    TOTP through the login form; the client is returned with the account on it."""
    roles_sync()

    def sign_in_as(role: str, username: str = "staffer"):
        creds = staff_user_create(username=username, email=f"{username}@example.org")
        roles_give(creds.user, [role])
        response = client.post(
            LOGIN,
            {
                "username": username,
                "password": creds.password,
                "otp_token": _current_code(creds),
                "next": DAY,
            },
        )
        assert response.status_code == 302, "sign-in failed"
        client.user = creds.user
        return client

    return sign_in_as


@pytest.fixture
def officer(sign_in):
    return sign_in(roles.CONSULAR_OFFICER, "officer")


@pytest.fixture
def front_desk(sign_in):
    return sign_in(roles.FRONT_DESK, "desk")


# Bookings -------------------------------------------------------------------------------------


@pytest.fixture
def services(lima):
    return {
        "morning": make_service(post=lima, slug="passport", seats=60, max_people=4),
        # 22:00–23:59 in 15-minute slots: the last one starts at 23:30 Lima time.
        "evening": make_service(
            post=lima, slug="notary", duration=15, opens=time(22), closes=time(23, 59)
        ),
    }


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    """A Lima wall-clock time as the UTC instant ``booking_create`` takes."""
    return datetime.combine(day, time(hour, minute), tzinfo=UTC) + timedelta(hours=5)


def book(service, starts_at, people, *, email="family@example.org") -> Booking:
    return booking_create(
        service=service,
        starts_at=starts_at,
        people=people,
        email=email,
        phone="+51987654321",
        now=NOW,
    )


@pytest.fixture
def bookings(services):
    ana = PersonData(full_name="Ana Núñez", date_of_birth=date(1985, 3, 4), passport_number="P1")
    luis = PersonData(full_name="Luis Núñez", date_of_birth=date(2015, 6, 7))
    return {
        "morning": book(services["morning"], _at(WEDNESDAY, 9, 30), [ana, luis]),
        "late": book(
            services["evening"], _at(WEDNESDAY, 23, 30), [person(2)], email="late@example.org"
        ),
        # 23:30 on Tuesday in Lima is already Wednesday in UTC: not on Wednesday's list.
        "tuesday": book(
            services["evening"], _at(WEDNESDAY - timedelta(days=1), 23, 30), [person(3)]
        ),
        "thursday": book(services["morning"], _at(WEDNESDAY + timedelta(days=1), 9), [person(4)]),
    }


def page(client, path=DAY, **params) -> str:
    response = client.get(path, {"date": WEDNESDAY.isoformat(), **params})
    assert response.status_code == 200
    return html.unescape(response.content.decode())


# The day --------------------------------------------------------------------------------------


def test_the_day_lists_that_local_dates_bookings_in_local_time(officer, bookings):
    assert bookings["late"].starts_at == datetime(2027, 1, 14, 4, 30, tzinfo=UTC)
    assert bookings["tuesday"].starts_at.date() == WEDNESDAY  # UTC date: a trap
    text = page(officer)
    assert bookings["morning"].code in text
    assert bookings["late"].code in text
    assert bookings["tuesday"].code not in text
    assert bookings["thursday"].code not in text
    # By time, on the post's clock, with the zone in the caption.
    assert text.index("09:30") < text.index("23:30")
    assert text.index(bookings["morning"].code) < text.index(bookings["late"].code)
    assert "Lima time (UTC−05:00)" in text
    assert "Ana Núñez" in text and "Luis Núñez" in text
    assert "(2 people)" in text
    assert "Test service" in text
    assert "Booked" in text
    assert f"/staff/bookings/{bookings['morning'].pk}/" in text
    assert long_date(WEDNESDAY) in text


def test_the_day_counts_each_status_and_links_other_days(officer, bookings):
    booking_cancel(booking=bookings["late"], now=NOW)
    text = page(officer)
    counts = selectors.day_status_counts(post=bookings["morning"].post, day=WEDNESDAY)
    assert counts == {
        BookingStatus.BOOKED: {"bookings": 1, "people": 2},
        BookingStatus.CANCELLED: {"bookings": 1, "people": 1},
    }
    assert "date=2027-01-12" in text and "date=2027-01-14" in text
    assert 'rel="prev"' in text and 'rel="next"' in text
    assert "2 appointments shown" in text


def test_the_date_form_works_without_scripts(officer, bookings):
    response = officer.get(DAY, {"date": "2027-01-14"})
    text = response.content.decode()
    assert 'type="date"' in text and 'value="2027-01-14"' in text
    assert bookings["thursday"].code in text
    assert bookings["morning"].code not in text


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"status": "cancelled"}, {"late"}),
        ({"status": "booked"}, {"morning"}),
        ({"service": "evening"}, {"late"}),
        ({"q": "luis"}, {"morning"}),
        ({"q": "Núñez"}, {"morning"}),
        ({"q": "late@example"}, {"late"}),
        ({"q": "nobody"}, set()),
        ({"status": "no-such-status"}, {"morning", "late"}),  # unknown means all
        ({"service": "999999"}, {"morning", "late"}),
    ],
)
def test_filters_narrow_the_list(officer, bookings, services, filters, expected):
    booking_cancel(booking=bookings["late"], now=NOW)
    if filters.get("service") in services:
        filters = {**filters, "service": str(services[filters["service"]].pk)}
    text = page(officer, **filters)
    shown = {name for name in ("morning", "late") if bookings[name].code in text}
    assert shown == expected


def test_a_code_is_found_however_it_is_typed(officer, bookings):
    code = bookings["late"].code
    for typed in (code, code.replace("-", "").lower(), f" {code[:4]} {code[5:]} "):
        text = page(officer, q=typed)
        assert code in text and bookings["morning"].code not in text, typed


def test_a_bad_date_says_so_and_shows_today(officer, lima):
    text = page(officer, date="2027-02-30")
    assert "“2027-02-30” is not a date in the form YYYY-MM-DD. Showing today." in text
    today = timezone.now().astimezone(lima.zone).date()
    assert long_date(today) in text
    assert "is not a date" in page(officer, date="<script>")
    assert "&lt;script&gt;" in officer.get(DAY, {"date": "<script>"}).content.decode()


def test_each_view_of_the_day_is_audited_once(officer, bookings, lima):
    page(officer, status="booked", q="Ana")
    entries = AuditEntry.objects.filter(action="acs.day.viewed")
    assert entries.count() == 1
    entry = entries.get()
    assert entry.actor == officer.user
    assert entry.post == lima
    assert "date=2027-01-13" in entry.summary
    assert "status=booked" in entry.summary
    assert "search='Ana'" in entry.summary
    assert "rows=1" in entry.summary


def test_the_day_query_count_does_not_grow_with_the_bookings(
    officer, services, django_assert_max_num_queries
):
    service = services["morning"]
    for number in range(5):
        book(service, _at(WEDNESDAY, 9), [person(100 + number)], email=f"p{number}@example.org")
    with CaptureQueriesContext(connection) as five:
        page(officer)
    for number in range(5, 50):
        book(service, _at(WEDNESDAY, 9), [person(100 + number)], email=f"p{number}@example.org")
    assert len(five) <= 15  # a ceiling as well, so that a new query per page is noticed
    with django_assert_max_num_queries(len(five)):
        text = page(officer)
    assert text.count("Person Number1") == 50


# CSV and PDF ----------------------------------------------------------------------------------


def test_the_csv_has_a_header_and_the_same_rows(officer, bookings):
    response = officer.get(DAY_CSV, {"date": WEDNESDAY.isoformat()})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="acs-day-2027-01-13.csv"'
    assert response.content.startswith(b"\xef\xbb\xbf")  # Excel reads the accents
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == [
        "Date",
        "Time",
        "Time zone",
        "UTC offset",
        "Confirmation code",
        "People",
        "Names",
        "Service",
        "Status",
    ]
    assert rows[1] == [
        "2027-01-13",
        "09:30",
        "America/Lima",
        "-05:00",
        bookings["morning"].code,
        "2",
        "Ana Núñez; Luis Núñez",
        "Test service",
        "Booked",
    ]
    assert rows[2][1] == "23:30" and rows[2][4] == bookings["late"].code
    assert len(rows) == 3
    entry = AuditEntry.objects.get(action="acs.day.exported")
    assert entry.actor == officer.user and "rows=2" in entry.summary


def test_the_csv_keeps_filters_and_defuses_formulas(officer, services):
    hostile = PersonData(full_name="=HYPERLINK(1)", date_of_birth=date(1990, 1, 1))
    booking = book(services["morning"], _at(WEDNESDAY, 10), [hostile])
    book(services["evening"], _at(WEDNESDAY, 22), [person(9)])
    response = officer.get(DAY_CSV, {"date": "2027-01-13", "service": services["morning"].pk})
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [row[4] for row in rows[1:]] == [booking.code]
    assert rows[1][6] == "'=HYPERLINK(1)"


def test_the_pdf_day_sheet(officer, bookings):
    response = officer.get(DAY_PDF, {"date": WEDNESDAY.isoformat()})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert 'filename="acs-day-2027-01-13.pdf"' in response["Content-Disposition"]
    assert response.content.startswith(b"%PDF")
    entry = AuditEntry.objects.get(action="acs.day.exported_pdf")
    assert entry.actor == officer.user and "rows=2" in entry.summary


# One booking ----------------------------------------------------------------------------------


def test_the_booking_page_shows_people_contact_and_history(officer, bookings):
    booking = bookings["morning"]
    audit_record(
        actor=None,
        action="acs.booking.checked_in",
        target=booking,
        changes={"status": ["booked", "checked_in"]},
    )
    response = officer.get(f"/staff/bookings/{booking.pk}/")
    assert response.status_code == 200
    text = html.unescape(response.content.decode())
    assert booking.code in text
    assert "Ana Núñez" in text and "1985-03-04" in text and "P1" in text
    assert "Luis Núñez" in text and "2015-06-07" in text
    assert "family@example.org" in text and "+51987654321" in text
    assert "Wednesday, January 13, 2027, 09:30" in text
    assert "Lima time (UTC−05:00)" in text
    # The history: the earlier entry with its change (statuses in words), and this very view.
    assert "acs.booking.checked_in" in text and "Booked → Checked in" in text
    assert "acs.booking.viewed" in text
    viewed = AuditEntry.objects.get(action="acs.booking.viewed")
    assert viewed.actor == officer.user
    assert viewed.object_id == str(booking.pk) and viewed.post == booking.post
    # Not checked in: nothing to mark served.
    assert "Mark served" not in text


def test_mark_served_is_offered_once_checked_in_to_whoever_may(sign_in, bookings):
    booking = bookings["morning"]
    # The door's check-in service is not this page's concern: set the state directly.
    Booking.objects.filter(pk=booking.pk).update(status=BookingStatus.CHECKED_IN)
    desk = sign_in(roles.FRONT_DESK, "desk")
    assert "Mark served" not in desk.get(f"/staff/bookings/{booking.pk}/").content.decode()
    desk.logout()
    officer = sign_in(roles.CONSULAR_OFFICER, "officer")
    text = officer.get(f"/staff/bookings/{booking.pk}/").content.decode()
    assert "Mark served" in text
    assert f'action="/staff/bookings/{booking.pk}/served/"' in text


def test_an_unknown_booking_is_not_found(officer, bookings):
    assert officer.get("/staff/bookings/999999/").status_code == 404
    assert not AuditEntry.objects.filter(action="acs.booking.viewed").exists()


# Who may -------------------------------------------------------------------------------------


def test_front_desk_sees_the_day(front_desk, bookings):
    assert bookings["morning"].code in page(front_desk)


@pytest.mark.parametrize("path", [DAY, DAY_CSV, DAY_PDF, "/staff/bookings/{pk}/"])
def test_communications_may_not_see_the_day(sign_in, bookings, path):
    client = sign_in(roles.COMMUNICATIONS, "comms")
    response = client.get(path.format(pk=bookings["morning"].pk), {"date": "2027-01-13"})
    assert response.status_code == 403
    assert not AuditEntry.objects.filter(action__in=VIEW_ACTIONS).exists()


@pytest.mark.parametrize("path", [DAY, DAY_CSV, DAY_PDF, "/staff/bookings/1/"])
def test_anonymous_is_sent_to_sign_in(client, lima, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


# Time zones with daylight saving --------------------------------------------------------------


def test_a_local_day_is_23_or_25_hours_across_daylight_saving(new_york):
    spring_start, spring_end = selectors.local_day_bounds(new_york, date(2027, 3, 14))
    assert spring_start == datetime(2027, 3, 14, 5, 0, tzinfo=UTC)  # midnight EST
    assert spring_end - spring_start == timedelta(hours=23)
    autumn_start, autumn_end = selectors.local_day_bounds(new_york, date(2027, 11, 7))
    assert autumn_start == datetime(2027, 11, 7, 4, 0, tzinfo=UTC)  # midnight EDT
    assert autumn_end - autumn_start == timedelta(hours=25)


def test_the_day_on_a_daylight_saving_post(new_york):
    service = make_service(post=new_york, slug="night", opens=time(1), closes=time(4))
    day = date(2027, 3, 14)
    now = datetime(2027, 3, 1, tzinfo=UTC)
    early = booking_create(
        service=service,
        starts_at=datetime(2027, 3, 14, 6, 30, tzinfo=UTC),  # 01:30 EST
        people=[person(1)],
        email="a@example.org",
        phone="+12025550100",
        now=now,
    )
    later = booking_create(
        service=service,
        starts_at=datetime(2027, 3, 14, 7, 0, tzinfo=UTC),  # 03:00 EDT
        people=[person(2)],
        email="b@example.org",
        phone="+12025550100",
        now=now,
    )
    assert list(selectors.day_bookings(post=new_york, day=day)) == [early, later]
    assert list(selectors.day_bookings(post=new_york, day=day - timedelta(days=1))) == []


def test_rows_on_the_other_side_of_the_change_name_their_zone(officer, new_york):
    roles_give(officer.user, [roles.CONSULAR_OFFICER], new_york)
    assert officer.post("/staff/post/", {"post": new_york.slug}).status_code == 302
    service = make_service(post=new_york, slug="night", opens=time(1), closes=time(4))
    booking_create(
        service=service,
        starts_at=datetime(2027, 3, 14, 6, 30, tzinfo=UTC),  # 01:30 EST, before the change
        people=[person(1)],
        email="a@example.org",
        phone="+12025550100",
        now=datetime(2027, 3, 1, tzinfo=UTC),
    )
    text = html.unescape(officer.get(DAY, {"date": "2027-03-14"}).content.decode())
    assert "Times are New York time (EDT, UTC−04:00)." in text  # the working day's zone
    assert '01:30 <span class="acs-day-table__row-zone">(New York time (EST, UTC−05:00))' in text
