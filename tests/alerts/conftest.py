"""Messages fixtures: people with the workflow's permissions, a draft builder, and a recorder
of the sending that publishing queues."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from acs.alerts import services
from acs.alerts.models import Message
from acs.posts.models import Post
from tests.staff.conftest import permissions_give

DRAFTER = ["alerts.view_message", "alerts.draft_message"]
APPROVER = ["alerts.view_message", "alerts.approve_message", "alerts.send_message"]
OFFICER = [
    *DRAFTER,
    "alerts.approve_message",
    "alerts.send_message",
    "alerts.send_emergency_alone",
]


@pytest.fixture
def person(db) -> Callable[..., User]:
    """``person("name", DRAFTER)``: an account holding exactly those permissions."""

    def make(username: str, permissions: list[str] = ()) -> User:
        user = User.objects.create_user(username=username, email=f"{username}@example.org")
        permissions_give(user, permissions)
        return User.objects.get(pk=user.pk)  # no permission cache from before the grant

    return make


@pytest.fixture
def drafter(person) -> User:
    return person("writer", DRAFTER)


@pytest.fixture
def approver(person) -> User:
    return person("approver", APPROVER)


@pytest.fixture
def officer(person) -> User:
    return person("officer", OFFICER)


def message_fields(post: Post, **overrides) -> dict:
    """What a complete draft is made of: a security alert for Cusco, in effect now."""
    now = timezone.now().replace(microsecond=0)
    values = {
        "kind": "security",
        "title_en": "Road blocks on the way to Machu Picchu",
        "title_es": "Bloqueos en la ruta a Machu Picchu",
        "location_en": "Cusco region, roads to Ollantaytambo.",
        "location_es": "Región Cusco, carreteras a Ollantaytambo.",
        "event_en": "Protesters are **blocking roads**. Trains may not run.",
        "event_es": "Manifestantes **bloquean carreteras**. Los trenes podrían no circular.",
        "actions_en": "- Avoid the area.\n- Check with your tour operator.",
        "actions_es": "- Evite la zona.\n- Consulte con su operador turístico.",
        "assistance_en": "- Hotline: [+51 1 618 2000](tel:+5116182000)",
        "assistance_es": "- Línea de emergencia: [+51 1 618 2000](tel:+5116182000)",
        "regions": [post.regions.get(code="PE-CUS")],
        "effective_from": now - timedelta(hours=1),
        "effective_until": now + timedelta(days=2),
    }
    return values | overrides


@pytest.fixture
def draft(lima, drafter) -> Callable[..., Message]:
    """``draft(**overrides)``: a draft written by ``drafter``."""

    def make(actor: User | None = None, **overrides) -> Message:
        return services.message_draft_create(
            post=lima, actor=actor or drafter, **message_fields(lima, **overrides)
        )

    return make


@pytest.fixture
def published(draft, approver) -> Callable[..., Message]:
    """``published(**overrides)``: a message drafted, approved by someone else, sent."""

    def make(**overrides) -> Message:
        message = draft(**overrides)
        services.message_approve(message=message, actor=approver)
        return services.message_publish(message=message, actor=approver).message

    return make


@pytest.fixture(autouse=True)
def dispatched(monkeypatch) -> list[tuple]:
    """Every ``dispatch_message.apply_async`` call as ``(args, queue)``, instead of running
    the fan-out: these tests are about deciding to send, not about sending (a test that wants
    the rows runs ``outbox.deliveries_write_all``)."""
    from acs.alerts import tasks

    calls: list[tuple] = []

    def record(*, args, queue, **_options):
        calls.append((tuple(args), queue))

    monkeypatch.setattr(tasks.dispatch_message, "apply_async", record, raising=False)
    return calls
