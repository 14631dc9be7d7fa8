"""Citizen accounts: create, verify, sign in, change the password, sign out everywhere.

One account per email address for the whole installation: it signs in from any post's pages,
so nothing here looks an account up by post. ``post`` on creation records where it was opened.

Each service is keyword-only and owns one transaction; a refusal is a ``ValidationError`` with
a plain message (and a stable ``code``) and saves nothing.
"""

from __future__ import annotations

from datetime import date

from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from acs.core.outbox.queue import email_queue
from acs.enrollment.constants import CitizenStatus, Language
from acs.enrollment.models import Enrollee
from acs.posts.models import Post

# The outbox's kind for account emails (built by ``emails.account_email_build``).
ACCOUNT_EMAIL = "enrollment.account"


def _enrollee_insert(
    *,
    post: Post,
    email: str,
    password: str,
    full_name: str,
    date_of_birth: date,
    status: str,
    language: str,
    passport_number: str,
) -> Enrollee:
    """Write the account, inside the caller's transaction."""
    if Enrollee.objects.filter(email=email).exists():
        raise ValidationError(_("An account with this email already exists."), code="email_taken")
    enrollee = Enrollee(
        post=post,
        email=email,
        password=make_password(password),
        full_name=full_name.strip(),
        date_of_birth=date_of_birth,
        status=status,
        language=language,
        passport_number=passport_number.strip(),
        last_active_at=timezone.now(),
    )
    enrollee.full_clean()
    enrollee.save()
    return enrollee


def enrollee_touch(*, enrollee: Enrollee) -> None:
    """The enrollee did something: their account is active (retention counts from this).

    Called first inside a service's transaction, on purpose: the UPDATE holds the enrollee's
    row lock until the transaction ends (PostgreSQL; SQLite's IMMEDIATE transactions already
    serialize writers), so two requests of one person that check and write their records —
    a double click, two tabs — run one after the other and cannot both pass a check such as
    the trips' overlap.
    """
    now = timezone.now()
    Enrollee.objects.filter(pk=enrollee.pk).update(last_active_at=now)
    enrollee.last_active_at = now


def enrollee_create(
    *,
    post: Post,
    email: str,
    password: str,
    full_name: str,
    date_of_birth: date,
    status: str = CitizenStatus.CITIZEN,
    language: str = Language.ENGLISH,
    passport_number: str = "",
) -> Enrollee:
    """A new citizen account, opened at ``post``; the password is stored hashed. One per
    email address in the whole installation."""
    with transaction.atomic(durable=True):
        return _enrollee_insert(
            post=post,
            email=email.strip().lower(),
            password=password,
            full_name=full_name,
            date_of_birth=date_of_birth,
            status=status,
            language=language,
            passport_number=passport_number,
        )


def account_email_queue(*, enrollee: Enrollee, kind: str) -> int:
    """Queue an account email (``emails.KINDS``) in the caller's transaction, or one of its
    own: it exists if and only if the change that causes it does. A worker builds it from
    the account as it is then, and sends it (docs/mail.md). Returns the row's id."""
    return email_queue(
        kind=ACCOUNT_EMAIL,
        to=enrollee.email,
        language=enrollee.language,
        arguments={"enrollee_id": enrollee.pk, "kind": kind},
    )


def enrollee_sign_up(
    *,
    post: Post,
    email: str,
    password: str,
    full_name: str,
    date_of_birth: date,
    status: str = CitizenStatus.CITIZEN,
    language: str = Language.ENGLISH,
) -> Enrollee | None:
    """A new account, and the email that verifies its address. If the address already has an
    account, nothing is created and that account's owner is told instead — the page says the
    same either way, so sign-up does not reveal who is enrolled."""
    existing = Enrollee.objects.filter(email=email.strip().lower()).first()
    if existing is not None:
        account_email_queue(enrollee=existing, kind="already_enrolled")
        return None
    with transaction.atomic(durable=True):
        # The account and the email that verifies it commit together.
        enrollee = _enrollee_insert(
            post=post,
            email=email.strip().lower(),
            password=password,
            full_name=full_name,
            date_of_birth=date_of_birth,
            status=status,
            language=language,
            passport_number="",
        )
        account_email_queue(enrollee=enrollee, kind="verify")
    return enrollee


def verification_resend(*, enrollee: Enrollee) -> None:
    if enrollee.email_verified_at is None:
        account_email_queue(enrollee=enrollee, kind="verify")


def email_verify(*, enrollee: Enrollee) -> Enrollee:
    """The enrollee opened the link we sent to their address: it is theirs. Repeating it is
    harmless (the first moment stays)."""
    if enrollee.email_verified_at is None:
        enrollee.email_verified_at = timezone.now()
        enrollee.save(update_fields=["email_verified_at"])
    return enrollee


def enrollee_signed_in(*, enrollee: Enrollee) -> None:
    """Record a sign-in: it ends any idle-account warning and spends any sign-in link."""
    now = timezone.now()
    enrollee.last_sign_in_at = now
    enrollee.last_active_at = now
    enrollee.inactivity_warned_at = None
    enrollee.save(update_fields=["last_sign_in_at", "last_active_at", "inactivity_warned_at"])


def sign_in_link_send(*, email: str) -> None:
    """Email a one-time sign-in link if the address has an account; say nothing either way."""
    enrollee = Enrollee.objects.filter(email=email.strip().lower(), active=True).first()
    if enrollee is not None:
        account_email_queue(enrollee=enrollee, kind="sign_in_link")


def password_reset_send(*, email: str) -> None:
    """Email a password-reset link if the address has an account; say nothing either way."""
    enrollee = Enrollee.objects.filter(email=email.strip().lower(), active=True).first()
    if enrollee is not None:
        account_email_queue(enrollee=enrollee, kind="password_reset")


def password_set(*, enrollee: Enrollee, password: str) -> Enrollee:
    """A new password. Every session of the account ends (the epoch moves on) and the owner is
    told by email; the caller keeps its own session with ``identity.refresh``. Having opened a
    reset link also proves the address, so it counts as verified."""
    with transaction.atomic(durable=True):
        enrollee.password = make_password(password)
        enrollee.session_epoch += 1
        if enrollee.email_verified_at is None:
            enrollee.email_verified_at = timezone.now()
        enrollee.save(update_fields=["password", "session_epoch", "email_verified_at"])
        account_email_queue(enrollee=enrollee, kind="password_changed")
    return enrollee


def sign_out_everywhere(*, enrollee: Enrollee) -> Enrollee:
    """End every session of the account, on every device (the caller's too unless it
    refreshes its own)."""
    Enrollee.objects.filter(pk=enrollee.pk).update(session_epoch=F("session_epoch") + 1)
    enrollee.refresh_from_db(fields=["session_epoch"])
    return enrollee
