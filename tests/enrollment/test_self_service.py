"""The citizen's own account pages, end to end: each page shows what is saved, its POST
changes it, and the front page shows the change."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from django.core import mail

from acs.enrollment.constants import Cadence, Channel, MessageKind
from acs.enrollment.models import (
    DeletionTally,
    EmergencyContact,
    Enrollee,
    MessagePreference,
    Phone,
    PrivacyRelease,
    Residence,
    Trip,
)
from acs.enrollment.selectors import KindChoice, enrollees_to_reach
from acs.enrollment.services import profile as profile_services
from acs.enrollment.services.trips import residence_set, trip_add
from acs.posts.models import Region
from tests.enrollment.factories import region, today, trip, verified_enrollee
from tests.enrollment.selfservice import ACCOUNT, PASSWORD, rows_of, signed_in

TRIPS = ACCOUNT + "trips/"
ENROLLMENT_TABLES = {
    "Enrollee",
    "Phone",
    "Trip",
    "TripStop",
    "Companion",
    "Residence",
    "EmergencyContact",
    "PrivacyRelease",
    "MessagePreference",
}


@pytest.fixture
def me(lima) -> Enrollee:
    return verified_enrollee(lima, full_name="Ana Quispe", email="ana@example.org")


@pytest.fixture
def browser(me):
    return signed_in(me)


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run on-commit work (the queued emails) when the block ends, as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def day(post, offset: int) -> str:
    return (today(post) + timedelta(days=offset)).isoformat()


def page(response) -> str:
    return response.content.decode()


def said(response) -> str:
    """The page's error summary and messages, to show when a test fails."""
    import re

    html = page(response)
    found = re.findall(r'<div class="usa-alert[^"]*"[^>]*>(.*?)</div>\s*</div>', html, re.S)
    return " | ".join(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text)) for text in found)


def trip_data(post, **changes: str) -> dict[str, str]:
    """The trip form as a person fills it in: arrives in 3 days, two places, one companion."""
    data = {
        "arrival": day(post, 3),
        "departure": day(post, 10),
        "purpose": "Tourism",
        "lodging": "Hotel Sol, Cusco",
        "stops-TOTAL_FORMS": "4",
        "stops-INITIAL_FORMS": "0",
        "stops-0-region": str(region(post, "PE-CUS").pk),
        "stops-0-place": "Machu Picchu",
        "stops-1-region": str(region(post, "PE-PUN").pk),
        "stops-1-place": "",
        "stops-2-region": "",
        "stops-2-place": "",
        "stops-3-region": "",
        "stops-3-place": "",
        "companions-TOTAL_FORMS": "3",
        "companions-INITIAL_FORMS": "0",
        "companions-0-full_name": "Luis Quispe",
        "companions-0-date_of_birth_day": "2",
        "companions-0-date_of_birth_month": "3",
        "companions-0-date_of_birth_year": "2015",
    }
    for row in (1, 2):
        data |= {
            f"companions-{row}-full_name": "",
            f"companions-{row}-date_of_birth_day": "",
            f"companions-{row}-date_of_birth_month": "",
            f"companions-{row}-date_of_birth_year": "",
        }
    return data | changes


