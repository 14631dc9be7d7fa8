"""The audit log: append-only in the database and in the admin, searchable by post
administrators, in the post's own time."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from unittest import mock

import pytest
from django.db import DatabaseError, connection, transaction

from acs.appointments.models import Booking
from acs.core.audit import audit_record
from acs.core.models import AuditEntry
from acs.staff.roles import FRONT_DESK, POST_ADMINISTRATOR
from acs.staff.services import roles_sync

pytestmark = pytest.mark.django_db

AUDIT = "/staff/audit/"


def entry_at(when: datetime, **fields) -> AuditEntry:
    """An entry written at ``when`` (``created_at`` is set by the database layer on insert and
    can never be changed afterwards, so the clock is what we move)."""
    with mock.patch("django.utils.timezone.now", return_value=when):
        return audit_record(**fields)


@pytest.fixture
def administrator(lima, staff_member):
    roles_sync()
    return staff_member("admin-ana", groups=[POST_ADMINISTRATOR])


@pytest.fixture
def entry(lima, staff_member):
    actor = staff_member("officer-omar").user
    return audit_record(actor=actor, action="acs.booking.checked_in", post=lima, summary="Test")


# Append-only -------------------------------------------------------------------------------
def test_the_database_refuses_to_update_an_entry(entry):
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(summary="rewritten")
    entry.summary = "rewritten"
    with pytest.raises(DatabaseError), transaction.atomic():
        entry.save()
    entry.refresh_from_db()
    assert entry.summary == "Test"


def on_postgresql_only(test):
    """SQLite keeps deletes possible so that test databases can be flushed; this test exists
    only when the suite runs on PostgreSQL (CI runs both), rather than showing as skipped."""
    return test if connection.vendor == "postgresql" else None


@on_postgresql_only
def test_postgresql_refuses_to_delete_an_entry(entry):
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_the_admin_shows_entries_but_offers_no_change(entry, staff_member, verified_client):
    browser = verified_client(staff_member("root", superuser=True))
    listing = browser.get("/staff/admin/core/auditentry/")
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "acs.booking.checked_in" in html
    assert "delete_selected" not in html
    assert "/staff/admin/core/auditentry/add/" not in html

    page = browser.get(f"/staff/admin/core/auditentry/{entry.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()

    changed = browser.post(
        f"/staff/admin/core/auditentry/{entry.pk}/change/",
        {"summary": "rewritten", "_save": "Save"},
    )
    assert changed.status_code == 403
    assert browser.get("/staff/admin/core/auditentry/add/").status_code == 403
    assert browser.get(f"/staff/admin/core/auditentry/{entry.pk}/delete/").status_code == 403
    assert browser.post(f"/staff/admin/core/auditentry/{entry.pk}/delete/").status_code == 403
    bulk = browser.post(
        "/staff/admin/core/auditentry/",
        {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
    )
    assert bulk.status_code in (200, 302)
    entry.refresh_from_db()
    assert entry.summary == "Test"


def test_the_audit_page_takes_no_post(administrator, verified_client):
    browser = verified_client(administrator)
    assert browser.post(AUDIT, {"summary": "x"}).status_code == 405


# The page ----------------------------------------------------------------------------------
def test_post_administrators_read_the_log_newest_first(lima, administrator, entry, verified_client):
    later = audit_record(
        actor=administrator.user, action="acs.closure.created", post=lima, summary="Later"
    )
    response = verified_client(administrator).get(AUDIT)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index(later.summary) < html.index(entry.summary)
    assert "officer-omar" in html
    assert "America/Lima" in html


def test_rows_show_local_time_the_record_and_before_and_after(
    lima, administrator, staff_member, verified_client
):
    entry_at(
        datetime(2030, 5, 2, 4, 30, tzinfo=UTC),  # 23:30 on 1 May in Lima
        actor=staff_member("officer-omar").user,
        action="acs.booking.served",
        target=Booking(pk=77),
        post=lima,
        summary="Marked served",
        changes={"status": ["checked_in", "served"], "reason": "Came back"},
    )
    html = verified_client(administrator).get(AUDIT).content.decode()
    assert "2030-05-01 23:30:00" in html
    assert "UTC−05:00" in html
    assert re.search(r'<a class="usa-link" href="/staff/bookings/77/">Booking 77</a>', html)
    assert re.search(r'checked_in <span aria-hidden="true">→</span>.*served', html)
    assert "Came back" in html


def test_search_by_text_action_group_and_actor(lima, administrator, staff_member, verified_client):
    omar = staff_member("officer-omar").user
    audit_record(actor=omar, action="acs.booking.checked_in", post=lima, summary="Ana Díaz in")
    audit_record(actor=omar, action="acs.closure.created", post=lima, summary="Street blocked")
    audit_record(
        actor=administrator.user, action="acs.booking.cancelled", post=lima, summary="Bo gone"
    )
    audit_record(
        actor=None,
        action="acs.booking.no_show",
        target=Booking(pk=4321),
        post=lima,
        summary="No one came",
    )
    browser = verified_client(administrator)
    everything = ("Ana Díaz in", "Street blocked", "Bo gone", "No one came")

    def summaries(**query) -> set[str]:
        response = browser.get(AUDIT, query)
        assert response.status_code == 200
        html = response.content.decode()
        return {s for s in everything if s in html}

    assert summaries() == set(everything)
    assert summaries(q="4321") == {"No one came"}  # a record's number
    assert summaries(actor="system") == {"No one came"}

    assert summaries(q="street") == {"Street blocked"}
    assert summaries(q="officer-omar") == {"Ana Díaz in", "Street blocked"}
    assert summaries(action="acs.booking") == {"Ana Díaz in", "Bo gone", "No one came"}
    assert summaries(action="acs.booking.cancelled") == {"Bo gone"}
    assert summaries(actor=omar.pk) == {"Ana Díaz in", "Street blocked"}
    assert summaries(actor=omar.pk, action="acs.booking") == {"Ana Díaz in"}
    # The select offers the groups and the actions on record.
    html = browser.get(AUDIT).content.decode()
    assert 'value="acs.booking"' in html
    assert 'value="acs.closure.created"' in html


def test_search_by_post_local_dates(lima, administrator, staff_member, verified_client):
    omar = staff_member("officer-omar").user
    # 23:30 on 1 May in Lima, which is already 2 May in UTC.
    entry_at(
        datetime(2030, 5, 2, 4, 30, tzinfo=UTC),
        actor=omar,
        action="a.b.c",
        post=lima,
        summary="Late on the first",
    )
    # 00:30 on 2 May in Lima.
    entry_at(
        datetime(2030, 5, 2, 5, 30, tzinfo=UTC),
        actor=omar,
        action="a.b.c",
        post=lima,
        summary="Early on the second",
    )
    browser = verified_client(administrator)

    def found(**query) -> list[str]:
        html = browser.get(AUDIT, query).content.decode()
        return [s for s in ("Late on the first", "Early on the second") if s in html]

    assert found(since="2030-05-01", until="2030-05-01") == ["Late on the first"]
    assert found(since="2030-05-02") == ["Early on the second"]
    assert found(until="2030-05-01") == ["Late on the first"]
    # An end before the start is an error to correct, not an empty log.
    response = browser.get(AUDIT, {"since": "2030-05-02", "until": "2030-05-01"})
    assert "The end date is before the start date." in response.content.decode()
    assert found(since="2030-05-02", until="2030-05-01") == []


def test_the_log_pages_by_fifty(
    lima, administrator, verified_client, django_assert_max_num_queries
):
    for number in range(51):
        audit_record(
            actor=administrator.user, action="acs.test.done", post=lima, summary=f"Entry {number}"
        )
    browser = verified_client(administrator)
    with django_assert_max_num_queries(12):
        first = browser.get(AUDIT).content.decode()
    assert "Entry 50<" in first
    assert "Entry 1<" in first
    assert "Entry 0<" not in first
    assert "51 entries" in first
    assert "page=2" in first
    second = browser.get(AUDIT, {"page": 2, "action": "acs.test"}).content.decode()
    assert "Entry 0<" in second
    assert "Entry 1<" not in second


def test_reading_the_log_is_not_itself_audited(administrator, entry, verified_client):
    browser = verified_client(administrator)
    count = AuditEntry.objects.count()
    browser.get(AUDIT, {"q": "anything"})
    assert AuditEntry.objects.count() == count


def test_front_desk_cannot_read_the_log_here_or_in_the_admin(
    lima, entry, staff_member, verified_client
):
    roles_sync()
    browser = verified_client(staff_member("desk-dora", groups=[FRONT_DESK]))
    assert browser.get(AUDIT).status_code == 403
    assert browser.get("/staff/admin/core/auditentry/").status_code == 403


def test_entries_of_no_post_are_for_the_network_only(
    lima, administrator, staff_member, verified_client
):
    """A post's staff read their post's entries; what belongs to no post (the network's own
    acts) is read by a network role."""
    audit_record(actor=None, action="acs.network.checked", summary="Network-wide entry")
    audit_record(actor=None, action="acs.booking.no_show", post=lima, summary="Lima entry")
    local = verified_client(administrator).get(AUDIT).content.decode()
    assert "Lima entry" in local and "Network-wide entry" not in local
    network = staff_member("network", permissions=["core.view_auditentry"], post=None)
    everywhere = verified_client(network).get(AUDIT).content.decode()
    assert "Lima entry" in everywhere and "Network-wide entry" in everywhere
