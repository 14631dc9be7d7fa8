"""The back office's message pages: compose, the preview with the number of recipients, and
the workflow's buttons, each through a real signed-in session with exactly its role."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from acs.alerts import services
from acs.alerts.constants import MessageStatus
from acs.alerts.models import Delivery, Message
from acs.alerts.services import outbox
from acs.core.models import AuditEntry
from acs.staff.roles import APPROVER, COMMUNICATIONS, CONSULAR_OFFICER
from acs.staff.services import roles_sync
from tests.enrollment import factories
from tests.staff.conftest import staff_member, verified_client  # noqa: F401 — fixtures

pytestmark = pytest.mark.django_db


@pytest.fixture
def role(lima, staff_member, verified_client):  # noqa: F811
    """``role(name)``: (user, signed-in client) for someone holding only that role."""
    roles_sync()

    def make(name: str, username: str | None = None):
        creds = staff_member(username or name.lower().replace(" ", "-"), groups=[name])
        return creds.user, verified_client(creds)

    return make


def form_data(lima, **overrides) -> dict:
    now = timezone.now().astimezone(lima.zone)
    until = now + timedelta(days=1)
    data = {
        "kind": "security",
        "title_en": "Road blocks near Cusco",
        "title_es": "Bloqueos cerca de Cusco",
        "event_en": "Roads to the Sacred Valley are **blocked**.",
        "event_es": "Las carreteras al Valle Sagrado están **bloqueadas**.",
        "actions_en": "Avoid the area.",
        "actions_es": "Evite la zona.",
        "regions": [str(lima.regions.get(code="PE-CUS").pk)],
        "from_date": now.date().isoformat(),
        "from_time": (now - timedelta(minutes=5)).strftime("%H:%M"),
        "until_date": until.date().isoformat(),
        "until_time": until.strftime("%H:%M"),
        "cap_category": "Security",
        "cap_urgency": "Expected",
        "cap_severity": "Moderate",
        "cap_certainty": "Likely",
    }
    return data | overrides


def test_the_compose_form_starts_from_the_kind_and_the_post(role, lima):
    _user, browser = role(COMMUNICATIONS)
    response = browser.get("/staff/messages/new/?kind=weather")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<option value="Met" selected>' in html
    assert '<option value="weather" selected>' in html
    assert "tel:+5116182000" in html  # the hotline, in the assistance part
    assert "Línea de emergencia" in html or "emergency hotline" in html
    assert "Lima time (UTC−05:00)" in html
    assert 'name="regions"' in html and "Cusco (PE-CUS)" in html


def test_composing_saves_a_draft(role, lima):
    user, browser = role(COMMUNICATIONS)
    response = browser.post("/staff/messages/new/", form_data(lima))
    message = Message.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/staff/messages/{message.pk}/"
    assert message.status == MessageStatus.DRAFT and message.created_by == user
    starts = message.effective_from.astimezone(lima.zone)
    assert starts.tzinfo is not None and starts.utcoffset() == timedelta(hours=-5)
    assert AuditEntry.objects.filter(action="acs.message.drafted", actor=user).exists()


@pytest.mark.parametrize(
    ("overrides", "text"),
    [
        ({"title_en": ""}, "This field is required."),
        ({"title_es": "  "}, "This field is required."),
        ({"event_es": ""}, "This field is required."),
        ({"until_date": "2020-01-01"}, "“Until” must be later than “from”."),
        ({"regions": []}, "Choose the affected regions, or the whole country."),
        ({"regions": ["999999"]}, "A region you chose is served by another post."),
        ({"actions_es": ""}, "Write this part in Spanish too, or leave both out."),
        ({"from_date": "not a date"}, "Enter a valid date."),
    ],
)
def test_bad_input_gives_a_plain_message_and_saves_nothing(role, lima, overrides, text):
    _user, browser = role(COMMUNICATIONS)
    response = browser.post("/staff/messages/new/", form_data(lima, **overrides))
    assert response.status_code == 400
    assert text in response.content.decode()
    assert not Message.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="acs.message").exists()


def test_a_region_of_another_post_is_refused(role, lima, new_york):
    _user, browser = role(COMMUNICATIONS)
    foreign = new_york.regions.get(code="US-NY")
    response = browser.post("/staff/messages/new/", form_data(lima, regions=[str(foreign.pk)]))
    assert response.status_code == 400 and not Message.objects.exists()


def test_compose_approve_publish_through_the_pages(role, lima, dispatched):
    _writer, writing = role(COMMUNICATIONS)
    approver, approving = role(APPROVER)
    person = factories.verified_enrollee(lima)
    factories.trip(person, "PE-CUS", arrival=0, departure=3)
    writing.post("/staff/messages/new/", form_data(lima))
    message = Message.objects.get()
    page = f"/staff/messages/{message.pk}/"

    # The writer sees the preview and the count, but no approve button.
    html = writing.get(page).content.decode()
    assert "1 person would receive it now." in html
    assert "The email in English" in html and "The email in Spanish" in html
    assert "<strong>blocked</strong>" in html and "<strong>bloqueadas</strong>" in html
    assert f"/staff/messages/{message.pk}/approve/" not in html
    assert writing.post(f"{page}approve/").status_code == 403  # not their role

    # The approver approves, then publishes.
    html = approving.get(page).content.decode()
    assert f'action="/staff/messages/{message.pk}/approve/"' in html
    assert approving.post(f"{page}approve/").status_code == 302
    message.refresh_from_db()
    assert message.status == MessageStatus.APPROVED and message.approved_by == approver
    html = approving.get(page).content.decode()
    assert "Publish and send to 1 person" in html
    assert approving.post(f"{page}publish/").status_code == 302
    message.refresh_from_db()
    assert message.status == MessageStatus.PUBLISHED
    html = approving.get(page).content.decode()
    assert "Writing the deliveries: 0 so far." in html  # the workers have not run yet
    assert outbox.deliveries_write_all(message_id=message.pk) == 1
    html = approving.get(page).content.decode()
    assert "1 delivery was written when it was sent." in html
    assert "acs.message.published" in html  # the history
    # Pressing publish again sends nothing more.
    approving.post(f"{page}publish/")
    assert Delivery.objects.filter(message=message).count() == 1


def test_an_approver_who_wrote_the_draft_is_told_and_refused(role, lima):
    _officer, browser = role(CONSULAR_OFFICER)
    browser.post("/staff/messages/new/", form_data(lima))
    message = Message.objects.get()
    html = browser.get(f"/staff/messages/{message.pk}/").content.decode()
    assert "You wrote or changed this draft" in html
    response = browser.post(f"/staff/messages/{message.pk}/approve/", follow=True)
    assert "Nobody approves their own draft" in response.content.decode()
    message.refresh_from_db()
    assert message.status == MessageStatus.DRAFT


def test_the_emergency_page_needs_a_reason_then_sends(role, lima, dispatched):
    officer, browser = role(CONSULAR_OFFICER)
    browser.post("/staff/messages/new/", form_data(lima, kind="emergency"))
    message = Message.objects.get()
    page = f"/staff/messages/{message.pk}/send-alone/"
    assert "Approve and send now" in browser.get(page).content.decode()
    response = browser.post(page, {"reason": "now"})
    assert response.status_code == 400
    assert "Write why this cannot wait" in response.content.decode()
    message.refresh_from_db()
    assert message.status == MessageStatus.DRAFT
    reason = "Strong earthquake in Cusco, approver unreachable."
    assert browser.post(page, {"reason": reason}).status_code == 302
    message.refresh_from_db()
    assert message.status == MessageStatus.PUBLISHED and message.emergency_reason == reason
    entry = AuditEntry.objects.get(action="acs.message.sent_alone")
    assert entry.actor == officer and entry.summary == reason


def test_an_approver_may_not_send_alone(role, lima):
    _writer, writing = role(COMMUNICATIONS)
    _approver, approving = role(APPROVER)
    writing.post("/staff/messages/new/", form_data(lima, kind="emergency"))
    message = Message.objects.get()
    response = approving.post(
        f"/staff/messages/{message.pk}/send-alone/", {"reason": "A long enough reason for it."}
    )
    assert response.status_code == 403
    message.refresh_from_db()
    assert message.status == MessageStatus.DRAFT


def test_editing_an_approved_message_withdraws_the_approval(role, lima):
    _writer, writing = role(COMMUNICATIONS)
    approver, _approving = role(APPROVER)
    writing.post("/staff/messages/new/", form_data(lima))
    message = services.message_approve(message=Message.objects.get(), actor=approver)
    page = f"/staff/messages/{message.pk}/edit/"
    assert "Saving a change withdraws the approval" in writing.get(page).content.decode()
    response = writing.post(page, form_data(lima, title_en="Road blocks near Cusco, update"))
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.status == MessageStatus.DRAFT and message.approved_by is None
    assert message.title_en == "Road blocks near Cusco, update"


def test_follow_up_buttons_start_a_draft(role, lima):
    _writer, writing = role(COMMUNICATIONS)
    approver, _approving = role(APPROVER)
    writing.post("/staff/messages/new/", form_data(lima))
    original = Message.objects.get()
    services.message_approve(message=original, actor=approver)
    services.message_publish(message=original, actor=approver)
    html = writing.get(f"/staff/messages/{original.pk}/").content.decode()
    assert 'value="Cancel"' in html and 'value="Update"' in html
    assert writing.get(f"/staff/messages/{original.pk}/edit/").status_code == 302  # published
    response = writing.post(f"/staff/messages/{original.pk}/follow-up/", {"msg_type": "Cancel"})
    cancel = Message.objects.exclude(pk=original.pk).get()
    assert response["Location"] == f"/staff/messages/{cancel.pk}/edit/"
    assert cancel.references == original and cancel.msg_type == "Cancel"
    assert writing.get(response["Location"]).status_code == 200


def test_the_list_and_the_menu(role, lima, draft):
    _user, browser = role(APPROVER)
    draft(title_en="Waiting for someone")
    html = browser.get("/staff/messages/").content.decode()
    assert "Drafts awaiting approval" in html and "Waiting for someone" in html
    assert 'href="/staff/messages/"' in browser.get("/staff/").content.decode()
    # An approver writes nothing: no compose buttons.
    assert "/staff/messages/new/" not in html
    assert browser.get("/staff/messages/new/").status_code == 403


def test_each_role_holds_the_message_permissions_it_needs(lima):
    roles_sync()
    held = {
        name: {p.codename for p in Group.objects.get(name=name).permissions.all()}
        for name in (COMMUNICATIONS, APPROVER, CONSULAR_OFFICER)
    }
    assert {"draft_message", "view_message"} <= held[COMMUNICATIONS]
    assert not {"approve_message", "send_message"} & held[COMMUNICATIONS]
    assert {"approve_message", "send_message", "view_message"} <= held[APPROVER]
    assert "draft_message" not in held[APPROVER]
    assert {
        "draft_message",
        "approve_message",
        "send_message",
        "send_emergency_alone",
        "view_delivery",
        "view_welfare",
    } <= held[CONSULAR_OFFICER]