def form_data(html_response, **changes: str) -> dict[str, str]:
    """What the browser would send back from the page's form, unchanged but for
    ``changes``: text, hidden and date inputs, checked boxes and radios, selected options."""
    import re

    html = page(html_response)
    data: dict[str, str] = {}
    for tag in re.findall(r"<input\b[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or name.group(1) == "csrfmiddlewaretoken":
            continue
        kind = re.search(r'type="([^"]+)"', tag)
        kind = kind.group(1) if kind else "text"
        value = re.search(r'value="([^"]*)"', tag)
        value = value.group(1) if value else ""
        if kind in ("checkbox", "radio"):
            if " checked" in tag:
                data[name.group(1)] = value or "on"
            continue
        data[name.group(1)] = value
    for name, body in re.findall(r'<select\b[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', body)
        data[name] = chosen.group(1) if chosen else ""
    for name, body in re.findall(
        r'<textarea\b[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S
    ):
        data[name] = body
    return {key: value for key, value in (data | changes).items() if value is not None}


# The front page ----------------------------------------------------------------------------


def test_the_front_page_shows_everything_with_a_link_to_change_it(
    lima, me, browser, django_assert_max_num_queries
):
    trip(me, "PE-CUS", arrival=0, departure=5)
    trip(me, "PE-PUN", arrival=20, departure=25)
    residence_set(enrollee=me, region=region(lima, "PE-ARE"), place="Yanahuara")
    profile_services.contact_add(enrollee=me, name="Rosa Quispe", email="rosa@example.org")
    profile_services.phones_set(
        enrollee=me, phones=[profile_services.PhoneData(None, "+51987654321")]
    )
    profile_services.privacy_set(enrollee=me, family=True)
    # Session and enrollee (2), one per kind of record (8), the page frame's post and
    # navigation (2): twelve, however many records.
    with django_assert_max_num_queries(12):
        response = browser.get(ACCOUNT)
    assert response.status_code == 200
    html = page(response)
    for shown in ("Ana Quispe", "Cusco", "Puno", "Arequipa", "Yanahuara", "Rosa Quispe"):
        assert shown in html
    assert "+51987654321" in html
    assert "My family: yes" in html and "The media: no" in html
    for name in ("profile", "phones", "trips/new", "residence", "contacts", "privacy", "messages"):
        assert f'href="{ACCOUNT}{name}/"' in html
    assert 'action="/en/lima/enroll/sign-out/"' in html
    assert 'href="/en/lima/enroll/account/security/"' in html
    assert 'href="/en/lima/enroll/account/my-data.json"' in html


def test_the_front_page_costs_the_same_with_many_records(
    lima, me, browser, django_assert_max_num_queries
):
    for offset in range(0, 60, 10):
        trip_add(
            enrollee=me,
            arrival=today(lima) + timedelta(days=offset),
            departure=today(lima) + timedelta(days=offset + 5),
            stops=[(region(lima, "PE-CUS"), "a"), (region(lima, "PE-PUN"), "b")],
            companions=[("Luis", date(2015, 1, 1)), ("Rosa", date(2012, 1, 1))],
        )
        profile_services.contact_add(enrollee=me, name=f"Contact {offset}", phone="+51987654321")
    with django_assert_max_num_queries(12):
        assert browser.get(ACCOUNT).status_code == 200


def test_the_pages_need_a_signed_in_account(lima, me, client):
    response = client.get(ACCOUNT + "profile/")
    assert response.status_code == 302
    assert response["Location"].startswith("/en/lima/enroll/sign-in/?next=")


# Profile and phones ------------------------------------------------------------------------


def test_change_the_profile(lima, me, browser):
    response = browser.get(ACCOUNT + "profile/")
    assert response.status_code == 200
    assert 'value="Ana Quispe"' in page(response)
    data = form_data(response, full_name="Ana  María Quispe", passport_number="a1234 5678")
    response = browser.post(ACCOUNT + "profile/", data)
    assert response.status_code == 302
    assert response["Location"] == ACCOUNT
    me.refresh_from_db()
    assert (me.full_name, me.passport_number) == ("Ana María Quispe", "A12345678")
    assert me.email_verified_at is not None
    html = page(browser.get(ACCOUNT))
    assert "Your details are saved." in html and "Ana María Quispe" in html


def test_a_new_email_must_be_confirmed_again(lima, me, browser, commit):
    data = form_data(browser.get(ACCOUNT + "profile/"), email="Ana.New@Example.org")
    with commit():
        response = browser.post(ACCOUNT + "profile/", data)
    assert response["Location"] == "/en/lima/enroll/check-email/"
    me.refresh_from_db()
    assert me.email == "ana.new@example.org"
    assert me.email_verified_at is None
    [letter] = mail.outbox
    assert letter.to == ["ana.new@example.org"]
    assert "/verify/" in letter.body
    # Until the link is opened, the account pages wait.
    assert browser.get(ACCOUNT)["Location"] == "/en/lima/enroll/check-email/"


def test_an_email_of_another_account_is_refused_plainly(lima, me, browser):
    verified_enrollee(lima, email="taken@example.org")
    data = form_data(browser.get(ACCOUNT + "profile/"), email="taken@example.org")
    response = browser.post(ACCOUNT + "profile/", data)
    assert response.status_code == 400
    assert "This email address cannot be used" in page(response)
    me.refresh_from_db()
    assert me.email == "ana@example.org"


def test_a_wrong_passport_number_is_refused(lima, me, browser):
    data = form_data(browser.get(ACCOUNT + "profile/"), passport_number="12")
    response = browser.post(ACCOUNT + "profile/", data)
    assert response.status_code == 400
    assert "A U.S. passport number has 9 characters" in page(response)
    me.refresh_from_db()
    assert me.passport_number == ""


def test_add_change_and_remove_phones(lima, me, browser):
    response = browser.get(ACCOUNT + "phones/")
    assert response.status_code == 200
    data = form_data(
        response,
        **{
            "phones-0-number": "987 654 321",  # a Peruvian mobile, typed the local way
            "phones-0-sms_capable": "on",
            "phones-1-number": "+1 202 555 0143",
            "phones-1-kind": "home",
        },
    )
    response = browser.post(ACCOUNT + "phones/", data)
    assert response.status_code == 302, said(response)
    numbers = list(me.phones.order_by("id").values_list("number", "kind", "sms_capable"))
    assert numbers == [("+51987654321", "mobile", True), ("+12025550143", "home", False)]
    # The saved ones come back with a box to remove them, and two empty rows.
    response = browser.get(ACCOUNT + "phones/")
    html = page(response)
    assert "+51987654321" in html and "Remove this number" in html
    data = form_data(response, **{"phones-0-DELETE": "on", "phones-1-number": "+12025550144"})
    assert browser.post(ACCOUNT + "phones/", data).status_code == 302
    assert list(me.phones.values_list("number", flat=True)) == ["+12025550144"]
    assert "+12025550144" in page(browser.get(ACCOUNT))


@pytest.mark.parametrize("typed", ["12345", "not a phone", "+51 1"])
def test_a_malformed_phone_is_refused_and_nothing_saved(lima, me, browser, typed):
    profile_services.phones_set(
        enrollee=me, phones=[profile_services.PhoneData(None, "+51987654321")]
    )
    data = form_data(browser.get(ACCOUNT + "phones/"), **{"phones-1-number": typed})
    response = browser.post(ACCOUNT + "phones/", data)
    assert response.status_code == 400
    html = page(response)
    assert "Enter a phone number we can call." in html
    assert 'role="alert"' in html
    assert list(Phone.objects.values_list("number", flat=True)) == ["+51987654321"]


def test_the_same_number_twice_is_refused(lima, me, browser):
    data = form_data(
        browser.get(ACCOUNT + "phones/"),
        **{"phones-0-number": "+51987654321", "phones-1-number": "987654321"},
    )
    response = browser.post(ACCOUNT + "phones/", data)
    assert response.status_code == 400
    assert "This number is already in the list." in page(response)
    assert not Phone.objects.exists()


# Trips -------------------------------------------------------------------------------------


def test_add_a_trip_with_places_and_a_companion(lima, me, browser):
    response = browser.get(TRIPS + "new/")
    assert response.status_code == 200
    html = page(response)
    assert html.count('name="companions-') > 0 and "Remove this person" not in html
    response = browser.post(TRIPS + "new/", trip_data(lima))
    assert response.status_code == 302, said(response)
    saved = Trip.objects.get(enrollee=me)
    assert response["Location"] == f"{TRIPS}{saved.public_id}/"
    assert [(s.region.code, s.place) for s in saved.stops.order_by("id")] == [
        ("PE-CUS", "Machu Picchu"),
        ("PE-PUN", ""),
    ]
    assert [(c.full_name, c.date_of_birth) for c in saved.companions.all()] == [
        ("Luis Quispe", date(2015, 3, 2))
    ]
    assert (saved.purpose, saved.lodging) == ("Tourism", "Hotel Sol, Cusco")
    html = page(browser.get(ACCOUNT))
    assert "Machu Picchu" in html and "Luis Quispe" in html and "Coming up" in html
    me.refresh_from_db()
    assert me.last_active_at is not None


def test_change_a_trip_its_places_and_companions(lima, me, browser):
    saved = trip_add(
        enrollee=me,
        arrival=today(lima) + timedelta(days=3),
        departure=today(lima) + timedelta(days=10),
        stops=[(region(lima, "PE-CUS"), "Cusco"), (region(lima, "PE-PUN"), "")],
        companions=[("Luis Quispe", date(2015, 3, 2)), ("Rosa Quispe", date(2013, 6, 1))],
    )
    luis, rosa = saved.companions.order_by("id")
    url = f"{TRIPS}{saved.public_id}/"
    response = browser.get(url)
    assert response.status_code == 200
    html = page(response)
    assert "Luis Quispe" in html and "Remove this person from the trip" in html
    data = form_data(
        response,
        departure=day(lima, 12),
        **{
            "stops-1-region": str(region(lima, "PE-ARE").pk),  # Puno becomes Arequipa
            "stops-0-place": "Ollantaytambo",
            "companions-0-full_name": "Luis A. Quispe",  # corrected
            "companions-1-DELETE": "on",  # Rosa does not come
            "companions-2-full_name": "Eva Quispe",  # a new one
            "companions-2-date_of_birth_day": "9",
            "companions-2-date_of_birth_month": "12",
            "companions-2-date_of_birth_year": "2019",
        },
    )
    response = browser.post(url, data)
    assert response.status_code == 302, said(response)
    saved.refresh_from_db()
    assert saved.departure == today(lima) + timedelta(days=12)
    assert [(s.region.code, s.place) for s in saved.stops.order_by("region__code")] == [
        ("PE-ARE", ""),
        ("PE-CUS", "Ollantaytambo"),
    ]
    people = list(saved.companions.order_by("id"))
    assert [p.full_name for p in people] == ["Luis A. Quispe", "Eva Quispe"]
    assert people[0].public_id == luis.public_id  # the same person, corrected
    assert not type(rosa).objects.filter(pk=rosa.pk).exists()
    assert "Your changes to the trip are saved." in page(browser.get(url))


def test_end_a_trip_early(lima, me, browser):
    current = trip(me, "PE-CUS", arrival=-2, departure=5)
    url = f"{TRIPS}{current.public_id}/end/"
    response = browser.get(url)
    assert response.status_code == 200
    current.refresh_from_db()
    assert current.ended_early_at is None  # GET changes nothing
    response = browser.post(url)
    assert response["Location"] == ACCOUNT
    current.refresh_from_db()
    assert current.ended_early_at is not None
    start = today(lima) + timedelta(days=1)
    assert not enrollees_to_reach(
        post=lima,
        region_ids=[region(lima, "PE-CUS").pk],
        starts=start,
        ends=start,
        kind=MessageKind.EMERGENCY,
    ).exists()
    html = page(browser.get(ACCOUNT))
    assert "Your trip is ended." in html
    assert "You have no current or upcoming trip." in html
    # Once ended, its page shows it and offers no form; a POST changes nothing.
    html = page(browser.get(f"{TRIPS}{current.public_id}/"))
    assert "This trip is over" in html and 'name="arrival"' not in html
    assert browser.post(f"{TRIPS}{current.public_id}/", trip_data(lima)).status_code == 400


def test_a_trip_not_begun_cannot_be_ended_but_can_be_deleted(lima, me, browser):
    later = trip(me, "PE-CUS", arrival=5, departure=9)
    response = browser.post(f"{TRIPS}{later.public_id}/end/")
    assert response.status_code == 400
    assert "has not started yet" in page(response)
    later.refresh_from_db()
    assert later.ended_early_at is None
    assert browser.get(f"{TRIPS}{later.public_id}/delete/").status_code == 200
    assert Trip.objects.filter(pk=later.pk).exists()  # GET changes nothing
    response = browser.post(f"{TRIPS}{later.public_id}/delete/")
    assert response["Location"] == TRIPS
    assert not Trip.objects.exists()
    assert "The trip is deleted." in page(browser.get(TRIPS))


def test_the_list_of_trips(lima, me, browser):
    trip(me, "PE-CUS", arrival=-1, departure=1)
    trip(me, "PE-PUN", arrival=10, departure=12)
    Trip.objects.create(  # a trip that is over, as the retention job finds them
        enrollee=me,
        arrival=today(lima) - timedelta(days=9),
        departure=today(lima) - timedelta(days=5),
    )
    html = page(browser.get(TRIPS))
    assert "Now" in html and "Coming up" in html and "Over" in html


# Bad input: a plain message, and nothing saved ---------------------------------------------


def _trip_rows() -> tuple[int, ...]:
    from acs.enrollment.models import Companion, TripStop

    return Trip.objects.count(), TripStop.objects.count(), Companion.objects.count()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"arrival": "+5", "departure": "+4"},
            "The departure date cannot be before the arrival date.",
        ),
        ({"arrival": "-10", "departure": "-1"}, "This trip is already over."),
        ({"arrival": "", "departure": "+4"}, "Enter the date you arrive."),
        ({"arrival": "5 July", "departure": "+4"}, "Enter the date as year, month and day"),
        (
            {"stops-0-region": "", "stops-0-place": "", "stops-1-region": ""},
            "Choose at least one region",
        ),
        ({"stops-1-region": "CUS"}, "You chose this region twice."),
        ({"stops-2-place": "Lake Titicaca"}, "Choose the region of this place."),
        ({"companions-1-full_name": "Eva"}, "Enter the date of birth."),
        (
            {
                "companions-1-full_name": "Eva",
                "companions-1-date_of_birth_day": "31",
                "companions-1-date_of_birth_month": "2",
                "companions-1-date_of_birth_year": "2019",
            },
            "That day does not exist.",
        ),
    ],
)
def test_bad_trips_are_refused_plainly_and_nothing_saved(lima, me, browser, changes, message):
    data = trip_data(lima)
    for name, value in changes.items():
        if name in ("arrival", "departure") and value[:1] in "+-" and value:
            value = day(lima, int(value))
        if value == "CUS":
            value = str(region(lima, "PE-CUS").pk)
        data[name] = value
    before = _trip_rows()
    response = browser.post(TRIPS + "new/", data)
    assert response.status_code == 400
    html = page(response)
    assert message in html
    assert 'role="alert"' in html and "Please correct" in html
    assert _trip_rows() == before == (0, 0, 0)


