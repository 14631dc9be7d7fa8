"""The personal links in a delivered message: unsubscribe (a page, and the one-click POST of
RFC 8058), and the welfare answers of an emergency. Forged tokens get a plain 404."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from acs.alerts.constants import WelfareAnswer
from acs.alerts.models import Delivery, WelfareResponse
from acs.enrollment.models import MessagePreference
from acs.enrollment.services.profile import KindChoice, enrollee_delete, preferences_set

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivered(publish, in_cusco):
    """``delivered(kind=…, language=…)``: a person in Cusco and their row of a new message."""

    def make(kind: str = "security", **person) -> Delivery:
        enrollee = in_cusco(**person)
        message = publish(kind=kind)
        return Delivery.objects.select_related("enrollee").get(message=message, enrollee=enrollee)

    return make


def preference(row: Delivery, kind: str, channel: str = "email"):
    return MessagePreference.objects.filter(
        enrollee=row.enrollee, kind=kind, channel=channel
    ).first()


# Unsubscribe ----------------------------------------------------------------------------------


def test_opening_the_link_asks_first_and_changes_nothing(client, delivered):
    row = delivered()
    response = client.get(f"/en/lima/m/unsubscribe/{row.token}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Security Alert" in html and f'action="/en/lima/m/unsubscribe/{row.token}/"' in html
    assert preference(row, "security") is None


def test_the_one_click_post_of_a_mail_program_unsubscribes_without_a_csrf_token(delivered, publish):
    row = delivered(kind="security")
    mail_program = Client(enforce_csrf_checks=True)  # no cookie, no token: as RFC 8058 says
    response = mail_program.post(
        f"/en/lima/m/unsubscribe/{row.token}/",
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert preference(row, "security").enabled is False
    # That kind no longer reaches them; the others still do.
    assert not publish(kind="security").deliveries.filter(enrollee=row.enrollee).exists()
    assert publish(kind="emergency").deliveries.filter(enrollee=row.enrollee).exists()
    # Twice is the same as once.
    assert mail_program.post(f"/en/lima/m/unsubscribe/{row.token}/").status_code == 200
    assert MessagePreference.objects.filter(enrollee=row.enrollee).count() == 1


def test_unsubscribing_keeps_the_digest_choice(publish, in_cusco):
    person = in_cusco()
    preferences_set(enrollee=person, choices={"weather": KindChoice(email=True, delivery="digest")})
    row = publish(kind="weather").deliveries.get(enrollee=person)
    Client().post(f"/es/lima/m/unsubscribe/{row.token}/")
    email_choice = preference(row, "weather")
    assert (email_choice.enabled, email_choice.delivery) == (False, "digest")


def test_forged_tokens_get_a_plain_404(client, delivered):
    row = delivered()
    for path in (
        f"/en/lima/m/unsubscribe/{uuid.uuid4()}/",
        f"/en/lima/m/welfare/{uuid.uuid4()}/safe/",
        f"/es/lima/m/welfare/{uuid.uuid4()}/help/",
        "/en/lima/m/unsubscribe/not-a-token/",
        f"/en/lima/m/welfare/{row.token}/maybe/",
    ):
        for response in (client.get(path), client.post(path)):
            assert response.status_code == 404, path
            assert b"Traceback" not in response.content
    assert MessagePreference.objects.count() == 0
    assert WelfareResponse.objects.count() == 0


def test_a_deleted_account_has_nothing_left_to_unsubscribe(client, delivered):
    row = delivered()
    enrollee_delete(enrollee=row.enrollee)
    assert client.post(f"/en/lima/m/unsubscribe/{row.token}/").status_code == 404


# Welfare ---------------------------------------------------------------------------------


def test_a_welfare_link_asks_first_then_records_the_answer(client, delivered):
    row = delivered(kind="emergency")
    page = client.get(f"/en/lima/m/welfare/{row.token}/safe/")
    assert page.status_code == 200 and b"I am safe" in page.content
    assert not WelfareResponse.objects.exists()  # a mail scanner's GET answers nothing
    client.post(f"/en/lima/m/welfare/{row.token}/safe/")
    assert WelfareResponse.objects.get(delivery=row).answer == WelfareAnswer.SAFE
    # A later answer replaces the first.
    done = client.post(f"/es/lima/m/welfare/{row.token}/help/")
    assert done.status_code == 200
    [answer] = WelfareResponse.objects.filter(delivery=row)
    assert answer.answer == WelfareAnswer.NEED_HELP


def test_the_welfare_form_is_protected_against_cross_site_posts(delivered):
    row = delivered(kind="emergency")
    response = Client(enforce_csrf_checks=True).post(f"/en/lima/m/welfare/{row.token}/help/")
    assert response.status_code == 403
    assert not WelfareResponse.objects.exists()


def test_a_message_that_is_not_an_emergency_takes_no_welfare_answer(client, delivered):
    row = delivered(kind="security")
    assert client.get(f"/en/lima/m/welfare/{row.token}/safe/").status_code == 404
    assert client.post(f"/en/lima/m/welfare/{row.token}/safe/").status_code == 404
    assert not WelfareResponse.objects.exists()
