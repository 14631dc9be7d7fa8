"""Who the citizen at the keyboard is: the one door to citizen identity.

Pages never read the session or look up an ``Enrollee`` for the signed-in person themselves;
they ask this module:

- ``current(request)`` — the signed-in enrollee, or ``None`` (one account serves every post,
  so a session begun on one post's pages holds on every other's);
- ``enrollee_required`` — a view decorator: signed in (and email verified), or off to sign-in;
- ``sign_in(request, enrollee)`` / ``sign_out(request)``.

*How* someone proves who they are is a provider's business. Today there are two: an email
and password (``PasswordProvider``), and a one-time link sent to the email address
(``tokens.sign_in_link``). An OpenID Connect provider such as Login.gov would be a third: its
callback view finds or creates the ``Enrollee`` by the provider's verified email and calls
``sign_in``; nothing else changes.

Citizen sessions are not staff sessions: the enrollee lives under its own session key, and
``request.user`` (staff, ``auth.User``) is never touched.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.views import redirect_to_login
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from acs.enrollment.models import Enrollee

SESSION_KEY = "enrollment.enrollee"
_CACHE_ATTRIBUTE = "_acs_enrollee"
# A hash to compare against when the email is unknown, so that a wrong email and a wrong
# password take the same time (no telling which addresses have accounts).
_DUMMY_HASH = make_password("not a real password")


def current(request: HttpRequest) -> Enrollee | None:
    """The signed-in enrollee, or ``None``. The session must name an active account whose
    session epoch it shares: "sign out everywhere" and a new password move the epoch on."""
    if hasattr(request, _CACHE_ATTRIBUTE):
        return getattr(request, _CACHE_ATTRIBUTE)
    enrollee = None
    remembered = request.session.get(SESSION_KEY)
    if isinstance(remembered, dict):
        enrollee = (
            Enrollee.objects.select_related("post")
            .filter(pk=remembered.get("id"), active=True)
            .first()
        )
        if enrollee is not None and enrollee.session_epoch != remembered.get("epoch"):
            enrollee = None
        if enrollee is None:
            request.session.pop(SESSION_KEY, None)
    setattr(request, _CACHE_ATTRIBUTE, enrollee)
    return enrollee


def sign_in(request: HttpRequest, enrollee: Enrollee) -> None:
    """Begin a citizen session (a new session key, against fixation). The caller has proved
    who they are; ``services.accounts.enrollee_signed_in`` records it."""
    from acs.enrollment.services.accounts import enrollee_signed_in

    request.session.cycle_key()
    enrollee_signed_in(enrollee=enrollee)
    request.session[SESSION_KEY] = {"id": enrollee.pk, "epoch": enrollee.session_epoch}
    setattr(request, _CACHE_ATTRIBUTE, enrollee)


def sign_out(request: HttpRequest) -> None:
    """End this citizen session (a staff session in the same browser is left alone)."""
    request.session.pop(SESSION_KEY, None)
    request.session.cycle_key()
    setattr(request, _CACHE_ATTRIBUTE, None)


def refresh(request: HttpRequest, enrollee: Enrollee) -> None:
    """Keep this session after the enrollee's epoch moved on (they changed their password
    here, or signed out everywhere else)."""
    request.session[SESSION_KEY] = {"id": enrollee.pk, "epoch": enrollee.session_epoch}
    request.session.cycle_key()
    setattr(request, _CACHE_ATTRIBUTE, enrollee)


def enrollee_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The view runs for a signed-in enrollee with a verified email, who is passed to it as
    ``request.enrollee``. Others go to sign-in (and come back), or to "check your email"."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        enrollee = current(request)
        if enrollee is None:
            return redirect_to_login(request.get_full_path(), reverse("enrollment:sign-in"))
        if enrollee.email_verified_at is None:
            return redirect("enrollment:check-email")
        request.enrollee = enrollee  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    wrapped.enrollee_required = True  # type: ignore[attr-defined]
    return wrapped


class PasswordProvider:
    """Email and password, hashed with the project's password hashers (argon2)."""

    name = "password"

    @staticmethod
    def authenticate(*, email: str, password: str) -> Enrollee | None:
        enrollee = Enrollee.objects.filter(email=email.strip().lower(), active=True).first()
        if enrollee is None:
            check_password(password, _DUMMY_HASH)  # the same work as a real check
            return None
        return enrollee if check_password(password, enrollee.password) else None


# Tokens in the links we email. Each is signed (SECRET_KEY) with its own salt and age limit,
# and carries what makes it die early: the sign-in link the time of the last sign-in (so it
# works once), the reset link a digest of the current password hash (so it works until the
# password changes).


class tokens:  # a namespace, read as ``tokens.verify_email(...)``
    VERIFY_SALT = "acs.enrollment.verify-email"
    SIGN_IN_SALT = "acs.enrollment.sign-in-link"
    RESET_SALT = "acs.enrollment.password-reset"
    VERIFY_AGE = 7 * 24 * 3600
    SIGN_IN_AGE = 30 * 60
    RESET_AGE = 60 * 60

    @staticmethod
    def _stamp(enrollee: Enrollee) -> str:
        moment = enrollee.last_sign_in_at
        return moment.isoformat() if moment else ""

    @staticmethod
    def _password_digest(enrollee: Enrollee) -> str:
        return hashlib.sha256(enrollee.password.encode()).hexdigest()[:16]

    @classmethod
    def verify_email(cls, enrollee: Enrollee) -> str:
        return signing.dumps([enrollee.pk, enrollee.email], salt=cls.VERIFY_SALT)

    @classmethod
    def sign_in_link(cls, enrollee: Enrollee) -> str:
        return signing.dumps([enrollee.pk, cls._stamp(enrollee)], salt=cls.SIGN_IN_SALT)

    @classmethod
    def password_reset(cls, enrollee: Enrollee) -> str:
        return signing.dumps([enrollee.pk, cls._password_digest(enrollee)], salt=cls.RESET_SALT)

    @classmethod
    def _load(cls, token: str, *, salt: str, max_age: int) -> list | None:
        try:
            value = signing.loads(token, salt=salt, max_age=max_age)
        except signing.BadSignature:  # includes SignatureExpired
            return None
        return value if isinstance(value, list) and len(value) == 2 else None

    @classmethod
    def _enrollee(cls, pk: Any) -> Enrollee | None:
        """The account a token names. Any post's URL opens it: links sent before accounts
        served every post named the post that opened the account, and still work."""
        if not isinstance(pk, int):
            return None
        return Enrollee.objects.filter(pk=pk, active=True).first()

    @classmethod
    def check_verify_email(cls, token: str) -> Enrollee | None:
        value = cls._load(token, salt=cls.VERIFY_SALT, max_age=cls.VERIFY_AGE)
        enrollee = value and cls._enrollee(value[0])
        return enrollee if enrollee and enrollee.email == value[1] else None

    @classmethod
    def check_sign_in_link(cls, token: str) -> Enrollee | None:
        value = cls._load(token, salt=cls.SIGN_IN_SALT, max_age=cls.SIGN_IN_AGE)
        enrollee = value and cls._enrollee(value[0])
        return enrollee if enrollee and cls._stamp(enrollee) == value[1] else None

    @classmethod
    def check_password_reset(cls, token: str) -> Enrollee | None:
        value = cls._load(token, salt=cls.RESET_SALT, max_age=cls.RESET_AGE)
        enrollee = value and cls._enrollee(value[0])
        return enrollee if enrollee and cls._password_digest(enrollee) == value[1] else None
