"""The self-hosted proof-of-work challenge (ALTCHA) for public forms that cost the post.

The browser's widget fetches nothing: the challenge is embedded in the page, signed with a
key derived from SECRET_KEY. A solution is accepted once: its signature is recorded until
the challenge expires, and a second use is refused.

Where the cache is Redis (production), the signature is recorded there (``SET … NX EX``, one
round trip, gone by itself when the challenge expires); elsewhere (the demo's file cache, the
tests' process memory, which the processes do not share) in the database
(``ProofOfWorkUse``, purged daily). Verifying is one HMAC and one SHA-256.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

import altcha
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from acs.core import ratelimit
from acs.core.models import ProofOfWorkUse
from acs.core.ratelimit import Limit


class ProofOfWorkError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Challenge:
    json: str  # what the widget's ``challengejson`` attribute takes


def _key() -> str:
    return _key_from(settings.SECRET_KEY)


@lru_cache(maxsize=4)
def _key_from(secret: str) -> str:
    """Derived once per process (and per secret: a test may change it)."""
    return salted_hmac("acs.core.pow", "altcha", secret=secret, algorithm="sha256").hexdigest()


def enabled() -> bool:
    return settings.ACS_POW_ENABLED


# The difficulty rises by itself while challenges pile up (a crowd, or a bot farm): each
# level multiplies the work by ``LEVEL_FACTOR``; level n starts at ``ACS_POW_RISE_PER_MINUTE``
# × LEVEL_FACTOR^(n-1) challenges handed out in the current minute, across every process
# (counted in the shared cache), up to ``ACS_POW_LEVELS``. docs/security.md gives the
# measured cost of each level for a browser and for a bot.
LEVEL_FACTOR = 4


def _minute_key(now: float) -> str:
    return f"pow-issued:{int(now // 60)}"


def level_for(issued: int) -> int:
    """The difficulty level for ``issued`` challenges handed out this minute."""
    level, threshold = 0, settings.ACS_POW_RISE_PER_MINUTE
    while threshold and issued >= threshold and level < settings.ACS_POW_LEVELS:
        level, threshold = level + 1, threshold * LEVEL_FACTOR
    return level


def max_number_at(level: int) -> int:
    return settings.ACS_POW_MAX_NUMBER * LEVEL_FACTOR**level


def _issued_now() -> int:
    """Count one challenge handed out in this minute; the count so far (0 if the cache
    fails: the base difficulty then stands)."""
    cache, key = caches["default"], _minute_key(time.time())
    try:
        try:
            return int(cache.incr(key))  # one round trip, but for the minute's first
        except ValueError:  # the minute's first challenge (or two processes racing to it)
            return 1 if cache.add(key, 1, 120) else int(cache.incr(key))
    except Exception:  # a cache outage must not stop booking: the base difficulty stands
        return 0


def challenge_create() -> Challenge:
    expires = timezone.now() + timedelta(seconds=settings.ACS_POW_TTL_SECONDS)
    max_number = max_number_at(level_for(_issued_now()))
    challenge = altcha.create_challenge_v1(
        altcha.ChallengeOptionsV1(hmac_key=_key(), max_number=max_number, expires=expires)
    )
    data = {
        "algorithm": challenge.algorithm,
        "challenge": challenge.challenge,
        "maxnumber": challenge.max_number,
        "salt": challenge.salt,
        "signature": challenge.signature,
    }
    return Challenge(json=json.dumps(data))


def widget_strings() -> str:
    """The widget's own words in the page's language, as the JSON its ``strings`` takes."""
    return json.dumps(
        {
            "label": gettext("I am not a robot"),
            "verifying": gettext("Checking…"),
            "verified": gettext("Checked. You can confirm."),
            "error": gettext("The check failed. Please try again."),
            "expired": gettext("The check expired. Please tick the box again."),
            "verificationRequired": gettext("Please tick “I am not a robot” first."),
            "waitAlert": gettext("Checking… please wait a moment."),
            "loading": gettext("Loading…"),
            "reload": gettext("Reload"),
            "verify": gettext("Check"),
            "footer": gettext("Protected by ALTCHA"),
            "ariaLinkLabel": gettext("About ALTCHA"),
            "enterCode": gettext("Enter the code"),
            "enterCodeAria": gettext("Enter the code you hear. Press Space to play the audio."),
            "getAudioChallenge": gettext("Play an audio code"),
        },
        ensure_ascii=False,
    )


def widget_context() -> dict[str, Any]:
    """What a page that carries the check puts in its template context: whether it is on, a
    fresh challenge, and the widget's words."""
    on = enabled()
    return {
        "pow_enabled": on,
        "challenge": challenge_create() if on else None,
        "altcha_strings_json": widget_strings() if on else "",
    }


