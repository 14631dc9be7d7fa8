"""The API fuzzed against its own OpenAPI document by schemathesis (property-based, with
hypothesis): every operation with valid and invalid input, then chains of calls that follow
the document's links. Whatever the request, the answer is never a server error, its status is
one the document lists, and its body matches the document (problem details for every error).

The proof of work is switched off and the rate limits put out of reach for these tests, so
that the fuzzer reaches the code behind them (the tests of each refusal are elsewhere). The
number of cases tried is printed at the end of the run ("property-based tests").
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from acs.api import openapi
from tests.api.helpers import service_create
from tests.appointments.rounds import open_round, round_service
from tests.core.outbox import hold_emails

pytestmark = pytest.mark.django_db

EXAMPLES = 60  # per operation and mode (valid, invalid); the stateful run has its own
FUZZ = hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same cases every run: a failure in CI is found again at home
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
)


# The document the API serves (``test_the_served_document_is_the_one_fuzzed`` holds them
# equal), loaded at import: schemathesis's fixture-based loader does not run on pytest 9.
schema = schemathesis.openapi.from_dict(openapi.document())
# "A request the schema allows is accepted" cannot hold here: the schema cannot say that a
# start must be a slot the service offers, a phone a real number, a day one of the round's.
NOT_CHECKED = [positive_data_acceptance]
schema.app = get_wsgi_application()


@pytest.fixture(autouse=True)
def _site(lima, settings, monkeypatch):
    """Lima with a first-come service and a service whose round is open."""
    hold_emails(monkeypatch)
    settings.ACS_POW_ENABLED = False
    settings.ACS_BOOKING_RATE_PER_ADDRESS = 10**9
    settings.ACS_BOOKING_RATE_PER_EMAIL = 10**9
    service_create(lima)
    open_round(round_service(lima), timezone.now() - timedelta(hours=1))
    # As Django's own test client does: the WSGI handler would close the test's connection
    # (and its transaction) at the end of every request.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def test_the_served_document_is_the_one_fuzzed(client):
    assert client.get("/api/v1/openapi.json").json() == json.loads(json.dumps(openapi.document()))


@schema.parametrize()
@FUZZ
def test_no_request_of_any_shape_makes_a_server_error(case, record_property):
    record_property("fuzz: API requests (schemathesis)", 1)
    case.call_and_validate(excluded_checks=NOT_CHECKED)


def test_chains_of_calls_that_follow_the_links_stay_correct(record_property):
    calls = {"count": 0}

    class Chains(schema.as_state_machine()):
        def call(self, case, **kwargs):
            calls["count"] += 1
            return super().call(case, **kwargs)

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, excluded_checks=NOT_CHECKED)

    Chains.run(
        settings=hypothesis_settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            stateful_step_count=6,
            suppress_health_check=list(HealthCheck),
        )
    )
    record_property("fuzz: API requests in stateful chains (schemathesis)", calls["count"])
    assert calls["count"] > EXAMPLES
