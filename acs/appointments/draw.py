"""The draw of a request round, as a pure function of published data.

Nothing here touches the database or the clock: the round's service feeds it the free seats
and the confirmed requests; ``manage.py round_replay`` feeds it a round's published JSON.
Both must get the same allocation, so every step is spelled out here and in
docs/release-rounds.md, for anyone who wants to check a draw with their own program:

1. The seed is 32 random bytes, published as 64 lowercase hex digits. When the request
   window opens, only its commitment is published: SHA-256 of the 32 bytes, in hex.
2. A request's pseudonymous id is HMAC-SHA256 with the seed's bytes as key and the request's
   reference (32 hex digits, given to the citizen) as ASCII message, cut to its first 32 hex
   digits. The reference is random, so the id says nothing about the person, and nobody can
   know the ids (nor the order) before the seed is out.
3. The order: requests sorted by SHA-256(seed bytes ‖ pseudonymous id as ASCII), in hex,
   smallest first; equal digests (never seen) by the id.
4. Random serial dictatorship: in that order, each request takes one slot for all its
   people together: for its choices in the order it ranked them, the earliest slot that
   matches the choice and still has as many free seats as it has people. A request that no
   choice fits gets nothing; later, smaller requests may still fit where it did not.
5. A choice is ``YYYY-MM-DD/am`` (a slot on that day starting before 12:00 on the post's
   clock), ``YYYY-MM-DD/pm`` (12:00 or later) or ``YYYY-MM-DD/any``.

Why this design: random serial dictatorship is the allocation Hakimov et al. (AER 2021)
analyse for appointment batches; it is strategy-proof (ranking your true preferences is
best), and deriving the order from a committed seed lets anyone replay it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import defaultdict
from dataclasses import dataclass

ALGORITHM = "rsd-sha256/1"
PARTS = ("am", "pm", "any")
NOON = "12:00"


@dataclass(frozen=True)
class DrawSlot:
    """A slot with free seats: its UTC key (``2027-02-01T14:00Z``), its wall-clock time at
    the post (``2027-02-01T09:00``) and how many seats it has left."""

    start: str
    local: str
    seats: int


@dataclass(frozen=True)
class DrawRequest:
    id: str  # the pseudonymous id
    people: int
    choices: tuple[str, ...]


def commitment(seed: bytes) -> str:
    """What is published when the window opens: SHA-256 of the seed, in hex."""
    return hashlib.sha256(seed).hexdigest()


def pseudonym(seed: bytes, reference: str) -> str:
    """A request's id in the published draw (step 2)."""
    return hmac.new(seed, reference.encode("ascii"), hashlib.sha256).hexdigest()[:32]


def order(seed: bytes, ids: list[str]) -> list[str]:
    """The ids in draw order (step 3)."""

    def key(request_id: str) -> tuple[str, str]:
        return hashlib.sha256(seed + request_id.encode("ascii")).hexdigest(), request_id

    return sorted(ids, key=key)


def choice_parse(choice: str) -> tuple[str, str] | None:
    """``("2027-02-01", "am")`` from ``"2027-02-01/am"``; None for anything else."""
    day, _slash, part = choice.partition("/")
    if len(day) != 10 or part not in PARTS:
        return None
    return day, part


def _matches(slot: DrawSlot, part: str) -> bool:
    clock = slot.local[11:16]
    return part == "any" or (clock < NOON) == (part == "am")


def allocate(
    seed: bytes, slots: list[DrawSlot], requests: list[DrawRequest]
) -> dict[str, str | None]:
    """``{request id: slot start or None}`` (step 4). Never gives a slot more people than
    its seats, and each request one slot at most."""
    free = {slot.start: slot.seats for slot in slots}
    by_day: dict[str, list[DrawSlot]] = defaultdict(list)
    for slot in sorted(slots, key=lambda s: (s.local, s.start)):
        by_day[slot.local[:10]].append(slot)
    by_id = {request.id: request for request in requests}
    result: dict[str, str | None] = {}
    for request_id in order(seed, list(by_id)):
        request = by_id[request_id]
        result[request_id] = _first_fit(request, by_day, free)
        if result[request_id] is not None:
            free[result[request_id]] -= request.people
    return result


def _first_fit(
    request: DrawRequest, by_day: dict[str, list[DrawSlot]], free: dict[str, int]
) -> str | None:
    for choice in request.choices:
        parsed = choice_parse(choice)
        if parsed is None:
            continue
        day, part = parsed
        for slot in by_day.get(day, ()):
            if free[slot.start] >= request.people and _matches(slot, part):
                return slot.start
    return None


def published_check(data: dict) -> tuple[dict[str, str | None], list[str]]:
    """Replay a published draw: the allocation recomputed from ``data`` (the round's JSON)
    and what does not agree with what was published (empty when all is well)."""
    problems: list[str] = []
    seed = bytes.fromhex(data["seed"])
    if commitment(seed) != data["commitment"]:
        problems.append("the seed's SHA-256 is not the commitment published when the window opened")
    if data.get("algorithm") != ALGORITHM:
        problems.append(f"unknown algorithm {data.get('algorithm')!r}")
    slots = [DrawSlot(s["start"], s["local"], int(s["seats"])) for s in data["slots"]]
    requests = [
        DrawRequest(r["id"], int(r["people"]), tuple(r["choices"])) for r in data["requests"]
    ]
    replayed = allocate(seed, slots, requests)
    for entry in data["requests"]:
        if replayed.get(entry["id"]) != entry.get("slot"):
            problems.append(
                f"request {entry['id']}: published {entry.get('slot')}, "
                f"replayed {replayed.get(entry['id'])}"
            )
    if len(requests) != data.get("requests_count"):
        problems.append("the number of requests differs from the list")
    return replayed, problems
