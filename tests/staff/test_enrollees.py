"""Traveler enrollment for staff: the counts per region on a day, the list with contact
details, its CSV, one enrollee's record, and the audit entry each of them writes.

Staff sign in through the real login form with a TOTP code. Trips are enrolled through
``trip_add`` around ``DAY``, ten days from today in Lima (the service refuses past trips).
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from acs.core.models import AuditEntry
from acs.enrollment import selectors
from acs.enrollment.constants import Channel, MessageKind
from acs.enrollment.models import (
    EmergencyContact,
    Enrollee,
    MessagePreference,
    Phone,
    PrivacyRelease,
    Trip,
)
from acs.enrollment.services.trips import residence_set, trip_add
from acs.staff import roles
from acs.staff.services import roles_sync
from tests.enrollment.factories import enrollee, region, today, verified_enrollee

pytestmark = pytest.mark.django_db

COUNTS = "/staff/enrollees/"
LIST = "/staff/enrollees/list/"
CSV = "/staff/enrollees/list.csv"
PERMISSION = "enrollment.view_enrollees"
OFFSET = 10  # DAY is this many days from today


def day_of(post, offset: int = 0) -> date:
    return today(post) + timedelta(days=OFFSET + offset)


def detail(person: Enrollee) -> str:
    return f"/staff/enrollees/{person.pk}/"


def travel(person, *codes, arrival=0, departure=0, companions=(), place=""):
    """A trip from DAY + ``arrival`` to DAY + ``departure``."""
    post = person.post
    return trip_add(
        enrollee=person,
        arrival=day_of(post, arrival),
        departure=day_of(post, departure),
        stops=[(region(post, code), place) for code in codes],
        companions=[(name, date(2015, 3, 1)) for name in companions],
    )


def at_home(post, *, verified: bool = True, **fields) -> Enrollee:
    """Someone living in Lima (a home in PE-LIM, on no trip): one account serves every post,
    and a post's staff see the people whose trips or home are in its district."""
    person = (verified_enrollee if verified else enrollee)(post, **fields)
    residence_set(enrollee=person, region=region(post, "PE-LIM"))
    return person


def counted(post, offset: int = 0) -> dict[str, tuple[int, int]]:
    """``{region code: (people, companions)}`` for the regions with anyone in them."""
    counts = selectors.enrollee_counts_by_region(post=post, day=day_of(post, offset))
    return {
        row.region.code: (row.people, row.companions)
        for row in counts.regions
        if row.people or row.companions
    }


def contact_details(person: Enrollee) -> None:
    """A phone, an emergency contact, a home: the contact details the list shows."""
    Phone.objects.create(enrollee=person, number="+51987654321", sms_capable=True)
    EmergencyContact.objects.create(
        enrollee=person, name="Mary Smith", relation="mother", phone="+12025550123"
    )
    residence_set(enrollee=person, region=region(person.post, "PE-LMA"), place="Miraflores")


@pytest.fixture
def officer(lima, staff_member, verified_client):
    creds = staff_member("officer", permissions=[PERMISSION])
    browser = verified_client(creds)
    browser.user = creds.user
    return browser


def page(browser, path, **params) -> str:
    response = browser.get(path, params)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# Who is in each region on a day ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "present"),
    [
        (-1, False),  # the day before arrival
        (0, True),  # the arrival day
        (2, True),  # a day in between
        (3, True),  # the departure day
        (4, False),  # the day after departure
    ],
)
def test_a_trip_counts_from_its_arrival_day_to_its_departure_day(lima, offset, present):
    travel(verified_enrollee(lima), "PE-CUS", arrival=0, departure=3, companions=["Kid"])
    assert counted(lima, offset) == ({"PE-CUS": (1, 1)} if present else {})


def test_a_residence_counts_and_a_former_one_does_not(lima):
    resident, moved = verified_enrollee(lima), verified_enrollee(lima)
    residence_set(enrollee=resident, region=region(lima, "PE-PUN"))
    residence_set(enrollee=moved, region=region(lima, "PE-CUS"))
    residence_set(enrollee=moved, region=region(lima, "PE-ARE"))
    assert counted(lima) == {"PE-PUN": (1, 0), "PE-ARE": (1, 0)}


