"""The proof of work's "once only" (acs/core/pow.py): in Redis where the cache is Redis, in
the database elsewhere; either way a second use of a solution is refused."""

from __future__ import annotations

import json
import os

import pytest
from django.core.cache import cache, caches

from acs.core import pow as proof_of_work
from acs.core import ratelimit
from acs.core.models import ProofOfWorkUse
from acs.core.ratelimit import Limit

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


@pytest.mark.django_db
def test_spending_counts_the_limits_and_uses_the_solution(store):
    limits = [Limit("t-spend-address", "10.9.0.1", 2), Limit("t-spend-email", "s@example.org", 9)]
    first = proof_of_work.solve_for_tests(proof_of_work.challenge_create())
    assert proof_of_work.solution_spend(first, limits) == [True, True]
    with pytest.raises(proof_of_work.ProofOfWorkError) as replayed:
        proof_of_work.solution_spend(first, limits)  # counted: the second attempt
    assert replayed.value.code == "replayed"
    # Over a limit, that is what the caller learns first, even with a solution used before.
    assert proof_of_work.solution_spend(first, limits) == [False, True]
    # A solution that does not check out counts nothing.
    with pytest.raises(proof_of_work.ProofOfWorkError) as invalid:
        proof_of_work.solution_spend("bm90IGEgc29sdXRpb24=", [Limit("t-spend-x", "x", 1)])
    assert invalid.value.code == "invalid"
    assert ratelimit.hits([Limit("t-spend-x", "x", 1)]) == [True]


@pytest.mark.django_db
@pytest.mark.parametrize("store", ["redis"], indirect=True)
def test_spending_is_one_round_trip_on_redis(store, monkeypatch):
    client = caches["default"]._cache.get_client(write=True)
    pipeline, sent = type(client.pipeline()), []
    original_execute, original_command = pipeline.execute, type(client).execute_command

    def counted(self, *args, **kwargs):
        sent.append(len(self.command_stack))
        return original_execute(self, *args, **kwargs)

    def direct(self, *args, **kwargs):
        sent.append(args[0])
        return original_command(self, *args, **kwargs)

    solution = proof_of_work.solve_for_tests(proof_of_work.challenge_create())
    monkeypatch.setattr(pipeline, "execute", counted)
    monkeypatch.setattr(type(client), "execute_command", direct)
    limits = [Limit("t-trip-address", "10.9.0.2", 5), Limit("t-trip-email", "t@example.org", 5)]
    assert proof_of_work.solution_spend(solution, limits) == [True, True]
    assert sent == [5]  # SET … NX and INCR per limit, and the solution's mark: one pipeline


def test_the_difficulty_rises_while_challenges_pile_up(db, settings, monkeypatch):
    """Issue 14: ×4 the work each level, from ACS_POW_RISE_PER_MINUTE challenges a minute,
    up to ACS_POW_LEVELS."""
    monkeypatch.setattr(proof_of_work, "_minute_key", lambda _now: "pow-issued:this-test")
    cache.delete("pow-issued:this-test")
    settings.ACS_POW_MAX_NUMBER, settings.ACS_POW_RISE_PER_MINUTE = 1000, 10
    settings.ACS_POW_LEVELS = 2
    assert [proof_of_work.level_for(n) for n in (0, 9, 10, 39, 40, 10_000)] == [0, 0, 1, 1, 2, 2]
    numbers = [json.loads(proof_of_work.challenge_create().json)["maxnumber"] for _n in range(45)]
    assert numbers[0] == 1000 and numbers[9] == 4000 and numbers[39] == 16000
    assert max(numbers) == 16000  # capped
    # Still solvable and accepted at a raised level.
    proof_of_work.solution_consume(proof_of_work.solve_for_tests(proof_of_work.challenge_create()))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "solution",
    [
        {"algorithm": "SHA-256", "challenge": 5, "number": "x", "salt": None, "signature": "s"},
        {"algorithm": "SHA-256", "challenge": "a", "number": True, "salt": "b", "signature": "s"},
        {"algorithm": "SHA-256", "challenge": "a", "number": 10**400, "salt": "b", "signature": ""},
        {"algorithm": ["SHA-256"], "challenge": "a", "number": 1, "salt": "b", "signature": "s"},
        {"signature": "s"},
        [1, 2],
        "text",
        None,
    ],
)
def test_a_malformed_solution_is_refused_in_plain_words(settings, solution):
    """A probe of malformed payloads found that a null salt made the altcha library raise:
    every shape that is not the widget's is refused as invalid, never a server error."""
    import base64

    settings.ACS_POW_ENABLED = True
    payload = base64.b64encode(json.dumps(solution).encode()).decode()
    with pytest.raises(proof_of_work.ProofOfWorkError) as refused:
        proof_of_work.solution_consume(payload)
    assert refused.value.code == "invalid" and refused.value.message.endswith(".")
