"""The workflow's rules: who may draft, approve, publish and send alone; publishing writes the
deliveries once; bad input gives a plain message and saves and sends nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from acs.alerts import services
from acs.alerts.constants import CapUrgency, MessageStatus, MessageType
from acs.alerts.models import Delivery, Message
from acs.alerts.services import outbox
from acs.core.models import AuditEntry
from tests.alerts.conftest import APPROVER, DRAFTER, OFFICER, message_fields
from tests.enrollment import factories

pytestmark = pytest.mark.django_db


def actions(message: Message) -> list[str]:
    return list(
        AuditEntry.objects.filter(object_type="alerts.message", object_id=str(message.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


def refused(code: str, call, **kwargs):
    with pytest.raises(ValidationError) as caught:
        call(**kwargs)
    assert caught.value.code == code, caught.value
    assert caught.value.messages[0]  # a plain sentence
    return caught.value


@pytest.fixture
def travellers(lima):
    """Two people in Cusco while the message is in effect (one with two matching trips), one
    in Lima, one who arrives in Cusco after it ends."""
    in_cusco = factories.verified_enrollee(lima)
    factories.trip(in_cusco, "PE-CUS", arrival=-1, departure=1)
    factories.trip(in_cusco, "PE-PUN", "PE-CUS", arrival=2, departure=5)
    also = factories.verified_enrollee(lima)
    factories.trip(also, "PE-CUS", arrival=0, departure=2)
    elsewhere = factories.verified_enrollee(lima)
    factories.trip(elsewhere, "PE-LIM", arrival=0, departure=2)
    later = factories.verified_enrollee(lima)
    factories.trip(later, "PE-CUS", arrival=5, departure=8)
    return [in_cusco, also]


# Drafting -----------------------------------------------------------------------------------


def test_a_draft_is_saved_and_audited(lima, drafter, draft):
    message = draft()
    assert message.status == MessageStatus.DRAFT
    assert message.created_by == drafter
    assert [r.code for r in message.regions.all()] == ["PE-CUS"]
    entry = AuditEntry.objects.get(action="acs.message.drafted")
    assert entry.actor == drafter and entry.object_id == str(message.pk)
    assert entry.changes["title_en"][1] == message.title_en
    assert entry.changes["regions"] == [None, "PE-CUS"]


def test_drafting_needs_the_permission(lima, person):
    nobody = person("nobody", ["alerts.view_message"])
    refused(
        "permission",
        services.message_draft_create,
        post=lima,
        actor=nobody,
        **message_fields(lima),
    )
    assert not Message.objects.exists()


def test_the_cap_category_starts_from_the_kind(lima, draft):
    assert draft(kind="weather").cap_category == "Met"
    assert draft(kind="health").cap_category == "Health"
    assert draft(kind="weather", cap_category="Geo").cap_category == "Geo"


def test_the_whole_country_drops_a_list_of_regions(lima, draft):
    message = draft(whole_country=True)
    assert message.whole_country and not message.regions.exists()


# Bad input: a plain message, nothing saved, nothing sent -----------------------------------


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"title_en": ""}, "title"),
        ({"title_es": "   "}, "title"),
        ({"event_en": ""}, "event"),
        ({"event_es": " \n"}, "event"),
        ({"regions": [], "whole_country": False}, "no_area"),
        ({"kind": "gossip"}, "invalid"),
        ({"cap_urgency": "Yesterday"}, "invalid"),
        ({"title_en": "x" * 201}, "invalid"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_saved(lima, drafter, overrides, code, dispatched):
    before = AuditEntry.objects.count()
    refused(
        code,
        services.message_draft_create,
        post=lima,
        actor=drafter,
        **message_fields(lima, **overrides),
    )
    assert not Message.objects.exists()
    assert AuditEntry.objects.count() == before
    assert not Delivery.objects.exists() and dispatched == []


@pytest.mark.parametrize("hours", [0, -1, -48])
def test_until_before_or_equal_to_from_is_refused(lima, drafter, hours):
    starts = timezone.now()
    fields = message_fields(
        lima, effective_from=starts, effective_until=starts + timedelta(hours=hours)
    )
    refused("until_before_from", services.message_draft_create, post=lima, actor=drafter, **fields)
    assert not Message.objects.exists()


def test_a_region_of_another_country_is_refused(lima, new_york, drafter):
    foreign = new_york.regions.get(code="US-NY")
    fields = message_fields(lima, regions=[lima.regions.get(code="PE-CUS"), foreign])
    refused("foreign_region", services.message_draft_create, post=lima, actor=drafter, **fields)
    assert not Message.objects.exists()


def test_a_bad_change_leaves_the_draft_as_it_was(lima, drafter, draft, new_york):
    message = draft()
    for change, code in [
        ({"title_es": ""}, "title"),
        ({"regions": [new_york.regions.get(code="US-NY")]}, "foreign_region"),
        ({"effective_until": message.effective_from}, "until_before_from"),
    ]:
        refused(code, services.message_draft_update, message=message, actor=drafter, **change)
    message.refresh_from_db()
    assert message.title_es and [r.code for r in message.regions.all()] == ["PE-CUS"]
    assert actions(message) == ["acs.message.drafted"]


def test_an_update_must_refer_to_a_published_message(lima, drafter, draft):
    earlier = draft()
    fields = message_fields(lima, msg_type=MessageType.UPDATE, references=earlier)
    refused("references", services.message_draft_create, post=lima, actor=drafter, **fields)
    fields = message_fields(lima, msg_type=MessageType.UPDATE)
    refused("references", services.message_draft_create, post=lima, actor=drafter, **fields)


# Approval -----------------------------------------------------------------------------------


def test_nobody_approves_their_own_draft(lima, person, draft):
    both = person("both", OFFICER)
    message = draft(actor=both)
    refused("own_draft", services.message_approve, message=message, actor=both)
    message.refresh_from_db()
    assert message.status == MessageStatus.DRAFT and message.approved_by is None
    assert actions(message) == ["acs.message.drafted"]


def test_nobody_approves_a_draft_they_changed(lima, draft, person):
    editor = person("editor", [*DRAFTER, *APPROVER])
    message = draft()
    services.message_draft_update(message=message, actor=editor, title_en="A better title")
    refused("own_draft", services.message_approve, message=message, actor=editor)


def test_an_approver_without_the_permission_is_refused(lima, draft, person):
    message = draft()
    colleague = person("colleague", DRAFTER)
    refused("permission", services.message_approve, message=message, actor=colleague)
    message.refresh_from_db()
    assert message.status == MessageStatus.DRAFT


def test_someone_else_approves(lima, draft, approver):
    message = services.message_approve(message=draft(), actor=approver)
    assert message.status == MessageStatus.APPROVED and message.approved_by == approver
    assert actions(message) == ["acs.message.drafted", "acs.message.approved"]
    refused("not_draft", services.message_approve, message=message, actor=approver)


def test_a_change_after_approval_sends_it_back_to_draft(lima, draft, drafter, approver):
    message = services.message_approve(message=draft(), actor=approver)
    message = services.message_draft_update(message=message, actor=drafter, event_en="New text.")
    assert message.status == MessageStatus.DRAFT
    assert message.approved_by is None and message.approved_at is None
    entry = AuditEntry.objects.filter(action="acs.message.changed").get()
    assert entry.changes["approved_by"] == ["approver", None]
    assert entry.changes["event_en"][1] == "New text."
    refused("not_approved", services.message_publish, message=message, actor=approver)


def test_saving_without_a_change_changes_nothing(lima, draft, drafter, approver):
    message = services.message_approve(message=draft(), actor=approver)
    same = services.message_draft_update(message=message, actor=drafter, title_en=message.title_en)
    assert same.status == MessageStatus.APPROVED
    assert "acs.message.changed" not in actions(message)


# Publishing ---------------------------------------------------------------------------------


def test_publishing_returns_at_once_and_the_fan_out_writes_each_row_once(
    lima, draft, approver, travellers, dispatched, django_capture_on_commit_callbacks
):
    message = services.message_approve(message=draft(), actor=approver)
    with django_capture_on_commit_callbacks(execute=True):
        result = services.message_publish(message=message, actor=approver)
    assert result.new
    message.refresh_from_db()
    assert message.status == MessageStatus.PUBLISHED
    assert message.published_by == approver and message.published_at is not None
    # The officer's request wrote no row: it queued the fan-out's first step.
    rows = Delivery.objects.filter(message=message)
    assert not rows.exists()
    assert dispatched == [((message.pk, 0), "delivery")]
    # The step writes one row per person, and running it again (a redelivered task) adds none.
    assert outbox.deliveries_write_all(message_id=message.pk) == 2
    assert outbox.deliveries_write_next(message_id=message.pk, after=0).ids == []
    assert sorted(rows.values_list("enrollee_id", flat=True)) == sorted(p.pk for p in travellers)
    message.refresh_from_db()
    assert message.fanout_done_at is not None
    # Publishing again: no second set of rows, nothing queued again.
    with django_capture_on_commit_callbacks(execute=True):
        again = services.message_publish(message=message, actor=approver)
    assert not again.new
    assert rows.count() == 2 and len(dispatched) == 1
    assert actions(message).count("acs.message.published") == 1


def test_the_sending_is_queued_only_after_commit(lima, draft, approver, dispatched):
    message = services.message_approve(message=draft(), actor=approver)
    services.message_publish(message=message, actor=approver)
    assert dispatched == []  # the test's transaction has not committed


def test_only_an_approved_message_is_published(lima, draft, officer):
    message = draft()
    refused("not_approved", services.message_publish, message=message, actor=officer)
    assert not Delivery.objects.exists()


def test_publishing_needs_the_permission(lima, draft, approver, person):
    message = services.message_approve(message=draft(), actor=approver)
    refused("permission", services.message_publish, message=message, actor=person("x", DRAFTER))
    message.refresh_from_db()
    assert message.status == MessageStatus.APPROVED


def test_a_message_no_longer_in_effect_is_not_sent(lima, draft, approver):
    now = timezone.now()
    message = draft(
        effective_from=now - timedelta(days=3), effective_until=now - timedelta(minutes=1)
    )
    services.message_approve(message=message, actor=approver)
    refused("expired", services.message_publish, message=message, actor=approver)
    assert not Delivery.objects.exists()


# The emergency path ---------------------------------------------------------------------------

REASON = "Earthquake in Cusco; the approver cannot be reached by phone."


def test_one_officer_sends_an_emergency_alone_with_a_reason(
    lima, draft, person, travellers, dispatched, django_capture_on_commit_callbacks
):
    alone = person("alone", [*DRAFTER, "alerts.send_emergency_alone"])
    message = draft(actor=alone, kind="emergency")
    with django_capture_on_commit_callbacks(execute=True):
        result = services.message_send_alone(message=message, actor=alone, reason=REASON)
    message.refresh_from_db()
    assert result.new
    assert outbox.deliveries_write_all(message_id=message.pk) == 2
    assert message.status == MessageStatus.PUBLISHED
    assert message.approved_by == alone and message.published_by == alone
    assert message.emergency_reason == REASON
    entry = AuditEntry.objects.get(action="acs.message.sent_alone")
    assert entry.actor == alone and entry.summary == REASON
    assert entry.changes["emergency_reason"] == [None, REASON]
    assert [call[0] for call in dispatched] == [(message.pk, 0)]


@pytest.mark.parametrize("reason", ["", "   ", "urgent", "no time now", "x" * 30])
def test_sending_alone_needs_a_written_reason(lima, draft, officer, reason):
    message = draft(kind="emergency")
    refused("reason", services.message_send_alone, message=message, actor=officer, reason=reason)
    message.refresh_from_db()
    assert message.status == MessageStatus.DRAFT and not Delivery.objects.exists()
    assert "acs.message.sent_alone" not in actions(message)


def test_sending_alone_needs_the_permission(lima, draft, person):
    sender = person("sender", [*DRAFTER, *APPROVER])
    message = draft(actor=sender, kind="emergency")
    refused("permission", services.message_send_alone, message=message, actor=sender, reason=REASON)
    assert not Delivery.objects.exists()


def test_only_emergencies_and_security_alerts_go_alone(lima, draft, officer):
    message = draft(kind="weather")
    refused(
        "not_emergency",
        services.message_send_alone,
        message=message,
        actor=officer,
        reason=REASON,
    )
    services.message_send_alone(message=draft(kind="security"), actor=officer, reason=REASON)


# Updates and cancellations --------------------------------------------------------------------


def test_a_follow_up_is_a_draft_prefilled_from_the_original(lima, published, drafter):
    original = published()
    update = services.message_follow_up(
        original=original, actor=drafter, msg_type=MessageType.UPDATE
    )
    assert update.status == MessageStatus.DRAFT and update.references == original
    assert update.msg_type == MessageType.UPDATE
    assert update.title_en.startswith("Update: ") and original.title_en in update.title_en
    assert update.event_es == original.event_es
    assert list(update.regions.all()) == list(original.regions.all())
    cancel = services.message_follow_up(
        original=original, actor=drafter, msg_type=MessageType.CANCEL
    )
    assert cancel.msg_type == MessageType.CANCEL and cancel.cap_urgency == CapUrgency.PAST


def test_only_a_published_message_is_followed_up(lima, draft, drafter, published):
    refused(
        "references",
        services.message_follow_up,
        original=draft(),
        actor=drafter,
        msg_type=MessageType.UPDATE,
    )
    refused(
        "msg_type",
        services.message_follow_up,
        original=published(),
        actor=drafter,
        msg_type=MessageType.ALERT,
    )


def test_a_published_message_cannot_be_changed(lima, published, drafter):
    message = published()
    refused(
        "published", services.message_draft_update, message=message, actor=drafter, title_en="x"
    )