def test_a_region_of_another_country_is_taken_and_an_unknown_one_refused(
    lima, new_york, me, browser
):
    """One account serves every post: a trip may cross borders, a home may be abroad. A
    region the list does not hold is refused plainly and saves nothing."""
    unknown = str(Region.objects.order_by("-pk").first().pk + 1000)
    response = browser.post(TRIPS + "new/", trip_data(lima, **{"stops-1-region": unknown}))
    assert response.status_code == 400
    assert "We do not know that region. Choose one from the list" in page(response)
    assert _trip_rows() == (0, 0, 0)
    homes = list(Residence.objects.values_list("pk", "region_id", "active"))
    response = browser.post(ACCOUNT + "residence/", {"region": unknown})
    assert response.status_code == 400
    assert "We do not know that region. Choose one from the list" in page(response)
    assert list(Residence.objects.values_list("pk", "region_id", "active")) == homes
    new_york_region = str(new_york.regions.first().pk)
    data = trip_data(lima, **{"stops-1-region": new_york_region})
    assert browser.post(TRIPS + "new/", data).status_code == 302
    assert browser.post(ACCOUNT + "residence/", {"region": new_york_region}).status_code == 302


def test_a_duplicate_overlapping_trip_is_refused(lima, me, browser):
    first = trip(me, "PE-CUS", arrival=5, departure=10)
    before = _trip_rows()
    # Shares only the last day of the other: still the same days twice.
    data = trip_data(lima, arrival=day(lima, 10), departure=day(lima, 14))
    response = browser.post(TRIPS + "new/", data)
    assert response.status_code == 400
    html = page(response)
    assert "You already have a trip from" in html, said(response)
    assert _trip_rows() == before
    # Moving another trip onto it is refused the same way.
    other = trip(me, "PE-PUN", arrival=20, departure=25)
    url = f"{TRIPS}{other.public_id}/"
    data = form_data(browser.get(url), arrival=day(lima, 8))
    response = browser.post(url, data)
    assert response.status_code == 400
    assert "You already have a trip from" in page(response)
    other.refresh_from_db()
    assert other.arrival == today(lima) + timedelta(days=20)
    # A trip may keep its own dates, and one that was ended early is no obstacle.
    assert browser.post(url, form_data(browser.get(url), purpose="Work")).status_code == 302
    Trip.objects.filter(pk=first.pk).update(arrival=today(lima))
    assert browser.post(f"{TRIPS}{first.public_id}/end/").status_code == 302
    response = browser.post(TRIPS + "new/", trip_data(lima, arrival=day(lima, 5)))
    assert response.status_code == 302


