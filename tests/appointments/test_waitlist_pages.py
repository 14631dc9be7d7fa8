"""The waitlist's pages and emails as a citizen meets them: the request form, the emailed
links (confirm, leave, claim), forged and expired links, limits and the anti-robot check."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from acs.appointments import availability
from acs.appointments.constants import HoldStatus, WaitlistStatus
from acs.appointments.models import Booking, SeatHold, WaitlistEntry
from acs.appointments.services import booking_cancel
from acs.appointments.services.waitlist import slot_offer, waitlist_confirm, waitlist_join
from acs.appointments.waitlist_emails import waitlist_email_build
from acs.core.models import OutgoingEmail
from tests.appointments.factories import make_service, person
from tests.appointments.waitlist_helpers import PHONE, book
from tests.core.outbox import hold_emails

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_emails(monkeypatch):
    hold_emails(monkeypatch)


@pytest.fixture(autouse=True)
def _pow_off(settings):
    settings.ACS_POW_ENABLED = False


@pytest.fixture
def service(lima):
    return make_service(post=lima, slug="waitlisted", seats=1, max_people=3)


def url(name: str, language: str = "en", **kwargs) -> str:
    with translation.override(language):
        return reverse(f"appointments:{name}", kwargs=kwargs)


def a_day(service):
    """A day two days ahead (never passes during a test), and its first slot."""
    today = timezone.now().astimezone(service.post.zone).date()
    day = today + timedelta(days=2)
    return day, availability.slots_between(service, day, day)[day][0]


def join_form(day, *, people=1, email="ana@example.org") -> dict[str, str]:
    data = {
        "people": str(people),
        "wait-days": [day.isoformat()],
        "person-TOTAL_FORMS": str(people),
        "person-INITIAL_FORMS": "0",
        "person-MIN_NUM_FORMS": str(people),
        "person-MAX_NUM_FORMS": str(people),
        "contact-email": email,
        "contact-phone": "987 654 321",
    }
    for index in range(people):
        data.update(
            {
                f"person-{index}-full_name": f"Ana Torres {index}",
                f"person-{index}-date_of_birth_day": "1",
                f"person-{index}-date_of_birth_month": "5",
                f"person-{index}-date_of_birth_year": "1980",
                f"person-{index}-passport_number": "",
            }
        )
    return data


def offered(service):
    """A person on the waitlist holding an offer of the day's first slot, made now."""
    day, slot = a_day(service)
    taken = book(service, slot.starts_at, 500, now=timezone.now())
    entry = waitlist_join(
        service=service, days=[day], people=[person(1)], email="wait@example.org", phone=PHONE
    )
    waitlist_confirm(entry=entry)
    booking_cancel(booking=taken)
    [hold] = slot_offer(service=service, starts_at=slot.starts_at)
    return hold


def test_the_service_and_times_pages_link_to_the_waitlist(client, service):
    page = client.get(url("service", service=service.slug)).content.decode()
    assert url("waitlist", service=service.slug) in page


def test_joining_from_the_page_sends_the_confirmation_link(client, service):
    day, _slot = a_day(service)
    page = client.get(url("waitlist", service=service.slug) + "?people=2")
    assert page.status_code == 200
    assert f'value="{day.isoformat()}"' in page.content.decode()
    assert 'name="person-1-full_name"' in page.content.decode()

    response = client.post(url("waitlist", service=service.slug), join_form(day, people=2))

    assert response.status_code == 302
    assert response["Location"] == url("waitlist_sent", service=service.slug)
    entry = WaitlistEntry.objects.get()
    assert entry.status == WaitlistStatus.UNCONFIRMED and entry.people_count == 2
    assert [d.day for d in entry.days.all()] == [day]
    row = OutgoingEmail.objects.get(kind="appointments.waitlist")
    assert row.arguments == {"entry_id": entry.pk, "kind": "confirm"}
    assert client.get(response["Location"]).status_code == 200


def test_a_request_without_days_is_refused_in_plain_words(client, service):
    day, _slot = a_day(service)
    data = join_form(day)
    del data["wait-days"]
    response = client.post(url("waitlist", service=service.slug), data)
    assert response.status_code == 400
    assert "Choose at least one day." in response.content.decode()
    assert not WaitlistEntry.objects.exists()


