"""The whole traveler-enrollment journey on a 360 px phone, in English and in Spanish: sign up,
confirm the email with the link the site wrote (as ``var/mail/`` would hold it), add a trip
with a companion, make one mistake on the way, add an emergency contact, change which messages
come and how, download the data, delete the account.

Emails are sent by the Celery task running eagerly inside the live server, through the
``.eml`` file backend. Controls are found by id or name, and text is asserted only where it is
data the test typed (or, for the list of messages, the page's own words taken from the same
catalogue), so the journey holds while the Spanish catalogue is still being written.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import Page, expect

from acs.enrollment.constants import Cadence, Channel, MessageKind
from acs.enrollment.models import (
    DeletionTally,
    EmergencyContact,
    Enrollee,
    MessagePreference,
    Trip,
)
from acs.posts.models import Region
from tests.browser.journey import (
    check_page,
    html_body,
    mail_files,
    new_mail,
    submit,
    tap_label,
    text_body,
)
from tests.enrollment.selfservice import rows_of

pytestmark = pytest.mark.browser

LIMA = ZoneInfo("America/Lima")
PERSON = {
    "full_name": "Ana María Núñez Pérez",
    "born": (19, 1, 1990),  # (day, month, year)
    "email": "ana.nunez@example.org",
    "password": "quinoa-llama-river-1907",
}
COMPANION = {"full_name": "Tomás Núñez Quispe", "born": (3, 11, 2015)}
TRIP = {
    "region": "PE-CUS",
    "place": "Ollantaytambo",
    "purpose": "Turismo y visita a la familia",
    "lodging": "Hostal Las Orquídeas, Calle Ventiderio 12",
}
CONTACT = {
    "name": "Rosa Pérez de Núñez",
    "relation": "madre",
    "phone": "+1 202 555 0143",
    "phone_e164": "+12025550143",
    "email": "rosa.perez@example.org",
}


# Helpers --------------------------------------------------------------------------------------
def tap_choice(page: Page, name: str, value: str) -> None:
    """Tap the label of the radio button ``name`` = ``value``."""
    radio = page.locator(f'input[type="radio"][name="{name}"][value="{value}"]')
    tap_label(page, radio.get_attribute("id") or "")


def fill_date_of_birth(page: Page, prefix: str, born: tuple[int, int, int]) -> None:
    day, month, year = born
    page.locator(f"#{prefix}_day").fill(str(day))
    page.locator(f"#{prefix}_month").select_option(str(month))
    page.locator(f"#{prefix}_year").fill(str(year))


def keys_of(data: Any) -> set[str]:
    """Every key anywhere in a parsed JSON document."""
    if isinstance(data, dict):
        return set(data).union(*(keys_of(value) for value in data.values()))
    if isinstance(data, list):
        return set().union(*(keys_of(value) for value in data))
    return set()


def preference_line(language: str, kind: MessageKind, how: str, delivery: Cadence) -> str:
    """A line of the home page's "messages you get", in the page's own words (the same
    catalogue the page uses, so it holds however far the translation has come)."""
    with translation.override(language):
        if how == "off":
            return f"{kind.label}: {gettext('off')}"
        return f"{kind.label}: {gettext('by email')} ({str(delivery.label).lower()})"


# The journey ----------------------------------------------------------------------------------
@pytest.mark.parametrize("language", ["en", "es"])
def test_enroll_add_a_trip_choose_messages_download_and_delete_on_a_phone(
    site, mail_dir, phone, language, axe_check, assert_console_clean
):
    page = phone
    assert page.viewport_size["width"] == 360
    today = datetime.now(LIMA).date()
    arrival, departure = today + timedelta(days=2), today + timedelta(days=9)
    enroll = f"{site}/{language}/lima/enroll"
    home_url = f"{enroll}/account/"
    back_home = page.locator(f'main a[href="/{language}/lima/enroll/account/"]').last

    # Start: what enrollment is, then "create an account" -----------------------------------
    response = page.goto(f"{enroll}/")
    assert response is not None and response.status == 200
    expect(page.locator("html")).to_have_attribute("lang", language)
    check_page(page, axe_check, assert_console_clean)
    page.locator(f'main a[href="/{language}/lima/enroll/sign-up/"]').first.click()

    # Sign up ---------------------------------------------------------------------------
    page.wait_for_url(f"{enroll}/sign-up/")
    check_page(page, axe_check, assert_console_clean)
    page.locator("#id_full_name").fill(PERSON["full_name"])
    fill_date_of_birth(page, "id_date_of_birth", PERSON["born"])
    tap_choice(page, "status", "citizen")
    page.locator("#id_email").fill(PERSON["email"])
    tap_choice(page, "language", language)
    page.locator("#id_password").fill(PERSON["password"])
    page.locator("#id_password_again").fill(PERSON["password"])
    before = mail_files(mail_dir)
    submit(page, page.locator("main form button[type=submit]"))

    # "Check your email" ------------------------------------------------------------------
    assert page.url == f"{enroll}/check-email/"
    expect(page.locator("main")).to_contain_text(PERSON["email"])
    check_page(page, axe_check, assert_console_clean)
    enrollee = Enrollee.objects.get(email=PERSON["email"])
    assert enrollee.full_name == PERSON["full_name"]
    assert enrollee.date_of_birth == date(1990, 1, 19)
    assert enrollee.language == language
    assert enrollee.email_verified_at is None
    assert PERSON["password"] not in enrollee.password

    # The verification email, in the journey's language -----------------------------------
    verification = new_mail(mail_dir, before)
    assert verification["To"] == PERSON["email"]
    assert f'<html lang="{language}">' in html_body(verification)
    body = text_body(verification)
    links = re.findall(rf"{re.escape(site)}/\S+/verify/\S+/", body)
    assert len(links) == 1, f"expected one verification link in the email:\n{body}"
    assert links[0].startswith(f"{enroll}/verify/"), links[0]

    # Its link confirms the address and opens the account ------------------------------------
    response = page.goto(links[0])
    assert response is not None and response.status == 200
    assert page.url == home_url
    expect(page.locator(".usa-alert--success")).to_be_visible()
    expect(page.locator("main")).to_contain_text(PERSON["full_name"])
    check_page(page, axe_check, assert_console_clean)
    enrollee.refresh_from_db()
    assert enrollee.email_verified_at is not None

    # A trip: first with the departure before the arrival -----------------------------------
    page.locator(f'main a[href="/{language}/lima/enroll/account/trips/new/"]').click()
    page.wait_for_url(f"{enroll}/account/trips/new/")
    check_page(page, axe_check, assert_console_clean)
    cusco = Region.objects.get(post=enrollee.post, code=TRIP["region"])
    page.locator("#id_arrival").fill(arrival.isoformat())
    page.locator("#id_departure").fill((arrival - timedelta(days=1)).isoformat())
    page.locator("#id_stops-0-region").select_option(str(cusco.pk))
    page.locator("#id_stops-0-place").fill(TRIP["place"])
    page.locator("#id_purpose").fill(TRIP["purpose"])
    page.locator("#id_lodging").fill(TRIP["lodging"])
    page.locator("#id_companions-0-full_name").fill(COMPANION["full_name"])
    fill_date_of_birth(page, "id_companions-0-date_of_birth", COMPANION["born"])
    save_trip = page.locator("main form button[type=submit]")
    submit(page, save_trip, status=400)

    assert page.url == f"{enroll}/account/trips/new/"
    summary = page.locator("main .usa-alert--error")
    expect(summary).to_be_visible()
    expect(summary.locator('a[href="#id_departure"]')).to_be_visible()
    expect(page.locator("#id_departure-error")).to_be_visible()
    expect(page.locator("#id_departure")).to_have_attribute("aria-invalid", "true")
    # What was typed is all still there.
    expect(page.locator("#id_stops-0-region")).to_have_value(str(cusco.pk))
    expect(page.locator("#id_stops-0-place")).to_have_value(TRIP["place"])
    expect(page.locator("#id_companions-0-full_name")).to_have_value(COMPANION["full_name"])
    expect(page.locator("#id_companions-0-date_of_birth_year")).to_have_value("2015")
    check_page(page, axe_check, assert_console_clean, document_status=400)
    assert not Trip.objects.exists()

    # … then right ------------------------------------------------------------------------
    page.locator("#id_departure").fill(departure.isoformat())
    submit(page, save_trip)
    trip = Trip.objects.get(enrollee=enrollee)
    assert page.url == f"{enroll}/account/trips/{trip.public_id}/"
    expect(page.locator(".usa-alert--success")).to_be_visible()
    check_page(page, axe_check, assert_console_clean)
    assert (trip.arrival, trip.departure) == (arrival, departure)
    assert (trip.purpose, trip.lodging) == (TRIP["purpose"], TRIP["lodging"])
    assert [(s.region.code, s.place) for s in trip.stops.all()] == [(TRIP["region"], TRIP["place"])]
    assert [(c.full_name, c.date_of_birth) for c in trip.companions.all()] == [
        (COMPANION["full_name"], date(2015, 11, 3))
    ]

    submit(page, back_home)
    assert page.url == home_url
    upcoming = page.locator("#home-trips ~ .usa-summary-box")
    expect(upcoming).to_have_count(1)
    expect(upcoming).to_contain_text(cusco.name)
    expect(upcoming).to_contain_text(TRIP["place"])
    expect(upcoming).to_contain_text(TRIP["purpose"])
    expect(upcoming).to_contain_text(COMPANION["full_name"])
    check_page(page, axe_check, assert_console_clean)

    # An emergency contact ------------------------------------------------------------------
    submit(page, page.locator(f'main a[href="/{language}/lima/enroll/account/contacts/"]'))
    check_page(page, axe_check, assert_console_clean)
    page.locator("#id_name").fill(CONTACT["name"])
    page.locator("#id_relation").fill(CONTACT["relation"])
    page.locator("#id_phone").fill(CONTACT["phone"])
    page.locator("#id_email").fill(CONTACT["email"])
    submit(page, page.locator("main form button[type=submit]"))
    assert page.url == f"{enroll}/account/contacts/"
    expect(page.locator(".usa-alert--success")).to_be_visible()
    main = page.locator("main")
    expect(main).to_contain_text(CONTACT["name"])
    expect(main).to_contain_text(CONTACT["phone_e164"])
    expect(main).to_contain_text(CONTACT["email"])
    check_page(page, axe_check, assert_console_clean)
    contact = EmergencyContact.objects.get(enrollee=enrollee)
    assert (contact.name, contact.relation, contact.phone, contact.email) == (
        CONTACT["name"],
        CONTACT["relation"],
        CONTACT["phone_e164"],
        CONTACT["email"],
    )
    submit(page, back_home)
    expect(page.locator("main")).to_contain_text(f"{CONTACT['name']} ({CONTACT['relation']})")

    # Messages: health by email, demonstrations in a daily digest, security off ---------------
    submit(page, page.locator(f'main a[href="/{language}/lima/enroll/account/messages/"]'))
    check_page(page, axe_check, assert_console_clean)
    expect(page.locator("#id_security_email")).to_be_checked()  # on until the person says no
    tap_label(page, "id_health_email")
    tap_label(page, "id_demonstration_email")
    tap_choice(page, "demonstration_delivery", Cadence.DIGEST.value)
    tap_label(page, "id_security_email", checked=False)
    submit(page, page.locator("main form button[type=submit]"))
    assert page.url == home_url
    expect(page.locator(".usa-alert--success")).to_be_visible()
    check_page(page, axe_check, assert_console_clean)

    saved = {
        (row.kind, row.channel): (row.enabled, row.delivery)
        for row in MessagePreference.objects.filter(enrollee=enrollee)
    }
    email_channel = Channel.EMAIL.value
    assert saved[(MessageKind.HEALTH.value, email_channel)] == (True, Cadence.IMMEDIATE)
    assert saved[(MessageKind.DEMONSTRATION.value, email_channel)] == (True, Cadence.DIGEST)
    assert saved[(MessageKind.SECURITY.value, email_channel)][0] is False
    assert saved[(MessageKind.EMERGENCY.value, email_channel)][0] is True
    assert not any(
        enabled for (_kind, channel), (enabled, _when) in saved.items() if channel == "sms"
    )

    messages = page.locator("#home-messages ~ ul li")
    for line in (
        preference_line(language, MessageKind.HEALTH, "email", Cadence.IMMEDIATE),
        preference_line(language, MessageKind.DEMONSTRATION, "email", Cadence.DIGEST),
        preference_line(language, MessageKind.SECURITY, "off", Cadence.IMMEDIATE),
    ):
        expect(messages.filter(has_text=line)).to_have_count(1)

    # The form shows the choices as saved.
    submit(page, page.locator(f'main a[href="/{language}/lima/enroll/account/messages/"]'))
    expect(page.locator("#id_health_email")).to_be_checked()
    expect(page.locator("#id_security_email")).not_to_be_checked()
    expect(page.locator('input[name="demonstration_delivery"][value="digest"]')).to_be_checked()
    submit(page, back_home)

    # Download everything -----------------------------------------------------------------
    with page.expect_download() as download_info:
        page.locator(f'main a[href="/{language}/lima/enroll/account/my-data.json"]').first.click()
    download = download_info.value
    assert download.failure() is None
    assert download.suggested_filename == "my-enrollment-data.json"
    raw = Path(download.path()).read_text(encoding="utf-8")
    data = json.loads(raw)
    assert data["profile"]["full_name"] == PERSON["full_name"]
    assert data["profile"]["date_of_birth"] == "1990-01-19"
    assert data["profile"]["language"] == language
    assert data["account"]["email"] == PERSON["email"]
    [exported_trip] = data["trips"]
    assert exported_trip["arrival"] == arrival.isoformat()
    assert exported_trip["departure"] == departure.isoformat()
    assert exported_trip["purpose"] == TRIP["purpose"]
    assert exported_trip["lodging_or_local_contact"] == TRIP["lodging"]
    assert [(r["code"], r["place"]) for r in exported_trip["regions"]] == [
        (TRIP["region"], TRIP["place"])
    ]
    assert [(c["full_name"], c["date_of_birth"]) for c in exported_trip["companions"]] == [
        (COMPANION["full_name"], "2015-11-03")
    ]
    [exported_contact] = data["emergency_contacts"]
    assert exported_contact["name"] == CONTACT["name"]
    assert exported_contact["phone"] == CONTACT["phone_e164"]
    assert exported_contact["email"] == CONTACT["email"]
    preferences = data["message_preferences"]
    assert preferences["health"] == {"email": True, "sms": False, "delivery": "immediate"}
    assert preferences["demonstration"] == {"email": True, "sms": False, "delivery": "digest"}
    assert preferences["security"]["email"] is False
    # Never the password, nor its hash, nor a database key.
    assert not {"password", "pk"} & keys_of(data)
    assert PERSON["password"] not in raw
    assert enrollee.password not in raw
    # The page did not move, and nothing complained.
    assert page.url == home_url
    assert_console_clean(page)

    # Delete the account: the question, then yes --------------------------------------------
    submit(page, page.locator(f'main a[href="/{language}/lima/enroll/account/delete/"]'))
    assert page.url == f"{enroll}/account/delete/"
    check_page(page, axe_check, assert_console_clean)
    submit(page, page.locator('main form[method="post"] button[type=submit]'))
    assert page.url == f"{enroll}/account/deleted/"
    check_page(page, axe_check, assert_console_clean)

    assert not Enrollee.objects.exists()
    assert set(rows_of(enrollee).values()) == {0}, rows_of(enrollee)
    tally = DeletionTally.objects.get()
    assert (tally.reason, tally.count) == (DeletionTally.Reason.SELF, 1)
    assert tally.month == today.replace(day=1)

    # The account is gone: its page now asks to sign in ---------------------------------------
    response = page.goto(home_url)
    assert response is not None and response.status == 200
    assert page.url.startswith(f"{enroll}/sign-in/"), page.url
    expect(page.locator("#id_email")).to_be_visible()
    check_page(page, axe_check, assert_console_clean)
