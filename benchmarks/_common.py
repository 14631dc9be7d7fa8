"""Small helpers every benchmark uses: its headings, milliseconds, the settings of a run that
measures the database alone, a free port, whether Redis answers."""

from __future__ import annotations

import os
import socket
import tempfile


def heading(text: str) -> None:
    """A step's heading, with the load average: wall-clock figures depend on it."""
    load = " ".join(f"{n:.1f}" for n in os.getloadavg())
    print(f"\n== {text}   (load average {load})", flush=True)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def database_only_settings() -> None:
    """The environment of a run that measures the database alone: Django's settings, a
    scratch ``ACS_VAR_DIR``, the cache and broker in process memory, quiet logs."""
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "acs.settings",
            "ACS_VAR_DIR": tempfile.mkdtemp(prefix="acs-bench-"),
            "CACHE_URL": "locmemcache://",
            "CELERY_BROKER_URL": "memory://",
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
        }
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=0.5).ping())
    except redis.RedisError:
        return False
