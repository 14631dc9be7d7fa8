"""A booking's whole story on its staff page, the door's last answer on the day page, and the
door's log of unknown codes, as staff read them in English and Spanish.

The citizen's steps go through the API and the manage pages at the real time; the clock is then
moved (``django.utils.timezone.now``) to the appointment's day, where the door's scans happen
through the door's own page, and staff sign in there.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from acs.appointments.constants import BookingStatus
from acs.appointments.models import Booking
from acs.appointments.services import booking_cancel, booking_create
from acs.appointments.services.door import checkin_perform
from acs.core import clock
from acs.core.constants import ActorKind
from acs.core.models import AuditEntry
from acs.staff import roles
from acs.staff.services import roles_sync
from tests.api.helpers import booking_body, post_json, service_create, slot_keys
from tests.appointments.factories import make_service, person
from tests.core.outbox import hold_emails

pytestmark = pytest.mark.django_db

STORY = "acs-story"
LOG = "/staff/door/log/"
# Lima, UTC−05:00 all year: Tuesday 12 January 2027.
TUESDAY = date(2027, 1, 12)
BOOKED_AT = datetime(2027, 1, 1, 12, 0, tzinfo=UTC)


def lima_at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC) + timedelta(hours=5)


@pytest.fixture(autouse=True)
def _emails_held(monkeypatch):
    hold_emails(monkeypatch)


@pytest.fixture(autouse=True)
def _cheap_proof_of_work(settings):
    settings.ACS_POW_ENABLED = True
    settings.ACS_POW_MAX_NUMBER = 500


@pytest.fixture
def staff(staff_member, verified_client):
    """``staff(role, name)``: a client signed in with one role at Lima, reading ``language``;
    its account is ``client.account``."""
    roles_sync()

    def make(role: str, name: str, language: str = "en"):
        creds = staff_member(name, groups=[role])
        client = verified_client(creds)
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
        client.account = creds.user
        return client

    return make


def plain(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def story_rows(page: str) -> list[str]:
    """The story table's rows as plain text, newest first."""
    table = page.split(f"{STORY}", 1)[1].split("</table>", 1)[0]
    return [plain(row) for row in table.split('<tr class="acs-story__line')[1:]]


def moment(post, instant: datetime) -> str:
    """How the story writes an instant: the post's wall clock, then the zone."""
    local = clock.local(post, instant)
    return f"{local:%Y-%m-%d %H:%M:%S} {clock.zone_short(local)}"


def manage_url(name: str, token: str) -> str:
    with translation.override("en"):
        return reverse(f"appointments:{name}", kwargs={"token": token})