def test_a_companion_id_of_another_trip_is_refused(lima, me, browser):
    mine = trip(me, "PE-CUS", arrival=1, departure=3)
    other_person = verified_enrollee(lima)
    theirs = trip_add(
        enrollee=other_person,
        arrival=today(lima),
        departure=today(lima) + timedelta(days=3),
        stops=[(region(lima, "PE-PUN"), "")],
        companions=[("Not Yours", date(2000, 1, 1))],
    )
    stranger = theirs.companions.get()
    url = f"{TRIPS}{mine.public_id}/"
    data = form_data(
        browser.get(url),
        **{
            "companions-INITIAL_FORMS": "1",
            "companions-0-public_id": str(stranger.public_id),
            "companions-0-full_name": "Taken Over",
            "companions-0-date_of_birth_day": "1",
            "companions-0-date_of_birth_month": "1",
            "companions-0-date_of_birth_year": "2000",
        },
    )
    response = browser.post(url, data)
    assert response.status_code == 400
    stranger.refresh_from_db()
    assert stranger.full_name == "Not Yours"
    assert not mine.companions.exists()


# Residence, contacts, privacy, messages ----------------------------------------------------


def test_set_and_end_the_residence(lima, me, browser):
    assert browser.get(ACCOUNT + "residence/").status_code == 200
    response = browser.post(
        ACCOUNT + "residence/", {"region": region(lima, "PE-CUS").pk, "place": "San Blas"}
    )
    assert response["Location"] == ACCOUNT
    home = Residence.objects.get(enrollee=me, active=True)
    assert (home.region.code, home.place) == ("PE-CUS", "San Blas")
    assert "San Blas" in page(browser.get(ACCOUNT))
    assert browser.get(ACCOUNT + "residence/end/").status_code == 200
    assert Residence.objects.filter(active=True).exists()  # GET changes nothing
    assert browser.post(ACCOUNT + "residence/end/")["Location"] == ACCOUNT
    assert not Residence.objects.filter(active=True).exists()
    assert "You have not told us that you live outside the United States." in page(
        browser.get(ACCOUNT)
    )


