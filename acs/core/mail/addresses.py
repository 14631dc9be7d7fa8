"""The addresses an email carries: absolute links to the site, the domain the product mails
from, and Message-IDs.

One home for each, so that a booking confirmation, a sign-in link and an emergency message
all point at the same site and name themselves under the same domain; a deployment changes
``ACS_SITE_URL`` or ``DEFAULT_FROM_EMAIL`` and every email follows.
"""

from __future__ import annotations

import hashlib
import uuid
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import make_msgid


def site_url(path: str) -> str:
    """The absolute address of ``path`` (a reversed URL) on the public site: emails and
    texts are read away from any request, so links cannot be relative."""
    return f"{settings.ACS_SITE_URL.rstrip('/')}{path}"


def mail_domain() -> str:
    """The domain of Message-IDs: the sender's own, so that receiving systems see our IDs
    under the domain the mail comes from."""
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    return address.rpartition("@")[2] or "acs-portal.invalid"


def message_id(*, domain: str | None = None) -> str:
    """A new, unique Message-ID (``<…@domain>``). An outbox row takes one when it is written
    and keeps it for every try, so a copy sent again after a crash is the same email."""
    return make_msgid(domain=domain or mail_domain())


def message_id_for(token: uuid.UUID | str, *, domain: str | None = None) -> str:
    """The Message-ID that belongs to ``token`` for life (a message's delivery row): the same
    on every attempt without being stored first, so a copy sent again after a crash carries
    it and receiving systems that deduplicate show one copy. Derived by a one-way hash, so
    the header (quoted in replies, kept in mail logs) does not give away the token's links.
    Pass ``domain`` when making many (``mail_domain`` parses a setting each time)."""
    raw = uuid.UUID(str(token)).bytes
    digest = hashlib.blake2b(raw, digest_size=16, person=b"acs-message-id").hexdigest()
    return f"<{digest}@{domain or mail_domain()}>"


def content_id(name: str) -> str:
    """A Content-ID for an inline part (an image the HTML shows with ``cid:``), without the
    angle brackets the header adds."""
    return make_msgid(name, domain=mail_domain())[1:-1]