TEXTS = {
    "en": {
        "api": "Booked through the API",
        "moved": "Moved to another time",
        "cancelled": "Cancelled",
        "door_cancelled": "Not admitted: cancelled",
        "early": "Early: asked to come back",
        "late": "Not admitted: late",
        "pages": "Booked through the booking pages",
        "viewed": "Viewed by staff",
        "citizen": "Citizen",
        "door": "At the door: desk",
        "status": "Booked → Refused: late",
    },
    "es": {
        "api": "Reservada a través de la API",
        "moved": "Cambiada a otro horario",
        "cancelled": "Cancelada",
        "door_cancelled": "No admitido: cita cancelada",
        "early": "Temprano: se le pidió volver",
        "late": "No admitido: llegó tarde",
        "pages": "Reservada en las páginas de citas",
        "viewed": "Vista por el personal",
        "citizen": "Ciudadano",
        "door": "En la entrada: desk",
        "status": "Reservada → Rechazada: llegó tarde",
    },
}


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_booking_page_tells_the_whole_story(client, lima, staff, monkeypatch, language):
    words = TEXTS[language]
    service = service_create(lima)
    first, later = (
        slot_keys(client, service.slug)[0],
        slot_keys(client, service.slug, day_index=2)[0],
    )

    # The citizen books through the API, then moves and cancels on the manage pages.
    made = post_json(client, booking_body(client, service=service.slug, start=first))
    assert made.status_code == 201, made.content
    booking = Booking.objects.get(code=made.json()["code"])
    assert client.post(manage_url("reschedule", booking.token), {"slot": later}).status_code == 302
    assert client.post(manage_url("cancel", booking.token)).status_code == 302
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    # The citizen's own page shows nothing of the story.
    manage = client.get(manage_url("manage", booking.token)).content.decode()
    assert "acs.booking.created" not in manage and words["api"] not in manage

    # On the appointment's day, 20 minutes after its start, it is scanned at the door.
    scanned_at = booking.starts_at + timedelta(minutes=20)
    monkeypatch.setattr("django.utils.timezone.now", lambda: scanned_at)
    desk = staff(roles.FRONT_DESK, "desk", language)
    answer = desk.post("/staff/door/check/", {"code": booking.code})
    assert answer.status_code == 200

    officer = staff(roles.CONSULAR_OFFICER, "officer", language)
    rows = story_rows(officer.get(f"/staff/bookings/{booking.pk}/").content.decode())
    # The look and the scan happen at the same frozen instant: the later entry is listed first.
    entries = list(
        AuditEntry.objects.filter(object_id=str(booking.pk)).order_by("-created_at", "-id")
    )
    assert [entry.action for entry in entries] == [
        "acs.booking.viewed",
        "acs.checkin.refused_cancelled",
        "acs.booking.cancelled",
        "acs.booking.rescheduled",
        "acs.booking.created",
    ]
    viewed, door, cancelled, moved, created = rows
    assert words["viewed"] in viewed and "officer" in viewed
    assert words["door_cancelled"] in door and words["door"] in door
    assert moment(lima, scanned_at) in door
    assert words["cancelled"] in cancelled and words["citizen"] in cancelled
    assert words["moved"] in moved and words["citizen"] in moved
    # The move names both times on the post's clock, with the zone.
    old = clock.local(lima, datetime.strptime(first, "%Y-%m-%dT%H:%MZ").replace(tzinfo=UTC))
    new = clock.local(lima, booking.starts_at)
    assert f"{old:%Y-%m-%d %H:%M} UTC−05:00 → {new:%Y-%m-%d %H:%M} UTC−05:00" in moved
    assert words["api"] in created and words["citizen"] in created
    for row, entry in zip(rows, entries, strict=True):
        assert moment(lima, entry.created_at) in row


@pytest.mark.parametrize("language", ["en", "es"])
def test_refusals_and_early_are_each_a_line_with_the_status_change(lima, staff, language):
    words = TEXTS[language]
    service = make_service(post=lima, opens=time(8), closes=time(12))
    booking = booking_create(
        service=service,
        starts_at=lima_at(TUESDAY, 9),
        people=[person(1)],
        email="ana@example.org",
        phone="+51 1 000 0000",
        now=BOOKED_AT,
    )
    desk_account = staff(roles.FRONT_DESK, "desk").account
    early = checkin_perform(
        post=lima, code=booking.code, actor=desk_account, now=lima_at(TUESDAY, 8, 10)
    )
    late = checkin_perform(
        post=lima, code=booking.code, actor=desk_account, now=lima_at(TUESDAY, 9, 20)
    )
    assert (early.code, late.code) == ("early", "late")

    officer = staff(roles.CONSULAR_OFFICER, "officer", language)
    # Newest first by the time of each change: this look (at the real time) is the oldest.
    refused, came_early, created, _viewed = story_rows(
        officer.get(f"/staff/bookings/{booking.pk}/").content.decode()
    )
    assert words["late"] in refused and words["door"] in refused
    assert "2027-01-12 09:20:00 UTC−05:00" in refused
    assert words["status"] in refused
    assert words["early"] in came_early and "2027-01-12 08:10:00 UTC−05:00" in came_early
    assert words["pages"] in created and "2027-01-01 07:00:00 UTC−05:00" in created


def test_a_daylight_saving_post_names_its_zone_abbreviation(new_york, staff, staff_member):
    service = make_service(post=new_york, opens=time(8), closes=time(12))
    monday = datetime(2027, 3, 15, 13, 0, tzinfo=UTC)  # 09:00 EDT
    booking = booking_create(
        service=service,
        starts_at=monday,
        people=[person(2)],
        email="bo@example.org",
        phone="+1 202 000 0000",
        now=datetime(2027, 3, 1, 12, 0, tzinfo=UTC),  # 07:00 EST
    )
    roles_sync()
    reader = staff_member("reader", groups=[roles.CONSULAR_OFFICER], post=new_york)
    checkin_perform(post=new_york, code=booking.code, actor=reader.user, now=monday)
    entries = AuditEntry.objects.filter(object_id=str(booking.pk)).order_by("created_at")
    assert [moment(new_york, entry.created_at) for entry in entries] == [
        "2027-03-01 07:00:00 EST",
        "2027-03-15 09:00:00 EDT",
    ]