def test_a_person_counts_once_per_region_and_once_in_the_total(lima):
    person = verified_enrollee(lima)
    # Two trips of one person on the same day: the first ended early that evening, so the
    # service let the second one start that day; both cover the day.
    first = travel(person, "PE-CUS", "PE-PUN", arrival=-2, departure=2, companions=["Ann", "Bob"])
    evening = datetime.combine(day_of(lima), time(20), lima.zone)
    Trip.objects.filter(pk=first.pk).update(ended_early_at=evening)
    travel(person, "PE-CUS", arrival=0, departure=1)
    residence_set(enrollee=person, region=region(lima, "PE-CUS"))
    other = verified_enrollee(lima)
    travel(other, "PE-CUS", arrival=0, departure=0)
    assert counted(lima) == {"PE-CUS": (2, 2), "PE-PUN": (1, 2)}
    totals = selectors.enrollee_counts_by_region(post=lima, day=day_of(lima))
    assert (totals.people, totals.companions) == (2, 2)
    assert len(totals.regions) == lima.regions.count()  # every region, zeros included


def test_the_counts_take_five_queries_however_many_people(lima, django_assert_num_queries):
    for number in range(5):
        person = verified_enrollee(lima)
        travel(person, "PE-CUS", "PE-PUN", arrival=-number, departure=number, companions=["A"])
        residence_set(enrollee=person, region=region(lima, "PE-ARE"))
    with django_assert_num_queries(5):
        counts = selectors.enrollee_counts_by_region(post=lima, day=day_of(lima))
    assert (counts.people, counts.companions) == (5, 5)


def test_a_trip_ended_early_counts_on_its_last_day_only(lima):
    person = verified_enrollee(lima)
    ended = travel(person, "PE-CUS", arrival=0, departure=5)
    # Late in the evening, post time: in UTC it is already the next day.
    moment = datetime.combine(day_of(lima, 1), time(23, 30), lima.zone)
    Trip.objects.filter(pk=ended.pk).update(ended_early_at=moment)
    assert counted(lima, 1) == {"PE-CUS": (1, 0)}
    assert counted(lima, 2) == {}


def test_unconfirmed_inactive_and_other_posts_enrollees_are_not_counted(lima, new_york):
    travel(enrollee(lima), "PE-CUS")  # email not confirmed
    inactive = verified_enrollee(lima)
    travel(inactive, "PE-CUS")
    Enrollee.objects.filter(pk=inactive.pk).update(active=False)
    elsewhere = verified_enrollee(new_york)
    trip_add(
        enrollee=elsewhere,
        arrival=day_of(new_york),
        departure=day_of(new_york),
        stops=[(region(new_york, "US-NY"), "")],
    )
    assert counted(lima) == {}


def test_the_counts_page_links_each_region_to_its_list_and_is_audited(officer, lima):
    travel(verified_enrollee(lima), "PE-CUS", arrival=0, departure=1, companions=["Kid"])
    day = day_of(lima).isoformat()
    text = page(officer, COUNTS, date=day)
    assert f'href="{LIST}?date={day}&amp;region=PE-CUS"' in text
    assert "Cusco" in text
    entry = AuditEntry.objects.get(action="acs.enrollees.counted")
    assert entry.actor == officer.user
    assert entry.post == lima
    assert entry.summary == f"date={day} people=1 companions=1"
    assert entry.address == "127.0.0.1"


def test_the_counts_page_shows_today_by_default(officer, lima):
    page(officer, COUNTS)
    entry = AuditEntry.objects.get(action="acs.enrollees.counted")
    assert entry.summary.startswith(f"date={today(lima).isoformat()} ")


# The list ----------------------------------------------------------------------------------------


def test_the_list_filtered_by_region_and_day_shows_contact_details(officer, lima):
    there = verified_enrollee(lima, full_name="Ana Pérez")
    contact_details(there)
    travel(there, "PE-CUS", arrival=0, departure=2, companions=["Luis Pérez"], place="Ollantay")
    verified_enrollee(lima, full_name="Someone Elsewhere")
    text = page(officer, LIST, region="pe-cus", date=day_of(lima).isoformat())
    assert "Ana Pérez" in text
    assert "Someone Elsewhere" not in text
    for shown in (
        there.email,
        "+51987654321",
        "1980-05-17",
        "U.S. citizen",
        "English",
        "Miraflores",
        "Cusco (Ollantay)",
        "Luis Pérez",
        "Mary Smith",
        "+12025550123",
        f'href="{detail(there)}"',
    ):
        assert shown in text, shown
    entry = AuditEntry.objects.get(action="acs.enrollees.listed")
    assert entry.summary == (f"date={day_of(lima).isoformat()} region=PE-CUS page=1 rows=1 total=1")