def test_emergency_contacts(lima, me, browser):
    url = ACCOUNT + "contacts/"
    assert browser.get(url).status_code == 200
    response = browser.post(
        url, {"name": "Rosa Quispe", "relation": "Mother", "phone": "+1 202 555 0143"}
    )
    assert response["Location"] == url
    rosa = EmergencyContact.objects.get(enrollee=me)
    assert (rosa.phone, rosa.relation) == ("+12025550143", "Mother")
    assert "Rosa Quispe" in page(browser.get(url))
    response = browser.get(f"{url}{rosa.public_id}/")
    assert 'value="Rosa Quispe"' in page(response)
    data = form_data(response, email="rosa@example.org", phone="")
    assert browser.post(f"{url}{rosa.public_id}/", data)["Location"] == url
    rosa.refresh_from_db()
    assert (rosa.phone, rosa.email) == ("", "rosa@example.org")
    assert browser.get(f"{url}{rosa.public_id}/delete/").status_code == 200
    assert browser.post(f"{url}{rosa.public_id}/delete/")["Location"] == url
    assert not EmergencyContact.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "Rosa", "phone": "555"}, "Enter a phone number we can call."),
        ({"name": "Rosa"}, "Give a phone number or an email address"),
        ({"phone": "+12025550143"}, "Enter the name of your contact."),
        ({"name": "Rosa", "email": "rosa@"}, "Enter an email address like name@example.com."),
    ],
)
def test_a_bad_contact_is_refused_plainly(lima, me, browser, data, message):
    response = browser.post(ACCOUNT + "contacts/", data)
    assert response.status_code == 400
    assert message in page(response)
    assert not EmergencyContact.objects.exists()