# Who: citizens, staff, the door ---------------------------------------------------------------


def test_citizen_and_staff_changes_say_who_made_them(lima, staff_member):
    service = make_service(post=lima, opens=time(8), closes=time(12))
    citizen = booking_create(
        service=service,
        starts_at=lima_at(TUESDAY, 9),
        people=[person(3)],
        email="c@example.org",
        phone="1",
        now=BOOKED_AT,
    )
    by_staff = booking_create(
        service=service,
        starts_at=lima_at(TUESDAY, 10),
        people=[person(4)],
        email="s@example.org",
        phone="1",
        now=BOOKED_AT,
    )
    officer = staff_member("officer").user
    booking_cancel(booking=citizen, now=BOOKED_AT)
    booking_cancel(booking=by_staff, now=BOOKED_AT, actor=officer)
    booking_cancel(booking=by_staff, now=BOOKED_AT, actor=officer)  # twice: recorded once

    mine = AuditEntry.objects.get(object_id=str(citizen.pk), action="acs.booking.cancelled")
    assert (mine.kind, mine.actor, mine.actor_name) == (ActorKind.CITIZEN, None, "citizen")
    theirs = AuditEntry.objects.get(object_id=str(by_staff.pk), action="acs.booking.cancelled")
    assert (theirs.kind, theirs.actor) == (ActorKind.STAFF, officer)
    assert theirs.changes["status"] == ["booked", "cancelled"]
    assert theirs.created_at == BOOKED_AT and theirs.post == lima


def test_entries_written_before_kinds_were_recorded_read_as_staff_or_system(lima):
    old = AuditEntry(actor_name="system", action="acs.booking.no_show")
    assert old.kind == ActorKind.SYSTEM
    old.actor_id = 1
    assert old.kind == ActorKind.STAFF


# The booking path pays one INSERT, and the door stays a few queries --------------------------


def test_booking_adds_one_insert_and_no_read(lima):
    service = make_service(post=lima, opens=time(8), closes=time(12))
    service = type(service).objects.select_related("post").get(pk=service.pk)
    with CaptureQueriesContext(connection) as queries:
        booking = booking_create(
            service=service,
            starts_at=lima_at(TUESDAY, 9),
            people=[person(5)],
            email="d@example.org",
            phone="1",
            now=BOOKED_AT,
        )
    audit = [q["sql"] for q in queries if "core_auditentry" in q["sql"]]
    assert len(audit) == 1 and audit[0].lstrip().upper().startswith("INSERT")
    # The slot's lock share-locks the post's row (PostgreSQL); nothing reads the post itself.
    reads = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith("SELECT")]
    assert not [sql for sql in reads if 'FROM "posts_post"' in sql]
    entry = AuditEntry.objects.get(object_id=str(booking.pk))
    assert (entry.action, entry.kind, entry.changes["channel"]) == (
        "acs.booking.created",
        ActorKind.CITIZEN,
        "pages",
    )


def _statements(queries) -> list[str]:
    """The SQL a block ran, less the savepoints of the test's own transaction."""
    return [
        query["sql"].lstrip().split()[0].upper()
        for query in queries
        if "SAVEPOINT" not in query["sql"].upper()
    ]


def test_a_refused_scan_is_one_read_and_one_insert(lima, staff_member):
    service = make_service(post=lima, opens=time(8), closes=time(12))
    booking = booking_create(
        service=service,
        starts_at=lima_at(TUESDAY, 9),
        people=[person(6)],
        email="e@example.org",
        phone="1",
        now=BOOKED_AT,
    )
    guard = staff_member("guard").user
    for code in (booking.code, "ZZZZ-ZZZZ"):
        with CaptureQueriesContext(connection) as queries:
            checkin_perform(post=lima, code=code, actor=guard, now=lima_at(TUESDAY, 7))
        assert _statements(queries) == ["SELECT", "INSERT"], code


# The day page: the last door answer per booking ----------------------------------------------


