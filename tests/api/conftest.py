"""Fixtures for the API tests: a bookable service open every day, a cheap proof of work."""

from __future__ import annotations

import pytest

from acs.appointments.models import Service
from tests.api.helpers import service_create


@pytest.fixture
def service(lima) -> Service:
    return service_create(lima)


@pytest.fixture(autouse=True)
def _cheap_proof_of_work(settings):
    """The real check, with a small search space so that solving takes milliseconds."""
    settings.ACS_POW_ENABLED = True
    settings.ACS_POW_MAX_NUMBER = 500