def solution_consume(payload: str | None) -> None:
    """Check a solution and record it as used, or raise ProofOfWorkError.

    Runs in its own transaction: a used solution stays used even when what it protected
    then fails (a seat just taken), so the widget solves a fresh one.
    """
    if not enabled():
        return
    if not _first_use(_verified(payload)):
        raise _replayed()


def solution_spend(payload: str | None, limits: Sequence[Limit]) -> list[bool]:
    """``ratelimit.hits(limits)`` and ``solution_consume(payload)`` together, in one round
    trip to Redis (two before: at a release moment each cost a request a tenth of its CPU).

    A missing or invalid solution raises ProofOfWorkError before anything is counted. Else
    the limits are counted and the solution recorded as used; the limits' verdicts are
    returned, and only when every limit allows the attempt is a solution used before refused
    (ProofOfWorkError "replayed"): an attempt over its limit is told that first."""
    if not enabled():
        return ratelimit.hits(limits)
    signature = _verified(payload)
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        key = _used_key(backend, signature)
        pipe = backend._cache.get_client(key, write=True).pipeline(transaction=False)
        verdicts_of = ratelimit.hits_with(limits, backend, pipe)
        _mark(pipe, key)
        replies = pipe.execute()
        verdicts, first = verdicts_of(replies), bool(replies[-1])
    else:
        verdicts, first = ratelimit.hits(limits), _first_use(signature)
    if all(verdicts) and not first:
        raise _replayed()
    return verdicts


def _verified(payload: str | None) -> str:
    """The signature of a solution that is well formed, correct and not expired; else
    ProofOfWorkError."""
    if not payload:
        raise ProofOfWorkError(
            "missing", _("The anti-robot check did not run. Please wait for it to finish.")
        )
    try:
        data = json.loads(base64.b64decode(payload, validate=True))
        signature = str(data["signature"])
    except (ValueError, KeyError, TypeError, RecursionError) as error:
        raise ProofOfWorkError(
            "invalid", _("The anti-robot check failed. Please try again.")
        ) from error
    if not _well_formed(data):
        raise ProofOfWorkError("invalid", _("The anti-robot check failed. Please try again."))
    ok, _detail = altcha.verify_solution_v1(data, _key(), check_expires=True)
    if not ok:
        raise ProofOfWorkError(
            "invalid", _("The anti-robot check failed or expired. Please try again.")
        )
    return signature


def _replayed() -> ProofOfWorkError:
    return ProofOfWorkError("replayed", _("This check was already used. Please try again."))


def _well_formed(data: object) -> bool:
    """A solution as the widget sends it: four texts and a whole number. Anything else
    (a salt that is null, a number that is text) the altcha library does not expect, and
    it may raise instead of answering False."""
    if not isinstance(data, dict):
        return False
    texts = ("algorithm", "challenge", "salt", "signature")
    number = data.get("number")
    return (
        all(isinstance(data.get(name), str) for name in texts)
        and isinstance(number, int)
        and not isinstance(number, bool)
        and 0 <= number <= 10**12
    )


def _first_use(signature: str) -> bool:
    """Record ``signature`` as used until its challenge expires; False if it already was."""
    seconds = settings.ACS_POW_TTL_SECONDS
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        key = _used_key(backend, signature)
        return bool(_mark(backend._cache.get_client(key, write=True), key))
    try:
        with transaction.atomic():
            ProofOfWorkUse.objects.create(
                signature=signature, expires_at=timezone.now() + timedelta(seconds=seconds)
            )
    except IntegrityError:
        return False
    return True


def _used_key(backend: RedisCache, signature: str) -> str:
    digest = hashlib.sha256(signature.encode()).hexdigest()
    return backend.make_and_validate_key(f"pow:{digest}")


def _mark(client, key: str) -> Any:
    """Send to ``client`` (or queue in a pipeline) the command that records a solution as
    used, gone by itself when its challenge expires; its reply is true only for the first
    use. ``backend.add``'s own
    command, sent as is: redis-py's ``set`` checks its experimental arguments on every call,
    which cost more CPU than the round trip."""
    return client.execute_command("SET", key, 1, "EX", settings.ACS_POW_TTL_SECONDS + 5, "NX")


def solve_for_tests(challenge: Challenge) -> str:
    """Solve a challenge the way the widget does; for tests and benchmarks only."""
    data = json.loads(challenge.json)
    solution = altcha.solve_challenge_v1(
        data["challenge"], data["salt"], data["algorithm"], data["maxnumber"]
    )
    payload = {
        "algorithm": data["algorithm"],
        "challenge": data["challenge"],
        "number": solution.number,
        "salt": data["salt"],
        "signature": data["signature"],
    }
    return base64.b64encode(json.dumps(payload).encode()).decode()


def expired_purge() -> int:
    deleted, _by_model = ProofOfWorkUse.objects.filter(expires_at__lt=timezone.now()).delete()
    return deleted
