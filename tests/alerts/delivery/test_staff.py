"""The staff pages of a message's delivery: progress (live, through its JSON), and welfare."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from acs.alerts import sending
from acs.alerts.constants import DeliveryStatus, WelfareAnswer
from acs.alerts.models import Delivery
from acs.alerts.services import outbox as services
from acs.core.models import AuditEntry
from acs.enrollment.services.profile import PhoneData, contact_add, phones_set
from acs.enrollment.services.trips import residence_set
from tests.enrollment import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer(staff_member, verified_client):
    def make(*permissions: str):
        return verified_client(staff_member("viewer", permissions=list(permissions)))

    return make


# Progress ---------------------------------------------------------------------------------


def test_the_json_counts_rows_by_channel_and_status_with_rate_and_reasons(
    publish, in_cusco, viewer
):
    for _ in range(6):
        in_cusco()
    message = publish()
    sent, failed, retrying, *_queued = Delivery.objects.filter(message=message).order_by("pk")
    now = timezone.now()
    Delivery.objects.filter(pk=sent.pk).update(status=DeliveryStatus.SENT, sent_at=now)
    Delivery.objects.filter(pk=failed.pk).update(
        status=DeliveryStatus.FAILED, error="SMTP 550: user unknown"
    )
    Delivery.objects.filter(pk=retrying.pk).update(
        status=DeliveryStatus.RETRYING, error="SMTP 451: greylisted"
    )
    browser = viewer("alerts.view_delivery")
    data = browser.get(f"/staff/messages/{message.pk}/delivery.json").json()
    assert data["channels"]["email"] == {
        "queued": 3,
        "sending": 0,
        "retrying": 1,
        "sent": 1,
        "failed": 1,
        "digest": 0,
    }
    assert data["channels"]["sms"]["queued"] == 0
    assert (data["rows"], data["open"], data["rate_per_minute"]) == (6, 4, 1)
    assert data["seconds_left"] == 240  # 4 rows at 1 a minute
    assert data["finished"] is False
    reasons = {(row["status"], row["reason"], row["count"]) for row in data["failures"]}
    assert reasons == {
        ("failed", "SMTP 550: user unknown", 1),
        ("retrying", "SMTP 451: greylisted", 1),
    }


def test_the_progress_page_updates_itself_and_works_without_script(publish, in_cusco, viewer):
    in_cusco()
    message = publish()
    sending.batch_send(delivery_ids=list(message.deliveries.values_list("pk", flat=True)))
    browser = viewer("alerts.view_delivery")
    response = browser.get(f"/staff/messages/{message.pk}/delivery/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'src="/static/acs/delivery-progress.js"' in html
    assert f'data-json-url="/staff/messages/{message.pk}/delivery.json"' in html
    assert f'href="/staff/messages/{message.pk}/delivery/">Refresh' in html
    assert 'data-field="email.sent">1<' in html
    assert AuditEntry.objects.filter(action="acs.delivery.progress_viewed").count() == 1


def test_progress_needs_its_permission(publish, viewer):
    message = publish()
    browser = viewer("alerts.view_welfare")
    assert browser.get(f"/staff/messages/{message.pk}/delivery/").status_code == 403
    assert browser.get(f"/staff/messages/{message.pk}/delivery.json").status_code == 403


def test_an_unknown_message_is_not_found(viewer):
    browser = viewer("alerts.view_delivery", "alerts.view_welfare")
    for path in ("alerts/delivery/", "delivery.json", "welfare/"):
        assert browser.get(f"/staff/messages/999999/{path}").status_code == 404


def test_the_time_left_follows_the_last_minute(publish, in_cusco):
    for _ in range(3):
        in_cusco()
    message = publish()
    from acs.alerts.selectors import delivery_progress

    now = timezone.now()
    assert delivery_progress(message=message, now=now).seconds_left is None
    Delivery.objects.filter(message=message).update(
        status=DeliveryStatus.SENT, sent_at=now - timedelta(seconds=10)
    )
    progress = delivery_progress(message=message, now=now)
    assert progress.finished and progress.seconds_left == 0
    assert str(progress.eta_text()) == "Finished."


def test_the_page_counts_rows_in_doubt_and_sent_again(publish, in_cusco, viewer):
    for _ in range(3):
        in_cusco()
    message = publish()
    waiting, resent, _plain = Delivery.objects.filter(message=message).order_by("pk")
    Delivery.objects.filter(pk=waiting.pk).update(in_doubt=True)  # handed back, not yet out
    Delivery.objects.filter(pk=resent.pk).update(
        in_doubt=True, status=DeliveryStatus.SENT, sent_at=timezone.now()
    )
    browser = viewer("alerts.view_delivery")
    data = browser.get(f"/staff/messages/{message.pk}/delivery.json").json()
    assert (data["in_doubt"], data["resent"]) == (1, 1)
    html = browser.get(f"/staff/messages/{message.pk}/delivery/").content.decode()
    assert '<strong data-field="in_doubt">1</strong>' in html
    assert '<strong data-field="resent">1</strong>' in html


def test_a_delivery_still_being_written_is_not_finished(publish, in_cusco, viewer):
    in_cusco()
    message = publish()
    Delivery.objects.filter(message=message).update(
        status=DeliveryStatus.SENT, sent_at=timezone.now()
    )
    browser = viewer("alerts.view_delivery")
    url = f"/staff/messages/{message.pk}/delivery.json"
    assert browser.get(url).json()["finished"] is True
    # As it is while the fan-out's steps still write rows: what is written is all sent,
    # but more people are coming.
    type(message).objects.filter(pk=message.pk).update(fanout_done_at=None)
    data = browser.get(url).json()
    assert data["finished"] is False and data["writing"] is True


# Welfare --------------------------------------------------------------------------------------


def answer(message, person, value: str) -> None:
    row = Delivery.objects.select_related("message").get(message=message, enrollee=person)
    services.welfare_answer(delivery=row, answer=value)


def test_welfare_counts_per_region_and_lists_who_needs_help_with_contacts(lima, publish, viewer):
    cusco, puno = factories.region(lima, "PE-CUS"), factories.region(lima, "PE-PUN")
    safe, helpless, silent = (factories.verified_enrollee(lima, full_name=n) for n in "ABC")
    residence_set(enrollee=safe, region=cusco)
    residence_set(enrollee=helpless, region=puno)
    factories.trip(silent, "PE-CUS", "PE-PUN", arrival=0, departure=2)
    phones_set(enrollee=helpless, phones=[PhoneData(public_id=None, number="+51911222333")])
    contact_add(enrollee=helpless, name="Mother of B", relation="mother", phone="+12025550100")
    message = publish(kind="emergency", regions=[cusco, puno])
    answer(message, safe, WelfareAnswer.SAFE)
    answer(message, helpless, WelfareAnswer.SAFE)
    answer(message, helpless, WelfareAnswer.NEED_HELP)  # the latest answer counts

    browser = viewer("alerts.view_welfare")
    response = browser.get(f"/staff/messages/{message.pk}/welfare/")
    assert response.status_code == 200
    welfare = response.context["answers"]
    rows = {row.region.code: (row.safe, row.help, row.unanswered) for row in welfare.regions}
    assert rows == {"PE-CUS": (1, 0, 1), "PE-PUN": (0, 1, 1)}  # C is in both regions
    total = welfare.total
    assert (total.safe, total.help, total.unanswered) == (1, 1, 1)  # each person once
    [person] = welfare.needs_help
    assert person.enrollee == helpless and [r.code for r in person.regions] == ["PE-PUN"]
    html = response.content.decode()
    for shown in (
        helpless.full_name,
        helpless.email,
        "+51911222333",
        "Mother of B",
        "+12025550100",
    ):
        assert shown in html
    entry = AuditEntry.objects.get(action="acs.welfare.viewed")
    assert "help=1" in entry.summary and entry.actor is not None


def test_welfare_needs_its_permission(publish, viewer):
    message = publish(kind="emergency")
    browser = viewer("alerts.view_delivery")
    assert browser.get(f"/staff/messages/{message.pk}/welfare/").status_code == 403
    assert not AuditEntry.objects.filter(action="acs.welfare.viewed").exists()
