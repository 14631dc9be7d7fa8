"""Citizen accounts: sign up, confirm the email, sign in with a password or an emailed link,
reset a forgotten password, sign out here or everywhere.

Pages that take an email address answer the same whether or not it has an account, so nobody
can find out who is enrolled. One-time links open a page with a button: mail scanners that
follow links do not spend them, only the person's click does.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from acs.core.forms.people import date_of_birth_context
from acs.enrollment import identity
from acs.enrollment.forms import (
    EmailOnlyForm,
    NewPasswordForm,
    PasswordChangeForm,
    SignInForm,
    SignUpForm,
)
from acs.enrollment.identity import enrollee_required, tokens
from acs.enrollment.limits import account_over_limit
from acs.enrollment.services import accounts
from acs.posts.selectors import post_or_404

GET_POST = require_http_methods(["GET", "HEAD", "POST"])
HOME = "enrollment:home"


def _too_many(request: HttpRequest) -> HttpResponse:
    return render(request, "enrollment/account/too_many.html", status=429)


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if safe else ""


@require_http_methods(["GET", "HEAD"])
def start(request: HttpRequest) -> HttpResponse:
    if identity.current(request) is not None:
        return redirect(HOME)
    return render(request, "enrollment/account/start.html", {"post": post_or_404()})


@never_cache
@sensitive_post_parameters("password", "password_again")
@GET_POST
def sign_up(request: HttpRequest) -> HttpResponse:
    post = post_or_404()
    form = SignUpForm(request.POST or None, initial={"language": request.LANGUAGE_CODE[:2]})
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        if account_over_limit(request, "sign-up", email):
            return _too_many(request)
        enrollee = accounts.enrollee_sign_up(post=post, **form.account_fields())
        if enrollee is not None:
            identity.sign_in(request, enrollee)
        request.session["enrollment.check_email"] = email
        return redirect("enrollment:check-email")
    context = {"form": form, "post": post, **date_of_birth_context()}
    status = 400 if form.is_bound else 200
    return render(request, "enrollment/account/sign_up.html", context, status=status)


@never_cache
@GET_POST
def check_email(request: HttpRequest) -> HttpResponse:
    """After sign-up: "we sent you a link". A signed-in, unverified enrollee may have it sent
    again; the page looks the same for an address that already had an account."""
    enrollee = identity.current(request)
    if enrollee is not None and enrollee.email_verified_at is not None:
        return redirect(HOME)
    if request.method == "POST" and enrollee is not None:
        if account_over_limit(request, "verify-resend", enrollee.email):
            return _too_many(request)
        accounts.verification_resend(enrollee=enrollee)
        messages.success(request, _("We sent the link again."))
        return redirect("enrollment:check-email")
    email = enrollee.email if enrollee else request.session.get("enrollment.check_email", "")
    return render(
        request,
        "enrollment/account/check_email.html",
        {"email": email, "can_resend": enrollee is not None, "post": post_or_404()},
    )


@never_cache
@require_http_methods(["GET", "HEAD"])
def verify(request: HttpRequest, token: str) -> HttpResponse:
    """The link in the verification email. Opening it twice is harmless."""
    enrollee = tokens.check_verify_email(token)
    if enrollee is None:
        return render(request, "enrollment/account/invalid_link.html", status=404)
    accounts.email_verify(enrollee=enrollee)
    current = identity.current(request)
    if current is not None and current.pk == enrollee.pk:
        current.email_verified_at = enrollee.email_verified_at
        messages.success(request, _("Thank you, your email address is confirmed."))
        return redirect(HOME)
    messages.success(request, _("Thank you, your email address is confirmed. Please sign in."))
    return redirect("enrollment:sign-in")


@never_cache
@sensitive_post_parameters("password")
@GET_POST
def sign_in(request: HttpRequest) -> HttpResponse:
    post = post_or_404()
    form = SignInForm(request.POST or None)
    failed = False
    if request.method == "POST" and form.is_valid():
        email, password = form.cleaned_data["email"], form.cleaned_data["password"]
        if account_over_limit(request, "sign-in", email):
            return _too_many(request)
        enrollee = identity.PasswordProvider.authenticate(email=email, password=password)
        if enrollee is not None:
            identity.sign_in(request, enrollee)
            unverified = enrollee.email_verified_at is None
            return redirect("enrollment:check-email" if unverified else _next_url(request) or HOME)
        failed = True
    context = {"form": form, "failed": failed, "next": _next_url(request), "post": post}
    status = 400 if form.is_bound else 200
    return render(request, "enrollment/account/sign_in.html", context, status=status)


@never_cache
@GET_POST
def sign_in_link(request: HttpRequest) -> HttpResponse:
    """Ask for a one-time sign-in link by email."""
    post = post_or_404()
    form = EmailOnlyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        if account_over_limit(request, "sign-in-link", email):
            return _too_many(request)
        accounts.sign_in_link_send(email=email)
        return render(request, "enrollment/account/link_sent.html", {"email": email})
    status = 400 if form.is_bound else 200
    context = {"form": form, "post": post}
    return render(request, "enrollment/account/sign_in_link.html", context, status=status)


@never_cache
@GET_POST
def sign_in_link_use(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed sign-in link: a page with a button; the button's POST signs in, once."""
    enrollee = tokens.check_sign_in_link(token)
    if enrollee is None:
        return render(request, "enrollment/account/invalid_link.html", status=404)
    if request.method == "POST":
        accounts.email_verify(enrollee=enrollee)  # the link reached their mailbox
        identity.sign_in(request, enrollee)
        return redirect(HOME)
    return render(request, "enrollment/account/sign_in_link_use.html", {"token": token})


