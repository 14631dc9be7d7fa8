"""The proof of work's "once only" (acs/core/pow.py): in Redis where the cache is Redis, in
the database elsewhere; either way a second use of a solution is refused."""

from __future__ import annotations

import os

import pytest
from django.core.cache import cache

from acs.core import pow as proof_of_work
from acs.core.models import ProofOfWorkUse

REDIS_URL = os.environ.get("REDIS_URL", "")


@pytest.fixture(params=["memory", "redis"])
def store(request, settings):
    settings.ACS_POW_ENABLED = True
    settings.ACS_POW_MAX_NUMBER = 1000  # a quick solve
    if request.param == "redis":
        if not REDIS_URL.startswith("redis://"):
            pytest.skip("REDIS_URL names no Redis")
        settings.CACHES = {
            "default": {"BACKEND": "acs.core.cache.RedisCache", "LOCATION": REDIS_URL}
        }
        cache.clear()
    yield request.param
    cache.clear()


@pytest.mark.django_db
def test_a_solution_is_accepted_once(store):
    solution = proof_of_work.solve_for_tests(proof_of_work.challenge_create())
    proof_of_work.solution_consume(solution)
    with pytest.raises(proof_of_work.ProofOfWorkError) as replayed:
        proof_of_work.solution_consume(solution)
    assert replayed.value.code == "replayed"
    # Redis forgets the signature by itself when the challenge expires; the database keeps a
    # row until the daily purge.
    assert ProofOfWorkUse.objects.count() == (0 if store == "redis" else 1)
    other = proof_of_work.solve_for_tests(proof_of_work.challenge_create())
    proof_of_work.solution_consume(other)