def test_the_privacy_release_is_each_a_separate_choice(lima, me, browser):
    response = browser.get(ACCOUNT + "privacy/")
    assert response.status_code == 200
    assert " checked" not in page(response)  # nothing is released until the person agrees
    response = browser.post(ACCOUNT + "privacy/", {"family": "on", "congress": "on"})
    assert response["Location"] == ACCOUNT
    release = PrivacyRelease.objects.get(enrollee=me)
    assert (release.family, release.congress) == (True, True)
    assert not (release.emergency_contacts or release.representative or release.media)
    browser.post(ACCOUNT + "privacy/", {"media": "on"})
    release.refresh_from_db()
    assert (release.family, release.congress, release.media) == (False, False, True)
    assert "The media: yes" in page(browser.get(ACCOUNT))


def _reaches(post, person, kind) -> bool:
    start = today(post) + timedelta(days=2)
    return (
        enrollees_to_reach(
            post=post,
            region_ids=[region(post, "PE-CUS").pk],
            starts=start,
            ends=start,
            kind=kind,
        )
        .filter(pk=person.pk)
        .exists()
    )


def test_message_preferences(lima, me, browser):
    trip(me, "PE-CUS", arrival=0, departure=5)
    response = browser.get(ACCOUNT + "messages/")
    assert response.status_code == 200
    data = form_data(response)
    # The defaults are shown: emergency and security by email, at once; the rest off.
    assert data["emergency_email"] == "on" and data["security_email"] == "on"
    assert "weather_email" not in data and data["weather_delivery"] == "immediate"
    data.pop("security_email")
    data |= {"weather_email": "on", "weather_delivery": "digest", "language": "es"}
    response = browser.post(ACCOUNT + "messages/", data)
    assert response["Location"] == ACCOUNT
    assert not _reaches(lima, me, MessageKind.SECURITY)
    assert _reaches(lima, me, MessageKind.WEATHER)
    assert _reaches(lima, me, MessageKind.EMERGENCY)
    assert not _reaches(lima, me, MessageKind.HEALTH)
    weather = MessagePreference.objects.get(enrollee=me, kind="weather", channel=Channel.EMAIL)
    assert weather.delivery == Cadence.DIGEST
    me.refresh_from_db()
    assert me.language == "es"
    again = form_data(browser.get(ACCOUNT + "messages/"))
    assert "security_email" not in again and again["weather_delivery"] == "digest"