def test_the_list_without_a_region_shows_every_listed_enrollee(officer, lima):
    at_home(lima, full_name="Zoe Home")
    enrollee(lima, full_name="Not Confirmed")
    text = page(officer, LIST)
    assert "Zoe Home" in text
    assert "Not Confirmed" not in text


@pytest.mark.parametrize(
    ("search", "found"),
    [
        ("perez", ["José Pérez"]),
        ("PÉREZ", ["José Pérez"]),
        ("jose", ["José Pérez"]),
        ("pena", ["Ñusta Peña"]),
        ("ÑUSTA", ["Ñusta Peña"]),
        ("nusta pena", ["Ñusta Peña"]),
        ("pena nusta", ["Ñusta Peña"]),  # every word, in any order
        ("ÁLVAREZ", ["ÁLVAREZ, Rosa"]),  # an upper-case accented name (SQLite's LOWER is ASCII)
        ("e", ["José Pérez", "Ñusta Peña", "ÁLVAREZ, Rosa"]),
        ("100%", []),  # LIKE's wildcards are plain characters
        ("nobody", []),
    ],
)
def test_the_name_search_ignores_case_and_accents(lima, search, found):
    for name in ("José Pérez", "Ñusta Peña", "ÁLVAREZ, Rosa"):
        at_home(lima, full_name=name)
    names = selectors.enrollees_for_staff(post=lima, day=day_of(lima), text=search)
    # Sorted here: where accented capitals sort depends on the database's collation.
    assert sorted(person.full_name for person in names) == sorted(found)


def test_a_name_stored_with_combining_accents_is_found(lima):
    at_home(lima, full_name="Jose\u0301 Pen\u0303a")  # decomposed: e + ´, n + ~
    for search in ("jose pena", "José Peña"):
        names = selectors.enrollees_for_staff(post=lima, day=day_of(lima), text=search)
        assert names.count() == 1, search


def test_postgresql_folds_other_latin_accents_too(lima):
    at_home(lima, full_name="François Müller")
    names = selectors.enrollees_for_staff(post=lima, day=day_of(lima), text="françois müller")
    assert names.count() == 1  # as typed: on every database
    names = selectors.enrollees_for_staff(post=lima, day=day_of(lima), text="francois muller")
    # SQLite (the demo) folds the Spanish letters only; ü is one of them, ç is not.
    assert names.count() == (1 if connection.vendor == "postgresql" else 0)


def test_the_search_on_the_page_is_audited(officer, lima):
    at_home(lima, full_name="José Pérez")
    text = page(officer, LIST, q="  perez ")
    assert "José Pérez" in text
    entry = AuditEntry.objects.get(action="acs.enrollees.listed")
    assert "search='perez'" in entry.summary
    assert entry.summary.endswith("rows=1 total=1")


def test_the_list_has_fifty_a_page(officer, lima):
    for number in range(51):
        at_home(lima, full_name=f"Person {number:02d}")
    first = page(officer, LIST)
    assert "Person 49" in first and "Person 50" not in first
    assert "page=2" in first
    second = page(officer, LIST, page="2")
    assert "Person 50" in second and "Person 49" not in second
    # Not a number, or past the end: the first or the last page, never an error.
    assert "Person 00" in page(officer, LIST, page="x")
    assert "Person 50" in page(officer, LIST, page="999")


def test_the_list_query_count_does_not_grow_with_the_rows(
    officer, lima, django_assert_max_num_queries
):
    def add(count):
        for _number in range(count):
            person = verified_enrollee(lima)
            contact_details(person)
            travel(person, "PE-CUS", "PE-PUN", arrival=0, departure=3, companions=["A", "B"])

    add(3)
    params = {"region": "PE-CUS", "date": day_of(lima).isoformat()}
    with CaptureQueriesContext(connection) as three:
        page(officer, LIST, **params)
    add(30)
    assert len(three) <= 20  # a ceiling too, so that one more query per page is noticed
    with django_assert_max_num_queries(len(three)):
        text = page(officer, LIST, **params)
    assert text.count("Mary Smith") == 33


