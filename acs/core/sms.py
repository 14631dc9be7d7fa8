"""Text messages: one interface, ``send_sms(to, body) -> provider id``, and its backends.

``ACS_SMS_BACKEND`` chooses the backend:

- ``file`` (the demo's default): one ``.txt`` file per text in ``$ACS_VAR_DIR/sms/``;
- ``http``: a generic HTTP gateway, one JSON ``POST`` per text to ``ACS_SMS_GATEWAY_URL`` with
  ``Authorization: Bearer $ACS_SMS_GATEWAY_TOKEN`` (standard library only, no SDK);
- ``memory``: kept in ``outbox`` for tests.

A refusal raises ``SmsError`` saying whether it is temporary (try again later) or permanent
(a bad number): the delivery pipeline records it on the row like an SMTP answer. A gateway
switched on but not configured stops the start-up (``checks.py``) and refuses to send.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Protocol
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

# Gateway answers that mean "not now" rather than "never": timeout, too early, too many.
_TEMPORARY_HTTP = frozenset({408, 425, 429})
_REPLY_LIMIT = 300  # characters of a gateway's error body kept as the reason


class SmsError(Exception):
    """The text was not accepted. ``temporary``: try again later; else give up."""

    def __init__(self, reason: str, *, temporary: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.temporary = temporary


class Backend(Protocol):
    def send(self, to: str, body: str, reference: str) -> str: ...


class FileBackend:
    """The demo: each text is a small file, readable with any text editor."""

    def __init__(self) -> None:
        self.directory = Path(
            getattr(settings, "ACS_SMS_FILE_PATH", Path(settings.VAR_DIR) / "sms")
        )

    def send(self, to: str, body: str, reference: str) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        provider_id = uuid.uuid4().hex
        name = f"{timezone.now():%Y%m%d-%H%M%S}-{provider_id[:12]}.txt"
        text = f"To: {to}\nReference: {reference}\nId: {provider_id}\n\n{body}\n"
        # Write then rename, so that a reader never sees half a text.
        partial = self.directory / f".{name}.part"
        partial.write_text(text, encoding="utf-8")
        partial.rename(self.directory / name)
        return provider_id


class MemoryBackend:
    """For tests: ``outbox`` holds ``(to, body, reference)``; ``refuse`` makes the next
    sends fail with that error."""

    outbox: list[tuple[str, str, str]] = []
    refuse: SmsError | None = None

    def send(self, to: str, body: str, reference: str) -> str:
        if MemoryBackend.refuse is not None:
            raise MemoryBackend.refuse
        MemoryBackend.outbox.append((to, body, reference))
        return f"memory-{len(MemoryBackend.outbox)}"


class GatewayBackend:
    """A generic JSON gateway. The request::

        POST $ACS_SMS_GATEWAY_URL
        Authorization: Bearer $ACS_SMS_GATEWAY_TOKEN
        {"to": "+51987654321", "body": "…", "reference": "<the delivery's token>"}

    A 2xx answer is accepted; its JSON ``id`` (or ``message_id``) is the provider's id. 408,
    425, 429, 5xx and network errors are temporary; any other 4xx is permanent. The
    ``reference``, also sent as the ``Idempotency-Key`` header, is the same on every attempt
    for one delivery row, so that a gateway that keeps them drops a repeated request (a text
    sent again after a crash; see docs/delivery.md).
    """

    def __init__(self) -> None:
        errors = gateway_errors()
        if errors:
            raise ImproperlyConfigured(" ".join(errors))
        self.url = settings.ACS_SMS_GATEWAY_URL
        self.token = settings.ACS_SMS_GATEWAY_TOKEN

    def send(self, to: str, body: str, reference: str) -> str:
        payload = json.dumps({"to": to, "body": body, "reference": reference}).encode()
        request = Request(  # noqa: S310 — the scheme is checked to be http(s) (gateway_errors)
            self.url,
            data=payload,
            method="POST",
            headers={
                "Authorization": f"Bearer {self.token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": "acs-portal",
                # The same on every attempt for one row (IETF httpapi Idempotency-Key): a
                # gateway that keeps them sends a repeated request only once.
                "Idempotency-Key": reference,
            },
        )
        try:
            with urlopen(request, timeout=settings.ACS_DELIVERY_SEND_TIMEOUT) as response:  # noqa: S310 — as above  # nosec B310
                answer = response.read()
        except HTTPError as error:
            reply = error.read()[:_REPLY_LIMIT].decode(errors="replace").strip()
            temporary = error.code in _TEMPORARY_HTTP or error.code >= 500
            raise SmsError(f"gateway HTTP {error.code}: {reply}", temporary=temporary) from error
        except (URLError, OSError) as error:  # refused, unreachable, timed out
            raise SmsError(f"gateway unreachable: {error}", temporary=True) from error
        try:
            data = json.loads(answer or b"{}")
        except ValueError:
            data = {}
        provider_id = data.get("id") or data.get("message_id") if isinstance(data, dict) else ""
        return str(provider_id or "")


BACKENDS: dict[str, type] = {
    "file": FileBackend,
    "http": GatewayBackend,
    "memory": MemoryBackend,
}


def backend_name() -> str:
    return str(getattr(settings, "ACS_SMS_BACKEND", "file") or "file")


def gateway_errors() -> list[str]:
    """What is wrong with the HTTP gateway's settings (empty when it can be used)."""
    errors = []
    url = str(getattr(settings, "ACS_SMS_GATEWAY_URL", "") or "")
    scheme = urlsplit(url).scheme
    if not url:
        errors.append("ACS_SMS_GATEWAY_URL is empty.")
    elif scheme not in ("http", "https") or not urlsplit(url).netloc:
        errors.append(f"ACS_SMS_GATEWAY_URL must be an http(s) URL, not {url!r}.")
    elif scheme == "http" and getattr(settings, "HTTPS", False):
        errors.append("ACS_SMS_GATEWAY_URL must use https:// in production (HTTPS=true).")
    if not getattr(settings, "ACS_SMS_GATEWAY_TOKEN", ""):
        errors.append("ACS_SMS_GATEWAY_TOKEN is empty.")
    return errors


def configuration_errors() -> list[str]:
    """What stops text messages from being sent with the current settings."""
    name = backend_name()
    if name not in BACKENDS:
        return [f"ACS_SMS_BACKEND is {name!r}; it must be one of {', '.join(sorted(BACKENDS))}."]
    if name == "http":
        return [f"ACS_SMS_BACKEND=http, but {error}" for error in gateway_errors()]
    return []


def get_backend() -> Backend:
    """The configured backend; ``ImproperlyConfigured`` when it cannot work."""
    errors = configuration_errors()
    if errors:
        raise ImproperlyConfigured(" ".join(errors))
    return BACKENDS[backend_name()]()


def send_sms(to: str, body: str, *, reference: str = "", backend: Backend | None = None) -> str:
    """Send one text to ``to`` (E.164); return the provider's id for it. ``SmsError`` when
    it was refused; ``reference`` (the delivery's token) goes to the gateway with it."""
    return (backend or get_backend()).send(to, body, reference)