@never_cache
@GET_POST
def password_forgot(request: HttpRequest) -> HttpResponse:
    post = post_or_404()
    form = EmailOnlyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        if account_over_limit(request, "password-reset", email):
            return _too_many(request)
        accounts.password_reset_send(email=email)
        return render(request, "enrollment/account/link_sent.html", {"email": email})
    status = 400 if form.is_bound else 200
    context = {"form": form, "post": post}
    return render(request, "enrollment/account/password_forgot.html", context, status=status)


@never_cache
@sensitive_post_parameters("password", "password_again")
@GET_POST
def password_reset(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed reset link: choose a new password. It works until the password changes."""
    enrollee = tokens.check_password_reset(token)
    if enrollee is None:
        return render(request, "enrollment/account/invalid_link.html", status=404)
    form = NewPasswordForm(request.POST or None, enrollee=enrollee)
    if request.method == "POST" and form.is_valid():
        accounts.password_set(enrollee=enrollee, password=form.cleaned_data["password"])
        identity.sign_in(request, enrollee)
        messages.success(request, _("Your new password is saved. Other devices were signed out."))
        return redirect(HOME)
    status = 400 if form.is_bound else 200
    context = {"form": form, "token": token}
    return render(request, "enrollment/account/password_reset.html", context, status=status)


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    identity.sign_out(request)
    messages.success(request, _("You are signed out."))
    return redirect("enrollment:start")


@never_cache
@require_http_methods(["GET", "HEAD"])
@enrollee_required
def security(request: HttpRequest) -> HttpResponse:
    """Password and sessions."""
    return render(request, "enrollment/account/security.html", {"enrollee": request.enrollee})


@never_cache
@sensitive_post_parameters("current_password", "password", "password_again")
@GET_POST
@enrollee_required
def password_change(request: HttpRequest) -> HttpResponse:
    enrollee = request.enrollee
    form = PasswordChangeForm(request.POST or None, enrollee=enrollee)
    if request.method == "POST":
        if account_over_limit(request, "password-change", enrollee.email):
            return _too_many(request)
        if form.is_valid():
            accounts.password_set(enrollee=enrollee, password=form.cleaned_data["password"])
            identity.refresh(request, enrollee)
            messages.success(
                request, _("Your new password is saved. Other devices were signed out.")
            )
            return redirect("enrollment:security")
    status = 400 if form.is_bound else 200
    return render(request, "enrollment/account/password_change.html", {"form": form}, status=status)


@require_POST
@enrollee_required
def sign_out_everywhere(request: HttpRequest) -> HttpResponse:
    """End every session of the account; this one too unless the person chose to stay."""
    enrollee = accounts.sign_out_everywhere(enrollee=request.enrollee)
    if request.POST.get("keep_this") == "1":
        identity.refresh(request, enrollee)
        messages.success(request, _("Every other device is signed out."))
        return redirect("enrollment:security")
    identity.sign_out(request)
    messages.success(request, _("You are signed out on every device."))
    return redirect("enrollment:start")
