"""Staff accounts at the post being worked on: the list, a new account, one account's roles,
a new sign-in, switching an account off. The rules live in ``acs.staff.accounts``; a refusal
is shown in plain words and changes nothing."""

from __future__ import annotations

import segno
from django.contrib import messages
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from acs.core.permissions import staff_view
from acs.core.ratelimit import client_address
from acs.posts.selectors import post_or_404
from acs.staff import accounts
from acs.staff.forms import AccountForm, RoleForm
from acs.staff.services import StaffCredentials

VIEW = "auth.view_user"
ADD = "auth.add_user"
CHANGE = "auth.change_user"


def _account(request: HttpRequest, pk: int) -> User:
    """An account of the post being worked on (or with no role yet); another's is a 404."""
    found = accounts.accounts_at(actor=request.user, post=post_or_404()).filter(pk=pk).first()
    if found is None:
        raise Http404(pk)
    return found


@staff_view(VIEW)
@require_safe
def account_list(request: HttpRequest) -> HttpResponse:
    post = post_or_404()
    rows = accounts.accounts_at(actor=request.user, post=post).prefetch_related(
        "staff_roles__role", "staff_roles__post"
    )
    return render(request, "staff/accounts/list.html", {"accounts": rows, "post": post})


@staff_view(ADD)
@never_cache
def account_new(request: HttpRequest) -> HttpResponse:
    post = post_or_404()
    grantable = accounts.roles_grantable(actor=request.user, post=post)
    form = AccountForm(request.POST or None, grantable=grantable)
    if request.method == "POST" and form.is_valid():
        try:
            created = accounts.account_create(
                actor=request.user,
                post=post,
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                roles=list(form.cleaned_data["roles"]),
                address=client_address(request),
            )
        except ValidationError as refused:
            form.add_error(None, refused)
        else:
            return _credentials_page(request, created.credentials, new=True)
    status = 400 if form.is_bound else 200
    context = {"form": form, "post": post}
    return render(request, "staff/accounts/new.html", context, status=status)


@staff_view(VIEW)
@require_safe
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account, post = _account(request, pk), post_or_404()
    grantable = accounts.roles_grantable(actor=request.user, post=post)
    roles = account.staff_roles.select_related("role", "post").order_by("post__name")
    context = {
        "account": account,
        "post": post,
        "roles_here": [role for role in roles if role.post_id == post.pk],
        "roles_elsewhere": [role for role in roles if role.post_id != post.pk],
        "may_change": accounts.account_manageable(actor=request.user, account=account),
        "grantable": {role.pk for role in grantable},
        "role_form": RoleForm(grantable=grantable),
    }
    return render(request, "staff/accounts/detail.html", context)


def _act(request: HttpRequest, pk: int, change, done: str) -> HttpResponse:
    """Run one change on the account; a refusal is shown in plain words."""
    account = _account(request, pk)
    try:
        change(account)
    except ValidationError as refused:
        messages.error(request, " ".join(refused.messages))
    else:
        messages.success(request, done)
    return redirect("staff:account", pk=account.pk)


@staff_view(CHANGE)
@require_POST
def account_role_give(request: HttpRequest, pk: int) -> HttpResponse:
    post = post_or_404()
    form = RoleForm(request.POST, grantable=accounts.roles_grantable(actor=request.user, post=post))
    if not form.is_valid():
        messages.error(request, _("Choose one of the roles offered."))
        return redirect("staff:account", pk=_account(request, pk).pk)
    role = form.cleaned_data["role"]
    return _act(
        request,
        pk,
        lambda account: accounts.role_give(
            actor=request.user,
            account=account,
            role=role,
            post=post,
            address=client_address(request),
        ),
        _("The role is given."),
    )


@staff_view(CHANGE)
@require_POST
def account_role_take(request: HttpRequest, pk: int) -> HttpResponse:
    value = request.POST.get("role", "")
    role = (
        Group.objects.filter(pk=int(value)).first() if value.isdigit() and len(value) < 10 else None
    )
    if role is None:
        messages.error(request, _("Choose one of the roles offered."))
        return redirect("staff:account", pk=_account(request, pk).pk)
    return _act(
        request,
        pk,
        lambda account: accounts.role_take(
            actor=request.user,
            account=account,
            role=role,
            post=post_or_404(),
            address=client_address(request),
        ),
        _("The role is taken back."),
    )


@staff_view(CHANGE)
@require_POST
def account_active(request: HttpRequest, pk: int) -> HttpResponse:
    active = request.POST.get("active") == "on"
    done = _("The account is on again.") if active else _("The account is switched off.")
    return _act(
        request,
        pk,
        lambda account: accounts.account_active_set(
            actor=request.user,
            account=account,
            active=active,
            address=client_address(request),
        ),
        done,
    )


@staff_view(CHANGE)
@require_POST
@never_cache
def account_reset(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account(request, pk)
    try:
        credentials = accounts.account_reset(
            actor=request.user, account=account, address=client_address(request)
        )
    except ValidationError as refused:
        messages.error(request, " ".join(refused.messages))
        return redirect("staff:account", pk=account.pk)
    return _credentials_page(request, credentials, new=False)


def _credentials_page(request: HttpRequest, credentials: StaffCredentials, *, new: bool):
    """The password and the second factor, shown this once (the views that call it are
    ``never_cache``: ``Cache-Control: no-store``)."""
    qr = segno.make(credentials.totp_uri, error="m").svg_inline(scale=4, title=_("QR code"))
    context = {"credentials": credentials, "qr": mark_safe(qr), "new": new}  # noqa: S308 — segno's own SVG  # nosec B308, B703
    return render(request, "staff/accounts/credentials.html", context)
