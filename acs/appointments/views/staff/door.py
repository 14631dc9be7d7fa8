"""The door: a tablet at the entrance scans or types a confirmation code and gets a
full-screen answer (admit, not admitted, early); officers may override a refusal with a
written reason; the booking page marks people served.

The pages work without JavaScript (type the code, press Check); ``acs/door.js`` adds camera
scanning where the browser has ``BarcodeDetector``. The rules live in
``acs.appointments.services.door``; these views parse, call one service and render. The
door's log lists, per day, the codes it refused because no booking has them.
"""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from acs.appointments import story
from acs.appointments.models import Booking
from acs.appointments.services.door import (
    CheckinRefused,
    CheckinResult,
    booking_mark_served,
    checkin_override,
    checkin_perform,
)
from acs.core import clock
from acs.core.audit import audit_record
from acs.core.clock import long_date, zone_text
from acs.core.permissions import staff_view
from acs.core.ratelimit import client_address
from acs.core.staffquery import parse_day
from acs.posts.selectors import post_or_404

OVERRIDE_PERMISSION = "appointments.override_checkin"


class CodeForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("Confirmation code"), max_length=40, strip=True)


class OverrideForm(forms.Form):
    code = forms.CharField(max_length=40, widget=forms.HiddenInput)
    # The length rule is the service's (``checkin_override``); the form only bounds the size.
    reason = forms.CharField(
        label=gettext_lazy("Why do you admit this person?"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


def _answer(request: HttpRequest, result: CheckinResult, *, code: str) -> HttpResponse:
    """The full-screen answer, with the override form where the refusal allows one and the
    user may override."""
    booking = result.booking
    can_override = result.overridable and request.user.has_perm(OVERRIDE_PERMISSION)
    context = {
        "result": result,
        "booking": booking,
        # Names only on the admit screen: its action is audited, a refusal's read is not.
        "people": [p.full_name for p in booking.people.all()] if result.admitted else [],
        "when": clock.when_texts(booking.post, booking.starts_at) if booking is not None else None,
        # Already on the post's wall clock; the template's ``time`` filter would show UTC.
        "come_back": f"{result.come_back_at:%H:%M}" if result.come_back_at else "",
        "override_form": OverrideForm(initial={"code": code}) if can_override else None,
    }
    return render(request, "appointments/staff/door_answer.html", context)


@staff_view("appointments.perform_checkin")
@require_safe
def door(request: HttpRequest) -> HttpResponse:
    """The door screen: the code field (typed, or filled by a scan)."""
    return render(request, "appointments/staff/door.html", {"form": CodeForm()})


@staff_view("appointments.perform_checkin")
def check(request: HttpRequest) -> HttpResponse:
    """POST a code: check in under the post's rules and show the answer."""
    if request.method != "POST":
        return redirect("staff:door")
    form = CodeForm(request.POST)
    if not form.is_valid():
        return render(request, "appointments/staff/door.html", {"form": form})
    code = form.cleaned_data["code"]
    result = checkin_perform(post=post_or_404(), code=code, actor=request.user)
    return _answer(request, result, code=code)


@staff_view(OVERRIDE_PERMISSION)
def override(request: HttpRequest) -> HttpResponse:
    """POST a code and a written reason: admit despite the refusal."""
    if request.method != "POST":
        return redirect("staff:door")
    form = OverrideForm(request.POST)
    if form.is_valid():
        code = form.cleaned_data["code"]
        try:
            result = checkin_override(
                post=post_or_404(),
                code=code,
                actor=request.user,
                reason=form.cleaned_data["reason"],
            )
        except CheckinRefused as refusal:
            field = "reason" if refusal.code == "reason_required" else None
            form.add_error(field, refusal.message)
        else:
            return _answer(request, result, code=code)
    return render(request, "appointments/staff/door_override.html", {"form": form})


@staff_view("appointments.mark_served")
@require_POST
def booking_served(request: HttpRequest, pk: int) -> HttpResponse:
    """POST from the booking page: checked in → served; back to where the form was."""
    booking = get_object_or_404(Booking, pk=pk, post=post_or_404())
    try:
        booking_mark_served(booking=booking, actor=request.user)
    except CheckinRefused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, _("Marked served: %(code)s.") % {"code": booking.code})
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("staff:booking", kwargs={"pk": booking.pk})
    return redirect(target)


@staff_view("appointments.perform_checkin")
@never_cache
@require_safe
def door_log(request: HttpRequest) -> HttpResponse:
    """The codes the door refused on a day (the post's local date) because no booking has
    them: when, what was typed, who was at the door. Each look is audited."""
    post = post_or_404()
    day, date_error = parse_day(request.GET.get("date", ""), clock.today(post))
    lines = story.door_log(post=post, day=day)
    audit_record(
        actor=request.user,
        action="acs.door.log_viewed",
        post=post,
        summary=f"date={day.isoformat()} rows={len(lines)}",
        address=client_address(request),
    )
    context = {
        "day": day,
        "day_text": long_date(day),
        "zone": zone_text(post, clock.midnight(post, day) + timedelta(hours=12)),
        "lines": lines,
        "date_error": date_error,
        "previous": (day - timedelta(days=1)).isoformat(),
        "next": (day + timedelta(days=1)).isoformat(),
    }
    return render(request, "appointments/staff/door_log.html", context)
