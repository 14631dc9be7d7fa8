"""Helpers of the self-service page tests: a client signed in through the real sign-in page,
and the rows that make up one person's records."""

from __future__ import annotations

from django.db.models import Model

from acs.enrollment.models import Enrollee
from tests.conftest import CheckingClient

PASSWORD = "correct horse battery staple"  # noqa: S105 — the factories' test password
SIGN_IN = "/en/lima/enroll/sign-in/"
ACCOUNT = "/en/lima/enroll/account/"


def signed_in(person: Enrollee) -> CheckingClient:
    """A browser signed in as ``person`` (who must have confirmed their email)."""
    client = CheckingClient()
    response = client.post(SIGN_IN, {"email": person.email, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    assert response["Location"] == ACCOUNT
    return client


def _related(model: type[Model], prefix: str) -> list[tuple[type[Model], str]]:
    """Every model that hangs off ``model`` by a cascade, with the lookup back to it."""
    found = []
    for relation in model._meta.related_objects:
        if not (relation.one_to_many or relation.one_to_one):
            continue
        lookup = f"{relation.field.name}__{prefix}" if prefix else relation.field.name
        found.append((relation.related_model, lookup))
        found.extend(_related(relation.related_model, lookup))
    return found


def rows_of(person: Enrollee) -> dict[str, int]:
    """How many rows each table holds for ``person``: the enrollee's row, and every table
    that points at it, directly or through another (found from the models, so that a new
    table cannot be forgotten)."""
    counts = {"Enrollee": Enrollee.objects.filter(pk=person.pk).count()}
    for model, lookup in _related(Enrollee, ""):
        counts[model.__name__] = model.objects.filter(**{lookup: person.pk}).count()
    return counts