def test_text_messages_need_a_phone_that_takes_them(lima, me, browser):
    data = form_data(browser.get(ACCOUNT + "messages/"), emergency_sms="on")
    response = browser.post(ACCOUNT + "messages/", data)
    assert response.status_code == 400
    assert "first add a mobile number that can receive them" in page(response)
    assert not MessagePreference.objects.exists()
    profile_services.phones_set(
        enrollee=me, phones=[profile_services.PhoneData(None, "+51987654321", sms_capable=True)]
    )
    assert browser.post(ACCOUNT + "messages/", data).status_code == 302
    sms = MessagePreference.objects.get(kind="emergency", channel=Channel.SMS)
    assert sms.enabled


# The person's data -------------------------------------------------------------------------


def _fill(person) -> None:
    post = person.post
    trip_add(
        enrollee=person,
        arrival=today(post),
        departure=today(post) + timedelta(days=4),
        stops=[(region(post, "PE-CUS"), "Machu Picchu")],
        companions=[("Luis Quispe", date(2015, 3, 2))],
        lodging="Hotel Sol",
    )
    residence_set(enrollee=person, region=region(post, "PE-ARE"), place="Yanahuara")
    profile_services.phones_set(
        enrollee=person, phones=[profile_services.PhoneData(None, "+51987654321", "mobile", True)]
    )
    profile_services.contact_add(enrollee=person, name="Rosa", email="rosa@example.org")
    profile_services.privacy_set(enrollee=person, family=True)
    profile_services.preferences_set(
        enrollee=person,
        choices={"weather": KindChoice(email=True, delivery="digest")},
    )