# The CSV ----------------------------------------------------------------------------------------


def rows_of(response) -> list[list[str]]:
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")  # Excel reads the accents
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_the_csv_has_a_header_and_one_row_per_enrollee(officer, lima):
    person = verified_enrollee(lima, full_name="José Pérez")
    contact_details(person)
    travel(person, "PE-CUS", arrival=0, departure=2, companions=["Luis Pérez"])
    day = day_of(lima).isoformat()
    response = officer.get(CSV, {"region": "PE-CUS", "date": day})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="acs-enrollees-PE-CUS-{day}.csv"'
    )
    rows = rows_of(response)
    assert rows[0] == [
        "Name",
        "Email",
        "Phones",
        "Date of birth",
        "Status",
        "Language",
        "Residence",
        "Trips",
        "Emergency contacts",
    ]
    arrival, departure = day, day_of(lima, 2).isoformat()
    assert rows[1:] == [
        [
            "José Pérez",
            person.email,
            "'+51987654321 (Mobile, text messages)",
            "1980-05-17",
            "U.S. citizen",
            "English",
            f"{region(lima, 'PE-LMA').name} (Miraflores)",
            f"{arrival} to {departure}: Cusco — with Luis Pérez",
            "Mary Smith (mother) +12025550123",
        ]
    ]
    entry = AuditEntry.objects.get(action="acs.enrollees.exported")
    assert entry.summary == f"date={day} region=PE-CUS rows=1"