def test_the_anti_robot_check_and_the_limits_apply(client, service, settings):
    day, _slot = a_day(service)
    settings.ACS_POW_ENABLED = True
    response = client.post(url("waitlist", service=service.slug), join_form(day))
    assert response.status_code == 400
    assert "anti-robot check did not run" in response.content.decode()
    settings.ACS_POW_ENABLED = False
    settings.ACS_BOOKING_RATE_PER_EMAIL = 1
    client.post(url("waitlist", service=service.slug), join_form(day, email="b@example.org"))
    response = client.post(
        url("waitlist", service=service.slug), join_form(day, email="b@example.org")
    )
    assert response.status_code == 429
    assert WaitlistEntry.objects.count() == 1


def test_the_emailed_link_confirms_then_leaves(client, service):
    day, _slot = a_day(service)
    entry = waitlist_join(
        service=service, days=[day], people=[person(1)], email="a@example.org", phone=PHONE
    )
    link = url("waitlist_entry", token=entry.token)
    page = client.get(link)
    assert page.status_code == 200 and 'value="confirm"' in page.content.decode()
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.UNCONFIRMED  # opening the link changes nothing

    response = client.post(link, {"action": "confirm"})
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.WAITING
    assert "You are on the waitlist" in client.get(response["Location"]).content.decode()

    client.post(link, {"action": "leave"})
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.LEFT


def test_forged_links_say_so_and_change_nothing(client, service):
    hold = offered(service)
    before = (SeatHold.objects.get().status, WaitlistEntry.objects.get().status)
    for link in (
        url("waitlist_entry", token="x" * 32),
        url("waitlist_offer", token="x" * 32),
        url("waitlist_offer", token=hold.entry.token),  # an entry's token is not a claim's
    ):
        for response in (client.get(link), client.post(link, {"action": "leave"})):
            assert response.status_code == 404
            assert "This link is not valid or has expired" in html.unescape(
                response.content.decode()
            )
    assert (SeatHold.objects.get().status, WaitlistEntry.objects.get().status) == before
    assert not Booking.objects.filter(status="booked").exists()


def test_the_claim_link_books_once(client, service):
    hold = offered(service)
    link = url("waitlist_offer", token=hold.token)
    page = client.get(link)
    assert page.status_code == 200 and "Book this time" in page.content.decode()

    response = client.post(link)

    booking = Booking.objects.get(status="booked")
    assert response["Location"] == url("manage", token=booking.token) + "?new=1"
    again = client.post(link)
    assert again.status_code == 409
    assert "already been booked" in html.unescape(again.content.decode())
    assert Booking.objects.filter(status="booked").count() == 1
    assert url("manage", token=booking.token) in client.get(link).content.decode()


def test_an_expired_claim_link_is_refused_in_plain_words(client, service):
    hold = offered(service)
    SeatHold.objects.filter(pk=hold.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    link = url("waitlist_offer", token=hold.token)
    assert client.get(link).status_code == 410
    response = client.post(link)
    assert response.status_code == 409
    assert "This offer has ended" in html.unescape(response.content.decode())
    assert not Booking.objects.filter(status="booked").exists()
    assert SeatHold.objects.get().status == HoldStatus.HELD  # the sweep passes it on


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_emails_carry_their_links_in_the_entrys_language(service, language):
    hold = offered(service)
    entry = hold.entry
    WaitlistEntry.objects.filter(pk=entry.pk).update(language=language)
    offer = waitlist_email_build(entry_id=entry.pk, kind="offer", hold_id=hold.pk)
    text = offer.body
    assert url("waitlist_offer", language, token=hold.token) in text
    assert url("waitlist_entry", language, token=entry.token) in text
    assert offer.to == ["wait@example.org"]
    assert offer.extra_headers["Auto-Submitted"] == "auto-generated"
    html_part = offer.alternatives[0].content
    assert hold.token in html_part and service.post.hotline.international in text
    # Nothing to send for an offer no longer held, nor a confirmation already done.
    assert waitlist_email_build(entry_id=entry.pk, kind="confirm") is None
    SeatHold.objects.filter(pk=hold.pk).update(status=HoldStatus.EXPIRED)
    assert waitlist_email_build(entry_id=entry.pk, kind="offer", hold_id=hold.pk) is None
    lapsed = waitlist_email_build(entry_id=entry.pk, kind="lapsed", hold_id=hold.pk)
    assert url("waitlist", language, service=service.slug) in lapsed.body


def test_the_confirmation_email(service):
    day, _slot = a_day(service)
    entry = waitlist_join(
        service=service, days=[day], people=[person(1)], email="a@example.org", phone=PHONE
    )
    message = waitlist_email_build(entry_id=entry.pk, kind="confirm")
    assert "Confirm your place on the waitlist" in message.subject
    assert url("waitlist_entry", token=entry.token) in message.body
    assert "Person Number1" in message.body
