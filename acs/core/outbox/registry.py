"""Which function builds each kind of transactional email.

core must not import the apps whose emails it sends (a lower layer never imports a higher
one), so the apps tell it: each app's ``AppConfig.ready`` registers its kinds here. A kind
is a stable string stored on every row (``"appointments.booking"``); renaming one strands
the rows already queued under the old name, which then fail with "unknown kind".

A builder takes the row's ``arguments`` as keyword arguments and returns the email, or
``None`` when there is nothing to send any more (the booking is gone, the question was
answered). It may run more than once for one row (a retry), so it must change nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.mail import EmailMessage

Builder = Callable[..., EmailMessage | None]

_BUILDERS: dict[str, Builder] = {}


class KindTaken(ValueError):
    """Two builders for one kind: one of them would silently never run."""


def kinds_register(builders: dict[str, Builder]) -> None:
    """Register ``{kind: builder}``. Registering the same builder again is harmless (Django
    may call ``ready`` twice); another builder for a taken kind is an error."""
    for kind, builder in builders.items():
        current = _BUILDERS.get(kind)
        if current is not None and current is not builder:
            raise KindTaken(f"email kind {kind!r} already has a builder: {current!r}")
        _BUILDERS[kind] = builder


def builder_for(kind: str) -> Builder | None:
    return _BUILDERS.get(kind)


def kinds() -> list[str]:
    return sorted(_BUILDERS)


def arguments_check(arguments: Any) -> dict[str, Any]:
    """The row's arguments as keyword arguments (a JSON object with string keys)."""
    if not isinstance(arguments, dict) or not all(isinstance(key, str) for key in arguments):
        raise TypeError(f"email arguments must be a JSON object, not {arguments!r}")
    return arguments
