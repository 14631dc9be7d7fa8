"""``rows_insert``: what it writes reads back exactly as the ORM would have written it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import DataError, connection, transaction

from acs.core.constants import EmailStatus
from acs.core.models import OutgoingEmail
from acs.core.rows import rows_insert

pytestmark = pytest.mark.django_db


def test_rows_are_written_in_one_go_with_defaults_and_their_ids_in_order(
    django_assert_num_queries,
):
    when = datetime(2027, 3, 1, 14, 30, tzinfo=UTC)
    rows = [
        {
            "kind": "test.kind",
            "arguments": {"n": number, "text": "ñandú “quoted”", "list": [1, None]},
            "to": f"person{number}@example.org",
            "language": "es",
            "message_id": f"<{number}@example.org>",
            "enqueued_at": when,
        }
        for number in range(3)
    ]
    with django_assert_num_queries(1):
        ids = rows_insert(OutgoingEmail, rows)
    assert len(set(ids)) == 3
    for number, pk in enumerate(ids):
        email = OutgoingEmail.objects.get(pk=pk)
        assert email.to == f"person{number}@example.org"
        assert email.arguments == rows[number]["arguments"]
        assert email.enqueued_at == when
        # Defaults: the status, attempts, blank text, NULL times, and created_at's callable.
        assert email.status == EmailStatus.QUEUED and email.attempts == 0
        assert email.claimed_by == "" and email.sent_at is None
        assert email.created_at is not None


def test_nothing_to_write_asks_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert rows_insert(OutgoingEmail, []) == []


def test_one_row_and_many_rows_read_back_alike():
    one = rows_insert(OutgoingEmail, [_email("a")])
    many = rows_insert(OutgoingEmail, [{**_email(n), "arguments": [n]} for n in range(40)])
    assert OutgoingEmail.objects.get(pk=one[0]).to == "a@example.org"
    assert [OutgoingEmail.objects.get(pk=pk).arguments for pk in many] == [[n] for n in range(40)]


def test_a_text_longer_than_its_column_is_never_cut():
    # PostgreSQL refuses it, as for the ORM; SQLite checks no size, and stores all of it.
    too_long = "x" * (OutgoingEmail._meta.get_field("to").max_length + 1)
    if connection.vendor == "postgresql":
        with pytest.raises(DataError), transaction.atomic():
            rows_insert(OutgoingEmail, [{**_email("a"), "to": too_long}])
        assert not OutgoingEmail.objects.filter(kind="k").exists()
    else:
        [pk] = rows_insert(OutgoingEmail, [{**_email("a"), "to": too_long}])
        assert OutgoingEmail.objects.get(pk=pk).to == too_long


def _email(name) -> dict:
    return {"kind": "k", "to": f"{name}@example.org", "message_id": f"<{name}@example.org>"}