def test_download_all_my_data(lima, me, browser):
    _fill(me)
    response = browser.get(ACCOUNT + "my-data.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"] == 'attachment; filename="my-enrollment-data.json"'
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    data = json.loads(response.content)
    assert data["profile"]["full_name"] == "Ana Quispe"
    assert data["profile"]["date_of_birth"] == "1980-05-17"
    assert data["account"]["email"] == "ana@example.org"
    [saved] = data["trips"]
    assert saved["arrival"] == today(lima).isoformat()
    assert saved["regions"] == [
        {"code": "PE-CUS", "name": "Cusco", "country": "PE", "place": "Machu Picchu"}
    ]
    assert saved["companions"][0]["full_name"] == "Luis Quispe"
    assert saved["id"] == str(Trip.objects.get().public_id)
    assert data["residences"][0]["place"] == "Yanahuara"
    assert data["phones"][0]["number"] == "+51987654321"
    assert data["emergency_contacts"][0]["email"] == "rosa@example.org"
    assert data["privacy_release"]["family"] is True
    assert data["message_preferences"]["weather"] == {
        "email": True,
        "sms": False,
        "delivery": "digest",
    }
    text = response.content.decode()
    me.refresh_from_db()
    assert me.password not in text and "password" not in text
    assert '"pk"' not in text and f'"id": {me.pk}' not in text


def test_delete_my_account(lima, me, browser):
    _fill(me)
    other = verified_enrollee(lima)
    _fill(other)
    # Every enrollment table holds something of mine (other apps' tables are counted too).
    mine = {name: n for name, n in rows_of(me).items() if name in ENROLLMENT_TABLES}
    assert len(mine) == len(ENROLLMENT_TABLES) and all(mine.values()), mine
    others_before = rows_of(other)
    response = browser.get(ACCOUNT + "delete/")
    assert response.status_code == 200
    assert Enrollee.objects.filter(pk=me.pk).exists()  # GET changes nothing
    response = browser.post(ACCOUNT + "delete/")
    assert response["Location"] == "/en/lima/enroll/account/deleted/"
    assert not any(rows_of(me).values()), rows_of(me)
    assert rows_of(other) == others_before
    tally = DeletionTally.objects.get()
    assert (tally.post, tally.reason, tally.count) == (lima, DeletionTally.Reason.SELF, 1)
    assert tally.month == today(lima).replace(day=1)
    html = page(browser.get("/en/lima/enroll/account/deleted/"))
    assert "Your account is deleted" in html
    # Signed out; the page says it once.
    assert browser.get(ACCOUNT).status_code == 302
    assert browser.get("/en/lima/enroll/account/deleted/").status_code == 302
    # The next deletion of the month adds to the same count.
    signed_in(other).post(ACCOUNT + "delete/")
    assert DeletionTally.objects.get().count == 2
    assert not Enrollee.objects.exists()


def test_a_deleted_account_cannot_sign_in(lima, me, browser, client):
    browser.post(ACCOUNT + "delete/")
    response = client.post("/en/lima/enroll/sign-in/", {"email": me.email, "password": PASSWORD})
    assert response.status_code == 400


def test_every_account_page_needs_the_signed_in_enrollee():
    """A meta-test over the URLconf: every page under account/ is wrapped in
    ``enrollee_required``, but the one that says the account is gone and the emailed links,
    whose token is the proof."""
    from django.urls import get_resolver

    _prefix, resolver = get_resolver().namespace_dict["enrollment"]
    checked = 0
    for pattern in resolver.url_patterns:
        route = str(pattern.pattern)
        emailed_link = "<str:token>" in route
        if not route.startswith("account/") or pattern.name == "deleted" or emailed_link:
            continue
        assert getattr(pattern.callback, "enrollee_required", False), pattern.name
        checked += 1
    assert checked >= 18


def test_the_pages_work_in_spanish(lima, me, browser):
    trip(me, "PE-CUS", arrival=0, departure=5)
    for path in ("", "profile/", "phones/", "trips/", "trips/new/", "residence/", "contacts/"):
        response = browser.get(f"/es/lima/enroll/account/{path}")
        assert response.status_code == 200, path
    html = page(browser.get("/es/lima/enroll/account/trips/new/"))
    # Day before month in Spanish dates of birth.
    assert html.index("companions-0-date_of_birth_day") < html.index(
        "companions-0-date_of_birth_month"
    )
