"""Small helpers every benchmark uses: its headings, a free port, whether Redis answers."""

from __future__ import annotations

import os
import socket


def heading(text: str) -> None:
    """A step's heading, with the load average: wall-clock figures depend on it."""
    load = " ".join(f"{n:.1f}" for n in os.getloadavg())
    print(f"\n== {text}   (load average {load})", flush=True)


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
