"""``enrollment/0004``: an address with accounts at two posts stops the migration, by name of
the accounts, before anything changes (its docstring says why it does not merge)."""

from __future__ import annotations

import importlib
from datetime import date

import pytest
from django.apps import apps

from acs.enrollment.models import Enrollee

migration = importlib.import_module("acs.enrollment.migrations.0004_one_account_per_email")


def _account(post, email: str) -> Enrollee:
    # Written directly: the services (rightly) no longer allow the old state.
    return Enrollee.objects.create(
        post=post, email=email, password="x", full_name="Ana", date_of_birth=date(1980, 1, 1)
    )


def test_one_address_at_two_posts_stops_the_migration_naming_the_accounts(lima, new_york):
    first = _account(lima, "ana@example.org")
    second = _account(new_york, "Ana@Example.org")  # the same address, another case
    _account(lima, "someone@example.org")
    with pytest.raises(RuntimeError, match="more than one post") as stopped:
        migration.refuse_shared_addresses(apps, None)
    assert f"enrollee ids {first.pk}, {second.pk}" in str(stopped.value)
    assert "ana@example.org" not in str(stopped.value).lower()  # ids, not addresses


def test_an_installation_with_one_account_per_address_migrates(lima, new_york):
    _account(lima, "ana@example.org")
    _account(new_york, "bob@example.org")
    migration.refuse_shared_addresses(apps, None)
