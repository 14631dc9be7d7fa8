"""Delivery fixtures: messages published through the alerts workflow, people to reach, and a
local SMTP server (aiosmtpd) that records, or refuses, what it is sent."""

from __future__ import annotations

import logging
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

import pytest
from aiosmtpd.controller import Controller
from django.contrib.auth.models import User
from django.core.mail.backends.smtp import EmailBackend
from django.utils import timezone

from acs.alerts import services as alerts
from acs.alerts.models import Message
from acs.core.sms import MemoryBackend
from acs.enrollment.models import Enrollee
from tests.enrollment import factories
from tests.staff.conftest import (  # noqa: F401 — the staff fixtures, for the staff pages
    permission_object,
    staff_member,
    verified_client,
)

WRITER = ["alerts.view_message", "alerts.draft_message"]
APPROVER = ["alerts.view_message", "alerts.approve_message", "alerts.send_message"]


def _user(username: str, permissions: list[str]) -> User:
    user = User.objects.create_user(username=username, email=f"{username}@example.org")
    user.user_permissions.set([permission_object(code) for code in permissions])
    return User.objects.get(pk=user.pk)


def day_start(post, days: int) -> datetime:
    """Midnight of today + ``days`` on the post's clock."""
    return datetime.combine(factories.today(post) + timedelta(days=days), time.min, post.zone)


def fields(post, **overrides) -> dict:
    """A security alert for Cusco, in effect from an hour ago for two days."""
    now = timezone.now().replace(microsecond=0)
    values = {
        "kind": "security",
        "title_en": "Road blocks on the way to Machu Picchu",
        "title_es": "Bloqueos en la ruta a Machu Picchu",
        "location_en": "Cusco region.",
        "location_es": "Región Cusco.",
        "event_en": "Protesters are **blocking roads**.",
        "event_es": "Manifestantes **bloquean carreteras**.",
        "actions_en": "- Avoid the area.",
        "actions_es": "- Evite la zona.",
        "assistance_en": "Call [+51 1 618 2000](tel:+5116182000).",
        "assistance_es": "Llame al [+51 1 618 2000](tel:+5116182000).",
        "regions": [post.regions.get(code="PE-CUS")],
        "effective_from": now - timedelta(hours=1),
        "effective_until": now + timedelta(days=2),
    }
    return values | overrides


@pytest.fixture
def publish(lima) -> Callable[..., Message]:
    """``publish(**overrides)``: a message drafted, approved by another person, published:
    its delivery rows are written. (Outside a transaction test, the on-commit dispatch does
    not run: each test sends when it wants to.)"""
    writer, approver = _user("writer", WRITER), _user("approver", APPROVER)

    def make(**overrides) -> Message:
        message = alerts.message_draft_create(post=lima, actor=writer, **fields(lima, **overrides))
        alerts.message_approve(message=message, actor=approver)
        return alerts.message_publish(message=message, actor=approver).message

    return make


@pytest.fixture
def in_cusco(lima) -> Callable[..., Enrollee]:
    """``in_cusco(**fields)``: a verified enrollee on a trip through Cusco, today to in 3 days."""

    def make(**fields) -> Enrollee:
        person = factories.verified_enrollee(lima, **fields)
        factories.trip(person, "PE-CUS", arrival=0, departure=3)
        return person

    return make


# A local SMTP server -----------------------------------------------------------------------


@dataclass
class Sink:
    """What the local SMTP server received: each message's envelope recipients and bytes.
    ``answers[address] = (code, text)`` refuses that recipient; ``data_answer`` answers the
    end of every message instead of "250"."""

    host: str
    port: int
    received: list[tuple[list[str], bytes]] = field(default_factory=list)
    answers: dict[str, tuple[int, str]] = field(default_factory=dict)
    data_answer: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def counts(self) -> Counter[str]:
        with self.lock:
            return Counter(rcpt for rcpts, _data in self.received for rcpt in rcpts)

    def backend(self) -> EmailBackend:
        return EmailBackend(host=self.host, port=self.port, timeout=10)


class _Handler:
    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.sink.answers:
            code, text = self.sink.answers[address]
            return f"{code} {text}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.sink.data_answer:
            return self.sink.data_answer
        with self.sink.lock:
            self.sink.received.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_sink() -> Iterator[Sink]:
    # aiosmtpd logs every command at INFO: thousands of lines, and time, per test.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    sink = Sink(host="127.0.0.1", port=free_port())
    controller = Controller(_Handler(sink), hostname=sink.host, port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


@pytest.fixture
def smtp(settings, smtp_sink) -> Sink:
    """Django's SMTP backend, pointed at the local server, for the whole test."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = smtp_sink.host, smtp_sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    return smtp_sink


@pytest.fixture
def texts(settings) -> Iterator[list]:
    """Text messages go to ``MemoryBackend.outbox`` (returned)."""
    settings.ACS_SMS_BACKEND = "memory"
    MemoryBackend.outbox = []
    MemoryBackend.refuse = None
    yield MemoryBackend.outbox
    MemoryBackend.outbox = []
    MemoryBackend.refuse = None
