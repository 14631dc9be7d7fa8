"""Rate limits (acs/core/ratelimit.py): every limit of a request counted in one round trip to
Redis, the same counts as through Django's cache API elsewhere."""

from __future__ import annotations

import os

import pytest
from django.core.cache import cache, caches

from acs.core import ratelimit
from acs.core.ratelimit import Limit, address_group

REDIS_URL = os.environ.get("REDIS_URL", "")


@pytest.fixture(params=["memory", "redis"])
def backend(request, settings):
    """The tests' process memory, and (when ``REDIS_URL`` names one) the deployed Redis
    backend on the tests' own Redis database, emptied before and after."""
    if request.param == "redis":
        if not REDIS_URL.startswith("redis://"):
            pytest.skip("REDIS_URL names no Redis")
        settings.CACHES = {
            "default": {"BACKEND": "acs.core.cache.RedisCache", "LOCATION": REDIS_URL}
        }
        cache.clear()
        yield request.param
        cache.clear()
        return
    yield request.param


def test_each_limit_counts_and_refuses_past_it(backend):
    limits = [Limit("t-address", "10.0.0.1", 3), Limit("t-email", "Ana@Example.org", 2)]
    assert [ratelimit.hits(limits) for _ in range(4)] == [
        [True, True],
        [True, True],
        [True, False],
        [False, False],
    ]
    # The email is counted whatever its case or spaces: another spelling is the same person.
    assert ratelimit.hits([Limit("t-email", " ana@example.org ", 2)]) == [False]
    assert ratelimit.hit("t-address", "10.0.0.2", limit=3, window=3600)


@pytest.mark.parametrize("backend", ["redis"], indirect=True)
def test_one_round_trip_for_every_limit_on_redis(backend, monkeypatch):
    client = caches["default"]._cache.get_client(write=True)
    sent = []
    pipeline = type(client.pipeline())
    original = pipeline.execute

    def counted(self, *args, **kwargs):
        sent.append(len(self.command_stack))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(pipeline, "execute", counted)
    limits = [Limit("t-address", "10.0.0.3", 5), Limit("t-email", "b@example.org", 5)]
    assert ratelimit.hits(limits) == [True, True]
    assert sent == [4]  # SET … NX and INCR for each, in one pipeline
    # The counters are the plain integers Django's Redis cache reads back, with an expiry.
    key = ratelimit._key("t-email", "b@example.org", 3600)
    assert cache.get(key) == 1
    assert 0 < client.ttl(caches["default"].make_and_validate_key(key)) <= 3605


@pytest.mark.parametrize(
    ("address", "group"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),  # an IPv4 client seen through a dual stack
        ("not an address", "not an address"),
        ("", ""),
    ],
)
def test_an_ipv6_client_is_its_64(address, group):
    assert address_group(address) == group
