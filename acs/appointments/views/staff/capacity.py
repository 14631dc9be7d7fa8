"""Closures and capacity for staff.

Closing is two steps and one action: the form, then a confirmation page that shows how many
appointments the closure cancels (and which), then the confirm, which calls
``services.closures.closure_create_and_cancel`` once. The confirmation page carries a fresh
nonce, so a double click or a resent form makes no second closure and no second email.

Changing capacity is the same shape: the form, and when the change leaves bookings that no
longer fit, a confirmation page listing them; saving is ``services.capacity``'s decision.

The pages show times, codes, services and numbers of people, never names or contact
details: those are on each booking's own page, whose views are audited.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_safe

from acs.appointments import selectors
from acs.appointments.constants import BookingStatus
from acs.appointments.forms import (
    ClosureForm,
    ServiceCapacityForm,
    opening_rule_formset,
)
from acs.appointments.models import Booking, OpeningRule, Service
from acs.appointments.services import capacity as capacity_services
from acs.appointments.services import closures as closure_services
from acs.core import clock
from acs.core.permissions import staff_view
from acs.posts.models import Post
from acs.posts.selectors import post_or_404

GET_POST = require_http_methods(["GET", "HEAD", "POST"])
RULES_PREFIX = "rules"
# Form fields a confirmation page must not carry back as they came.
_NOT_CARRIED = {"csrfmiddlewaretoken", "step", "confirmed", "nonce"}


def _carried(request: HttpRequest) -> list[tuple[str, str]]:
    """What was posted, as (name, value) pairs for the hidden fields of a confirmation."""
    return [
        (name, value)
        for name in request.POST
        if name not in _NOT_CARRIED
        for value in request.POST.getlist(name)
    ]


@dataclass(frozen=True)
class BookingLine:
    """One booking as the confirmation pages list it."""

    booking: Booking
    when: str
    note: str = ""


def _lines(post: Post, bookings: list[Booking]) -> list[BookingLine]:
    return [BookingLine(b, clock.when_text(post, b.starts_at)) for b in bookings]


def _zone_hint(post: Post) -> str:
    now = timezone.now()
    return _("Times are in %(zone)s (%(name)s). It is %(time)s there now.") % {
        "zone": clock.zone_text(post, now),
        "name": post.time_zone,
        "time": clock.time_text(clock.local(post, now)),
    }


# Closures -----------------------------------------------------------------------------------


@staff_view("appointments.close_unit")
@require_safe
def closures(request: HttpRequest) -> HttpResponse:
    post = post_or_404()
    rows = selectors.closures_current_and_upcoming(post=post)
    return render(request, "appointments/staff/closures.html", {"post": post, "rows": rows})


def _closure_form_page(request: HttpRequest, form: ClosureForm, *, status: int = 200):
    context = {"form": form, "zone_hint": _zone_hint(form.post)}
    return render(request, "appointments/staff/closure_form.html", context, status=status)


def _closure_review(request: HttpRequest, form: ClosureForm) -> HttpResponse:
    """Step 2: what the closure covers, and a confirm button carrying a fresh nonce."""
    post = form.post
    data = form.cleaned_data
    covered = selectors.bookings_overlapping(
        post=post, service=data["service"], starts_at=data["starts_at"], ends_at=data["ends_at"]
    )
    to_cancel = [b for b in covered if b.status == BookingStatus.BOOKED]
    inside = [b for b in covered if b.status == BookingStatus.CHECKED_IN]
    context = {
        "service": data["service"],
        "starts": clock.when_text(post, data["starts_at"]),
        "ends": clock.when_text(post, data["ends_at"]),
        "reason_en": data["reason_en"],
        "reason_es": data["reason_es"],
        "to_cancel": _lines(post, to_cancel),
        "addresses": len({b.email.lower() for b in to_cancel}),
        "inside": _lines(post, inside),
        "carried": _carried(request),
        "nonce": secrets.token_urlsafe(16),
    }
    return render(request, "appointments/staff/closure_confirm.html", context)


def _closure_confirm(request: HttpRequest, form: ClosureForm, nonce: str) -> HttpResponse:
    data = form.cleaned_data
    try:
        result = closure_services.closure_create_and_cancel(
            post=form.post,
            service=data["service"],
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            reason_en=data["reason_en"],
            reason_es=data["reason_es"],
            actor=request.user,
            nonce=nonce,
        )
    except closure_services.ClosureError as error:
        form.add_error(None, error.message)
        return _closure_form_page(request, form, status=400)
    _closure_messages(request, result)
    return redirect("staff:closures")


def _closure_messages(request: HttpRequest, result: closure_services.ClosureResult) -> None:
    if not result.created:
        messages.info(
            request,
            _(
                "This closure had already been made. Nothing more was cancelled and no one "
                "was emailed again."
            ),
        )
        return
    count = len(result.cancelled)
    messages.success(
        request,
        ngettext(
            "Closed. %(count)d appointment was cancelled; the person is being emailed.",
            "Closed. %(count)d appointments were cancelled; the people are being emailed.",
            count,
        )
        % {"count": count},
    )
    if result.inside:
        messages.warning(
            request,
            ngettext(
                "%(count)d appointment is already inside and was left as it is.",
                "%(count)d appointments are already inside and were left as they are.",
                len(result.inside),
            )
            % {"count": len(result.inside)},
        )


@staff_view("appointments.close_unit")
@GET_POST
def closure_new(request: HttpRequest) -> HttpResponse:
    """Step 1 (the form), step 2 (``step=review``: what it cancels), confirm
    (``step=confirm`` with the nonce); ``step=edit`` goes back to the form as filled in."""
    post = post_or_404()
    if request.method != "POST":
        return _closure_form_page(request, ClosureForm(post=post))
    form = ClosureForm(request.POST, post=post)
    if not form.is_valid():
        return _closure_form_page(request, form, status=400)
    step = request.POST.get("step")
    nonce = request.POST.get("nonce", "")
    if step == "edit":
        return _closure_form_page(request, form)
    if step == "confirm" and nonce:
        return _closure_confirm(request, form, nonce)
    return _closure_review(request, form)


# Capacity -----------------------------------------------------------------------------------


@staff_view("appointments.manage_capacity")
@require_safe
def capacity(request: HttpRequest) -> HttpResponse:
    """Services with their seats, duration, hours, horizon and notice; the next twelve
    months of holidays; the current and upcoming closures."""
    post = post_or_404()
    today = clock.today(post)
    context = {
        "post": post,
        "services": selectors.services_with_rules(post),
        "holidays": selectors.holidays_ahead(post=post, today=today),
        "closure_rows": selectors.closures_current_and_upcoming(post=post),
        "can_close": request.user.has_perm("appointments.close_unit"),
    }
    return render(request, "appointments/staff/capacity.html", context)


def _initial(service: Service, rules: list[OpeningRule]) -> tuple[dict, list[dict]]:
    fields = {
        "seats_per_slot": service.seats_per_slot,
        "duration_minutes": service.duration_minutes,
        "horizon_days": service.horizon_days,
        "min_notice_hours": service.min_notice_hours,
    }
    return fields, [
        {"weekday": rule.weekday, "opens": rule.opens, "closes": rule.closes} for rule in rules
    ]


def _misfit_lines(post: Post, misfits: list[capacity_services.Misfit]) -> list[BookingLine]:
    return [
        BookingLine(m.booking, clock.when_text(post, m.booking.starts_at), m.message)
        for m in misfits
    ]


def _edit_page(
    request: HttpRequest, service: Service, form, formset, *, status: int = 200
) -> HttpResponse:
    # Bookings the saved settings do not fit (after a confirmed reduction): still listed here
    # until staff have moved or contacted the people.
    current = capacity_services.capacity_misfits(
        service=service,
        seats_per_slot=service.seats_per_slot,
        duration_minutes=service.duration_minutes,
        rules=[
            capacity_services.RuleData(rule.weekday, rule.opens, rule.closes)
            for rule in service.opening_rules.all()
        ],
    )
    context = {
        "service": service,
        "form": form,
        "formset": formset,
        "not_fitting": _misfit_lines(service.post, current),
        "zone_hint": _zone_hint(service.post),
    }
    return render(request, "appointments/staff/capacity_edit.html", context, status=status)


def _save(request: HttpRequest, service: Service, form, formset) -> HttpResponse:
    confirmed = {int(v) for v in request.POST.getlist("confirmed") if v.isdigit()}
    data = form.cleaned_data
    try:
        result = capacity_services.service_capacity_update(
            service=service,
            seats_per_slot=data["seats_per_slot"],
            duration_minutes=data["duration_minutes"],
            horizon_days=data["horizon_days"],
            min_notice_hours=data["min_notice_hours"],
            rules=formset.rules(),
            actor=request.user,
            confirmed=confirmed if request.POST.get("step") == "confirm" else (),
        )
    except capacity_services.CapacityError as error:
        if error.code != "unconfirmed":
            form.add_error(None, error.message)
            return _edit_page(request, service, form, formset, status=400)
        context = {
            "service": service,
            "misfits": _misfit_lines(service.post, error.misfits),
            "carried": _carried(request),
        }
        return render(request, "appointments/staff/capacity_confirm.html", context)
    if not result.changed:
        messages.info(request, _("Nothing changed."))
    elif result.misfits:
        messages.warning(
            request,
            ngettext(
                "Saved. %(count)d booking no longer fits and stays booked: contact or move "
                "the person.",
                "Saved. %(count)d bookings no longer fit and stay booked: contact or move "
                "the people.",
                len(result.misfits),
            )
            % {"count": len(result.misfits)},
        )
    else:
        messages.success(request, _("Saved."))
    return redirect("staff:service-edit", pk=service.pk)


@staff_view("appointments.manage_capacity")
@GET_POST
def service_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """A service's seats, duration, horizon, notice and opening rules."""
    service = get_object_or_404(
        Service.objects.select_related("post").prefetch_related("opening_rules"),
        pk=pk,
        post=post_or_404(),
    )
    formset_class = opening_rule_formset()
    if request.method != "POST":
        fields, rules = _initial(service, list(service.opening_rules.all()))
        form = ServiceCapacityForm(initial=fields)
        formset = formset_class(prefix=RULES_PREFIX, initial=rules)
        return _edit_page(request, service, form, formset)
    form = ServiceCapacityForm(request.POST)
    formset = formset_class(request.POST, prefix=RULES_PREFIX)
    if not (form.is_valid() and formset.is_valid()):
        return _edit_page(request, service, form, formset, status=400)
    return _save(request, service, form, formset)