@pytest.mark.parametrize(
    ("language", "answers"),
    [
        ("en", ["Admitted at 08:50", "Early: asked to come back at 08:15", "Not scanned"]),
        (
            "es",
            ["Admitido a las 08:50", "Temprano: se le pidió volver a las 08:15", "Sin escanear"],
        ),
    ],
)
def test_the_day_page_shows_each_bookings_last_door_answer(lima, staff, language, answers):
    service = make_service(post=lima, seats=4, opens=time(8), closes=time(12))
    bookings = [
        booking_create(
            service=service,
            starts_at=lima_at(TUESDAY, 9),
            people=[person(10 + number)],
            email=f"p{number}@example.org",
            phone="1",
            now=BOOKED_AT,
        )
        for number in range(3)
    ]
    desk = staff(roles.FRONT_DESK, "desk", language)
    guard = desk.account
    admitted, early, _untouched = bookings
    checkin_perform(post=lima, code=admitted.code, actor=guard, now=lima_at(TUESDAY, 8, 10))
    checkin_perform(post=lima, code=admitted.code, actor=guard, now=lima_at(TUESDAY, 8, 50))
    checkin_perform(post=lima, code=early.code, actor=guard, now=lima_at(TUESDAY, 8, 15))

    page = desk.get("/staff/day/", {"date": TUESDAY.isoformat()}).content.decode()
    cells = [
        plain(cell)
        for cell in re.findall(r'data-label="[^"]+">(<span class="acs-door-answer.*?)</td>', page)
    ]
    by_code = dict(
        zip(re.findall(r'href="/staff/bookings/\d+/">([A-Z0-9-]+)<', page), cells, strict=True)
    )
    assert [by_code[b.code] for b in bookings] == answers


# The door's log -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "empty"),
    [
        ("en", "No unknown code was scanned at the door on this day."),
        ("es", "Ningún código desconocido se escaneó en la entrada este día."),
    ],
)
def test_unknown_codes_are_in_the_doors_log_for_their_day_only(lima, staff, language, empty):
    service = make_service(post=lima, opens=time(8), closes=time(12))
    real = booking_create(
        service=service,
        starts_at=lima_at(TUESDAY, 9),
        people=[person(20)],
        email="f@example.org",
        phone="1",
        now=BOOKED_AT,
    )
    desk = staff(roles.FRONT_DESK, "desk", language)
    guard = desk.account
    # 23:50 on Tuesday in Lima is already Wednesday in UTC: it belongs to Tuesday's log.
    checkin_perform(post=lima, code="wxyz 2345", actor=guard, now=lima_at(TUESDAY, 23, 50))
    checkin_perform(post=lima, code="HELLO", actor=guard, now=lima_at(TUESDAY, 8, 5))
    checkin_perform(post=lima, code=real.code, actor=guard, now=lima_at(TUESDAY, 7))  # early

    tuesday = desk.get(LOG, {"date": TUESDAY.isoformat()})
    assert tuesday.status_code == 200
    rows = [plain(row) for row in tuesday.content.decode().split("<tbody>")[1].split("<tr>")[1:]]
    assert len(rows) == 2
    assert "08:05:00 UTC−05:00" in rows[0] and "HELLO" in rows[0] and "desk" in rows[0]
    assert "23:50:00 UTC−05:00" in rows[1] and "WXYZ-2345" in rows[1]
    assert real.code not in tuesday.content.decode()  # a real booking's refusal is on its page
    wednesday = desk.get(LOG, {"date": (TUESDAY + timedelta(days=1)).isoformat()})
    assert empty in html.unescape(wednesday.content.decode())
    assert "WXYZ-2345" not in wednesday.content.decode()
    looks = AuditEntry.objects.filter(action="acs.door.log_viewed").order_by("id")
    assert [entry.summary for entry in looks] == [
        "date=2027-01-12 rows=2",
        "date=2027-01-13 rows=0",
    ]
    assert {entry.actor.username for entry in looks} == {"desk"}


def test_staff_without_the_door_permission_cannot_read_its_log(
    lima, staff, staff_member, verified_client
):
    guard = staff(roles.FRONT_DESK, "desk")
    checkin_perform(post=lima, code="QQQQ-QQQQ", actor=guard.account, now=timezone.now())
    assert "QQQQ-QQQQ" in guard.get(LOG).content.decode()
    outsider = staff_member("day-only", permissions=["appointments.view_day"])
    browser = verified_client(outsider)
    assert browser.get("/staff/day/").status_code == 200
    response = browser.get(LOG)
    assert response.status_code == 403
    assert "QQQQ-QQQQ" not in response.content.decode()
    assert not AuditEntry.objects.filter(action="acs.door.log_viewed", actor=outsider.user)