def test_the_csv_cannot_carry_a_formula(officer, lima):
    for name in ('=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "Plain"):
        at_home(lima, full_name=name)
    # Names are stripped when they are saved; an emergency contact's name is not.
    person = at_home(lima, full_name="Tab")
    EmergencyContact.objects.create(enrollee=person, name="\tTab", email="t@example.org")
    person = at_home(lima, full_name="Return")
    EmergencyContact.objects.create(enrollee=person, name="\rCR", email="r@example.org")
    response = officer.get(CSV)
    rows = rows_of(response)[1:]
    assert sorted(row[0] for row in rows) == sorted(
        ['\'=HYPERLINK("http://x")', "'+1", "'-2", "'@SUM(A1)", "Plain", "Tab", "Return"]
    )
    contacts = {row[0]: row[-1] for row in rows}
    assert contacts["Tab"] == "'\tTab t@example.org"
    assert contacts["Return"] == "'\rCR r@example.org"
    assert response["Content-Disposition"] == (
        f'attachment; filename="acs-enrollees-{today(lima).isoformat()}.csv"'
    )


# One enrollee -----------------------------------------------------------------------------------


def full_record(post) -> Enrollee:
    person = verified_enrollee(post, full_name="José Pérez", passport_number="X1234567")
    contact_details(person)
    travel(person, "PE-CUS", arrival=0, departure=2, companions=["Luis Pérez"])
    travel(person, "PE-PUN", arrival=5, departure=6)
    PrivacyRelease.objects.create(enrollee=person, family=True)
    MessagePreference.objects.create(
        enrollee=person, kind=MessageKind.HEALTH, channel=Channel.SMS, enabled=True
    )
    return person


def test_the_record_shows_everything_and_its_history(officer, lima):
    person = full_record(lima)
    text = page(officer, detail(person))
    for shown in (
        "X1234567",
        "+51987654321",
        "Miraflores",
        "Cusco",
        "Puno",
        "Luis Pérez",
        "Mary Smith",
        "Health",
        "Text message (SMS)",
        "Emergency and Security messages are received",  # the defaults for other kinds
        "acs.enrollee.viewed",  # this very view, in the history
    ):
        assert shown in text, shown
    entry = AuditEntry.objects.get(action="acs.enrollee.viewed")
    assert entry.actor == officer.user
    assert (entry.object_type, entry.object_id) == ("enrollment.enrollee", str(person.pk))
    assert entry.post == lima


def test_the_record_query_count_does_not_grow_with_its_parts(
    officer, lima, django_assert_max_num_queries
):
    person = full_record(lima)
    with CaptureQueriesContext(connection) as small:
        page(officer, detail(person))
    for number in range(10):
        start = 10 + 2 * number  # after the record's trips, one after the other
        travel(person, "PE-CUS", "PE-ARE", arrival=start, departure=start + 1, companions=["C"])
        Phone.objects.create(enrollee=person, number=f"+5198765430{number}")
    assert len(small) <= 20
    with django_assert_max_num_queries(len(small)):
        page(officer, detail(person))


def test_an_enrollee_of_another_post_is_not_found(officer, lima, new_york):
    stranger = verified_enrollee(new_york, full_name="New Yorker")
    assert officer.get(detail(stranger)).status_code == 404
    assert officer.get(f"/staff/enrollees/{stranger.pk + 1000}/").status_code == 404
    assert "New Yorker" not in page(officer, LIST)
    assert not AuditEntry.objects.filter(action="acs.enrollee.viewed").exists()


def test_an_unconfirmed_account_is_not_listed_but_its_record_opens(officer, lima):
    person = at_home(lima, verified=False, full_name="Not Confirmed")
    assert "Not Confirmed" not in page(officer, LIST)
    assert "not confirmed yet" in page(officer, detail(person))


# Permissions, bad input, the menu ------------------------------------------------------------


def test_staff_without_the_permission_are_refused_and_nothing_is_logged(
    lima, staff_member, verified_client
):
    person = verified_enrollee(lima)
    browser = verified_client(staff_member("other", permissions=["appointments.view_day"]))
    for path in (COUNTS, LIST, CSV, detail(person)):
        assert browser.get(path).status_code == 403, path
    assert not AuditEntry.objects.filter(action__startswith="acs.enrollee").exists()


def test_officers_and_administrators_may_open_the_pages_the_front_desk_may_not(
    lima, staff_member, verified_client
):
    roles_sync()
    allowed = {roles.POST_ADMINISTRATOR, roles.CONSULAR_OFFICER}
    for role in roles.ROLES:
        browser = verified_client(staff_member(role.lower().replace(" ", "-"), groups=[role]))
        status = browser.get(COUNTS).status_code
        assert status == (200 if role in allowed else 403), role
        menu = browser.get("/staff/").content.decode()
        assert (f'href="{COUNTS}"' in menu) is (role in allowed), role


def test_each_view_writes_exactly_one_entry(officer, lima):
    person = at_home(lima)
    for path in (COUNTS, LIST, CSV, detail(person)):
        before = AuditEntry.objects.count()
        response = officer.get(path)
        assert response.status_code == 200, path
        assert AuditEntry.objects.count() == before + 1, path
    actions = list(AuditEntry.objects.order_by("id").values_list("action", flat=True))
    assert actions[-4:] == [
        "acs.enrollees.counted",
        "acs.enrollees.listed",
        "acs.enrollees.exported",
        "acs.enrollee.viewed",
    ]


@pytest.mark.parametrize("bad", ["2027-02-30", "tomorrow", "<script>", "99999-01-01", " "])
@pytest.mark.parametrize("path", [COUNTS, LIST, CSV])
def test_a_bad_date_shows_today_with_a_message(officer, lima, path, bad):
    response = officer.get(path, {"date": bad})
    assert response.status_code == 200
    entry = AuditEntry.objects.latest("id")
    assert entry.summary.startswith(f"date={today(lima).isoformat()} ")
    if path != CSV and bad.strip():
        text = response.content.decode()
        assert "is not a date in the form YYYY-MM-DD. Showing today." in text
        assert "<script>" not in text.split("<main", 1)[1]


def test_an_unknown_region_shows_everyone_with_a_message(officer, lima):
    at_home(lima, full_name="Ana Home")
    text = page(officer, LIST, region="XX-NOPE")
    assert "There is no region “XX-NOPE”. Showing every region." in text
    assert "Ana Home" in text


def test_staff_of_another_post_do_not_find_this_posts_enrollee(
    lima, quito, staff_member, verified_client
):
    person = verified_enrollee(lima, full_name="Ana Lima")
    elsewhere = verified_client(staff_member("quito-officer", permissions=[PERMISSION], post=quito))
    assert elsewhere.get(detail(person)).status_code == 404
    assert "Ana Lima" not in elsewhere.get(LIST).content.decode()
    assert b"Ana Lima" not in b"".join(elsewhere.get(CSV).streaming_content)
