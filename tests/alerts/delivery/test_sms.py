"""Text messages: the channel interface, its file and HTTP-gateway backends, the start-up
check, and SMS rows going through the same claim, send and outcome as email."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured

from acs.alerts import sending
from acs.alerts.checks import refuse_a_misconfigured_worker
from acs.alerts.constants import Channel, DeliveryStatus
from acs.alerts.models import Delivery
from acs.alerts.rendering import message_parts
from acs.core import sms
from acs.enrollment.services.profile import KindChoice, PhoneData, phones_set, preferences_set


class Gateway(BaseHTTPRequestHandler):
    """A gateway that records each request and answers with ``status`` and ``reply``."""

    requests: list[dict] = []
    status = 200
    reply = b'{"id": "gw-1"}'

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        Gateway.requests.append(
            {
                "path": self.path,
                "authorization": self.headers["Authorization"],
                "type": self.headers["Content-Type"],
                "body": json.loads(self.rfile.read(length)),
            }
        )
        self.send_response(Gateway.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(Gateway.reply)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def gateway(settings):
    Gateway.requests, Gateway.status, Gateway.reply = [], 200, b'{"id": "gw-1"}'
    server = HTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.ACS_SMS_BACKEND = "http"
    settings.ACS_SMS_GATEWAY_URL = f"http://127.0.0.1:{server.server_port}/v1/messages"
    settings.ACS_SMS_GATEWAY_TOKEN = "test-token"  # noqa: S105 — a test value
    yield Gateway
    server.shutdown()
    server.server_close()


def test_the_file_backend_writes_one_file_per_text(settings, tmp_path):
    settings.ACS_SMS_BACKEND = "file"
    settings.ACS_SMS_FILE_PATH = str(tmp_path)
    provider_id = sms.send_sms("+51987654321", "Alerta: sismo", reference="ref-1")
    [written] = tmp_path.glob("*.txt")
    text = written.read_text()
    assert "To: +51987654321" in text and "Alerta: sismo" in text and provider_id in text
    assert not list(tmp_path.glob(".*.part"))


def test_the_gateway_gets_json_with_the_bearer_token(gateway):
    assert sms.send_sms("+51987654321", "Hola", reference="abc") == "gw-1"
    [request] = gateway.requests
    assert request["path"] == "/v1/messages"
    assert request["authorization"] == "Bearer test-token"
    assert request["type"] == "application/json"
    assert request["body"] == {"to": "+51987654321", "body": "Hola", "reference": "abc"}


@pytest.mark.parametrize(
    ("status", "temporary"), [(500, True), (503, True), (429, True), (400, False), (404, False)]
)
def test_gateway_errors_are_temporary_or_permanent(gateway, status, temporary):
    gateway.status, gateway.reply = status, b'{"error": "no"}'
    with pytest.raises(sms.SmsError) as refused:
        sms.send_sms("+51987654321", "Hola")
    assert refused.value.temporary is temporary
    assert refused.value.reason.startswith(f"gateway HTTP {status}")


def test_an_unreachable_gateway_is_a_temporary_error(settings):
    from tests.alerts.delivery.conftest import free_port

    settings.ACS_SMS_BACKEND = "http"
    settings.ACS_SMS_GATEWAY_URL = f"http://127.0.0.1:{free_port()}/"
    settings.ACS_SMS_GATEWAY_TOKEN = "t"  # noqa: S105 — a test value
    with pytest.raises(sms.SmsError) as refused:
        sms.send_sms("+51987654321", "Hola")
    assert refused.value.temporary


@pytest.mark.parametrize(
    ("url", "token", "problem"),
    [
        ("", "t", "ACS_SMS_GATEWAY_URL is empty"),
        ("ftp://gateway.example/", "t", "must be an http(s) URL"),
        ("https://gateway.example/send", "", "ACS_SMS_GATEWAY_TOKEN is empty"),
    ],
)
def test_a_gateway_switched_on_but_misconfigured_stops_the_start(settings, url, token, problem):
    settings.ACS_SMS_BACKEND = "http"
    settings.ACS_SMS_GATEWAY_URL, settings.ACS_SMS_GATEWAY_TOKEN = url, token
    errors = [error for error in run_checks() if error.id == "acs.alerts.E001"]
    assert errors and problem in errors[0].msg
    with pytest.raises(ImproperlyConfigured, match="ACS_SMS_BACKEND=http"):
        refuse_a_misconfigured_worker()
    with pytest.raises(ImproperlyConfigured):
        sms.send_sms("+51987654321", "Hola")


def test_production_needs_https_and_an_unknown_backend_is_refused(settings):
    settings.ACS_SMS_BACKEND = "http"
    settings.ACS_SMS_GATEWAY_URL, settings.ACS_SMS_GATEWAY_TOKEN = "http://gw.example/", "t"
    settings.HTTPS = True
    assert any("https://" in error for error in sms.configuration_errors())
    settings.ACS_SMS_BACKEND = "pigeon"
    assert "must be one of file, http, memory" in sms.configuration_errors()[0]


def test_the_demo_settings_pass_the_check():
    assert [error for error in run_checks() if error.id == "acs.alerts.E001"] == []


@pytest.mark.django_db
def test_text_rows_go_through_the_same_claim_send_and_outcome(publish, in_cusco, texts):
    person = in_cusco(language="es")
    phones_set(
        enrollee=person,
        phones=[PhoneData(public_id=None, number="+51987654321", sms_capable=True)],
    )
    preferences_set(enrollee=person, choices={"emergency": KindChoice(email=False, sms=True)})
    message = publish(kind="emergency")
    [row] = Delivery.objects.filter(message=message)
    assert row.channel == Channel.SMS
    assert dict(sending.batch_send(delivery_ids=[row.pk])) == {"sent": 1}
    [(to, body, reference)] = texts
    assert to == "+51987654321" and reference == str(row.token)
    kind = message_parts(message, "es")["kind_title"]  # as the catalogue translates it
    assert body.startswith(f"{kind}: Bloqueos en la ruta a Machu Picchu\n")
    assert f"/es/lima/m/welfare/{row.token}/safe/" in body
    row.refresh_from_db()
    assert (row.status, row.provider_id, row.attempts) == (DeliveryStatus.SENT, "memory-1", 1)
    # Sent is sent: the batch again sends nothing.
    sending.batch_send(delivery_ids=[row.pk])
    assert len(texts) == 1


@pytest.mark.django_db
def test_a_refused_text_is_recorded_like_a_refused_email(publish, in_cusco, texts):
    person = in_cusco()
    phones_set(
        enrollee=person,
        phones=[PhoneData(public_id=None, number="+51987654321", sms_capable=True)],
    )
    preferences_set(enrollee=person, choices={"security": KindChoice(email=False, sms=True)})
    message = publish()
    sms.MemoryBackend.refuse = sms.SmsError("gateway HTTP 400: bad number", temporary=False)
    sending.batch_send(delivery_ids=list(message.deliveries.values_list("pk", flat=True)))
    row = message.deliveries.get()
    assert (row.status, row.error) == (DeliveryStatus.FAILED, "gateway HTTP 400: bad number")


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        (
            {"CELERY_BROKER_TRANSPORT_OPTIONS": {"visibility_timeout": 300}},
            "ACS_BROKER_VISIBILITY_TIMEOUT (300 s) must be longer",
        ),
        ({"ACS_DELIVERY_REQUEUE_AFTER": 60}, "ACS_DELIVERY_REQUEUE_AFTER (60 s) must be at least"),
        ({"ACS_DELIVERY_CLAIM_TIMEOUT": 0}, "ACS_DELIVERY_CLAIM_TIMEOUT must be a positive"),
    ],
)
def test_timeouts_that_contradict_each_other_stop_the_start(settings, changes, problem):
    settings.ACS_DELIVERY_CLAIM_TIMEOUT = 600
    settings.ACS_DELIVERY_REQUEUE_AFTER = 600
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
    assert [error for error in run_checks() if error.id == "acs.alerts.E001"] == []
    for name, value in changes.items():
        setattr(settings, name, value)
    errors = [error.msg for error in run_checks() if error.id == "acs.alerts.E001"]
    assert len(errors) == 1 and problem in errors[0]
    with pytest.raises(ImproperlyConfigured, match=problem.split(" (")[0]):
        refuse_a_misconfigured_worker()
