"""The citizen's booking pages: choose a service, read the rules, pick a time, say who comes,
confirm; then find, see, move or cancel the appointment from the link in the email.

No account: what the citizen has entered so far is a draft in the session (``wizard``).
Every step works without JavaScript. The last one's proof-of-work check needs it; without
it, the seat is held and booked from a link emailed to the booker (``services.emailhold``). Times
are shown on the post's wall clock with its zone (``times``, ``summary``).
"""

from __future__ import annotations

import io
from typing import Any

import segno
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from acs.appointments import holdpages, limits, selectors, services, summary, times, waitlistpages
from acs.appointments.calendar import booking_ics
from acs.appointments.constants import BookingStatus
from acs.appointments.forms import (
    AcknowledgementForm,
    FindForm,
    PeopleCountForm,
    SlotForm,
    WhenForm,
)
from acs.appointments.models import Booking, Service
from acs.appointments.peopleforms import PeopleForms
from acs.appointments.services import emailhold, waitlist
from acs.appointments.services.holds import HoldError
from acs.appointments.wizard import Draft, steps
from acs.core import pow as proof_of_work
from acs.core.forms.people import date_of_birth_context
from acs.posts.selectors import post_or_404

GET_POST = require_http_methods(["GET", "HEAD", "POST"])


def _service_or_404(slug: str) -> Service:
    service = selectors.service_get(post=post_or_404(), slug=slug)
    if service is None:
        raise Http404(slug)
    return service


def _too_many(request: HttpRequest) -> HttpResponse:
    return render(request, "appointments/too_many.html", status=429)


def _manage_url(booking: Booking, just: str) -> str:
    """The manage page, saying what just happened (``new``, ``cancelled``, ``rescheduled``)."""
    return reverse("appointments:manage", kwargs={"token": booking.token}) + f"?{just}=1"


# Step 1: the services ------------------------------------------------------------------------


@require_safe
def start(request: HttpRequest) -> HttpResponse:
    post = post_or_404()
    context = {
        "services": selectors.services_bookable(post),
        "closure_notices": selectors.closure_notices(post=post),
        **steps(1),
    }
    return render(request, "appointments/start.html", context)


# Step 2: requirements and acknowledgements --------------------------------------------------


@GET_POST
def service(request: HttpRequest, service: str) -> HttpResponse:
    service_obj = _service_or_404(service)
    draft = Draft(request, service_obj)
    if refused := draft.by_request():
        return refused
    if "priority" in request.GET:
        return _priority_take(draft, request.GET["priority"])
    if request.method == "POST":
        form = AcknowledgementForm(request.POST, service=service_obj)
        if form.is_valid():
            draft.acknowledgements_take(form.acknowledgements())
            return redirect("appointments:when", service=service_obj.slug)
    else:
        form = AcknowledgementForm(service=service_obj, initial=draft.data.get("ack") or {})
    context = {"service": service_obj, "form": form, **steps(2)}
    return render(request, "appointments/service.html", context, status=400 if form.errors else 200)


def _priority_take(draft: Draft, token: str) -> HttpResponse:
    """The priority link from a closure email: a valid one widens the horizon for this
    citizen; a used, invalid or expired one is said plainly and the booking goes on with the
    normal horizon."""
    level, text = draft.priority_notice(draft.priority_take(token))
    messages.add_message(draft.request, level, text)
    # Without the token in the address, so that it does not linger in history or logs.
    return redirect("appointments:service", service=draft.service.slug)


# Step 3: number of people, day and time ---------------------------------------------------


@GET_POST
def when(request: HttpRequest, service: str) -> HttpResponse:
    draft = Draft(request, _service_or_404(service))
    if refused := draft.guard("when"):
        return refused
    form = None
    if request.method == "POST":
        form = WhenForm(request.POST, service=draft.service, horizon_days=draft.priority_horizon)
    if form is not None and form.is_valid():
        draft.time_take(people=form.cleaned_data["people"], slot=form.cleaned_data["slot"])
        # Back to the review when only the time changed; else on to the people.
        next_step = "review" if draft.has_people else "people"
        return redirect(f"appointments:{next_step}", service=draft.service.slug)
    query = request.GET if "people" in request.GET else None
    initial = {"people": draft.people_count}
    count_form = PeopleCountForm(query, service=draft.service, initial=initial)
    context = times.when_page(draft, form=form, count_form=count_form, day=request.GET.get("day"))
    status = 400 if form is not None or count_form.errors else 200
    return render(request, "appointments/when.html", context, status=status)


# Step 4: people and contact ----------------------------------------------------------------


@GET_POST
def people(request: HttpRequest, service: str) -> HttpResponse:
    draft = Draft(request, _service_or_404(service))
    if refused := draft.guard("people"):
        return refused
    forms = PeopleForms(request.POST if request.method == "POST" else None, draft=draft)
    if forms.is_valid():
        draft.people_take(forms.formset, forms.contact)
        return redirect("appointments:review", service=draft.service.slug)
    context = {"service": draft.service, **steps(4), **forms.context(), **date_of_birth_context()}
    status = 400 if request.method == "POST" else 200
    return render(request, "appointments/people.html", context, status=status)


# Step 5: review and confirm ----------------------------------------------------------------


@never_cache
@GET_POST
def review(request: HttpRequest, service: str) -> HttpResponse:
    draft = Draft(request, _service_or_404(service))
    if refused := draft.guard("review"):
        return refused
    if request.method == "POST":
        return _confirm(request, draft)
    return _review_page(request, draft)


def _review_page(request: HttpRequest, draft: Draft, status: int = 200, **extra) -> HttpResponse:
    context = {
        **summary.draft_summary(draft),
        **steps(5),
        **proof_of_work.widget_context(),
        "hold_minutes": emailhold.hold_minutes(),
        **extra,
    }
    return render(request, "appointments/review.html", context, status=status)


def _confirm(request: HttpRequest, draft: Draft) -> HttpResponse:
    """The review's POST: rate limits, then the proof of work, then the booking."""
    if limits.booking_over_limit(request, draft.contact["email"]):
        return _too_many(request)
    if _without_script(request):
        return _email_hold_create(request, draft)
    try:
        proof_of_work.solution_consume(request.POST.get("altcha"))
        booking = services.booking_create(
            **draft.booking_arguments(), language=request.LANGUAGE_CODE
        )
    except proof_of_work.ProofOfWorkError as error:
        return _review_page(request, draft, 400, error_message=error.message)
    except services.BookingError as error:
        status = 409 if error.code == "taken" else 400
        nearest = summary.nearest(draft.service, error.nearest)
        return _review_page(request, draft, status, error_message=error.message, nearest=nearest)
    draft.clear()
    return redirect(_manage_url(booking, "new"))


# Booking without JavaScript: the seat held, confirmed from an emailed link --------------------


def _without_script(request: HttpRequest) -> bool:
    """The review came from its ``<noscript>`` path: no proof of work could run."""
    return (
        proof_of_work.enabled()
        and not request.POST.get("altcha")
        and request.POST.get("nojs") == "1"
    )


HOLD_SENT_KEY = "appointments.email_hold_sent"


def _email_hold_create(request: HttpRequest, draft: Draft) -> HttpResponse:
    """Hold the seat and email the link that books it (``services.emailhold``)."""
    try:
        held = emailhold.email_hold_create(
            **draft.booking_arguments(), language=request.LANGUAGE_CODE
        )
    except services.BookingError as error:
        status = 409 if error.code == "taken" else 400
        nearest = summary.nearest(draft.service, error.nearest)
        return _review_page(request, draft, status, error_message=error.message, nearest=nearest)
    draft.clear()
    # What the next page says, for this browser only: the address the link went to.
    request.session[HOLD_SENT_KEY] = {"email": held.email, "hold": held.hold_id}
    return redirect("appointments:email_hold_sent", service=draft.service.slug)


@never_cache
@require_safe
def email_hold_sent(request: HttpRequest, service: str) -> HttpResponse:
    """The "check your email" page: the seat is held, the link is on its way."""
    context = holdpages.sent_page(_service_or_404(service), request.session.get(HOLD_SENT_KEY))
    return render(request, "appointments/email_hold_sent.html", context)


@never_cache
@GET_POST
def email_hold(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link of a held booking: see it, confirm it (once; again is harmless)."""
    hold = selectors.email_hold_by_token(token)
    if hold is None:
        return render(request, "appointments/invalid_link.html", status=404)
    if request.method != "POST":
        context = holdpages.hold_page(hold)
        return render(request, "appointments/email_hold.html", context, status=context["status"])
    try:
        booking = emailhold.email_hold_confirm(hold=hold)
    except (HoldError, services.BookingError) as error:
        context = holdpages.hold_page(selectors.email_hold_by_token(token), error=error)
        return render(request, "appointments/email_hold.html", context, status=context["status"])
    return redirect(_manage_url(booking, "new"))


# Manage: the page behind the emailed link ---------------------------------------------------


def _booking_or_invalid(request: HttpRequest, token: str) -> Booking | HttpResponse:
    booking = selectors.booking_by_token(token)
    if booking is None:
        return render(request, "appointments/invalid_link.html", status=404)
    return booking


def _booking_or_404(token: str) -> Booking:
    booking = selectors.booking_by_token(token)
    if booking is None:
        raise Http404("no such booking")
    return booking


@never_cache
@require_safe
def manage(request: HttpRequest, token: str) -> HttpResponse:
    booking = _booking_or_invalid(request, token)
    if isinstance(booking, HttpResponse):
        return booking
    context = {
        **summary.booking_summary(booking),
        "just_booked": request.GET.get("new") == "1",
        "just_cancelled": request.GET.get("cancelled") == "1",
        "just_rescheduled": request.GET.get("rescheduled") == "1",
    }
    return render(request, "appointments/manage.html", context)


@never_cache
@GET_POST
def find(request: HttpRequest) -> HttpResponse:
    """Code and email together open the manage page; a wrong pair says the same whichever
    half is wrong, so the form cannot be used to learn whether a code exists."""
    if request.method != "POST":
        return render(request, "appointments/find.html", {"form": FindForm(), "not_found": False})
    if limits.find_over_limit(request):
        return _too_many(request)
    form = FindForm(request.POST)
    booking = None
    if form.is_valid():
        data = form.cleaned_data
        booking = selectors.booking_by_code(code=data["code"], email=data["email"])
    if booking is not None:
        return redirect("appointments:manage", token=booking.token)
    context = {"form": form, "not_found": form.is_valid()}
    return render(request, "appointments/find.html", context, status=400)


@never_cache
@GET_POST
def cancel(request: HttpRequest, token: str) -> HttpResponse:
    booking = _booking_or_invalid(request, token)
    if isinstance(booking, HttpResponse):
        return booking
    posted = request.method == "POST"
    if posted and booking.status == BookingStatus.CANCELLED:  # a second click, a reload
        return redirect(_manage_url(booking, "cancelled"))
    if not posted or not summary.changeable(booking):
        context = summary.cancel_page(booking)
        return render(request, "appointments/cancel.html", context, status=400 if posted else 200)
    try:
        services.booking_cancel(booking=booking)
    except services.BookingError as error:
        context = {**summary.booking_summary(booking), "error_message": error.message}
        return render(request, "appointments/cancel.html", context, status=400)
    return redirect(_manage_url(booking, "cancelled"))


@never_cache
@GET_POST
def reschedule(request: HttpRequest, token: str) -> HttpResponse:
    booking = _booking_or_invalid(request, token)
    if isinstance(booking, HttpResponse):
        return booking
    if request.method != "POST":
        return _reschedule_page(request, booking, None, 200)
    form = SlotForm(request.POST, service=booking.service) if summary.changeable(booking) else None
    if form is None or not form.is_valid():
        return _reschedule_page(request, booking, form, 400)
    try:
        services.booking_reschedule(booking=booking, starts_at=form.chosen.starts_at)
    except services.BookingError as error:
        status = 409 if error.code == "taken" else 400
        nearest = summary.nearest(booking.service, error.nearest)
        refusal = {"error_message": error.message, "nearest": nearest}
        return _reschedule_page(request, booking, form, status, **refusal)
    return redirect(_manage_url(booking, "rescheduled"))


def _reschedule_page(
    request: HttpRequest, booking: Booking, form: SlotForm | None, status: int, **refusal: Any
) -> HttpResponse:
    """``refusal``: the service's message and the nearest free times, when it said no."""
    context = times.reschedule_page(booking, form=form, day=request.GET.get("day"), **refusal)
    return render(request, "appointments/reschedule.html", context, status=status)


@never_cache
@require_safe
def calendar(request: HttpRequest, token: str) -> HttpResponse:
    booking = _booking_or_404(token)
    manage_url = request.build_absolute_uri(
        reverse("appointments:manage", kwargs={"token": booking.token})
    )
    response = HttpResponse(booking_ics(booking, manage_url), content_type="text/calendar")
    response["Content-Type"] = "text/calendar; charset=utf-8"
    response["Content-Disposition"] = f'attachment; filename="appointment-{booking.code}.ics"'
    return response


@require_safe
def qr(request: HttpRequest, token: str) -> HttpResponse:
    """The confirmation code, and nothing else, as the QR code the door's scanner reads."""
    booking = _booking_or_404(token)
    buffer = io.BytesIO()
    segno.make(booking.code, error="m", micro=False).save(
        buffer, kind="svg", scale=8, border=4, xmldecl=False, svgns=True, title=booking.code
    )
    response = HttpResponse(buffer.getvalue(), content_type="image/svg+xml")
    patch_cache_control(response, private=True, max_age=3600)
    return response


# The waitlist: "tell me when a seat opens" -------------------------------------------------


@never_cache
@GET_POST
def waitlist_join(request: HttpRequest, service: str) -> HttpResponse:
    forms = waitlistpages.JoinForms(request, _service_or_404(service))
    if request.method != "POST":
        return _join_page(request, forms, 200)
    if limits.waitlist_over_limit(request, request.POST.get("contact-email", "")):
        return _too_many(request)
    if not forms.is_valid():
        return _join_page(request, forms, 400)
    try:
        proof_of_work.solution_consume(request.POST.get("altcha"))
        waitlist.waitlist_join(**forms.join_arguments(request.LANGUAGE_CODE))
    except (proof_of_work.ProofOfWorkError, waitlist.WaitlistError) as error:
        return _join_page(request, forms, 400, error_message=error.message)
    return redirect("appointments:waitlist_sent", service=service)


def _join_page(request: HttpRequest, forms, status: int, **extra: Any) -> HttpResponse:
    context = waitlistpages.join_page(forms, **extra)
    return render(request, "appointments/waitlist_join.html", context, status=status)


@require_safe
def waitlist_sent(request: HttpRequest, service: str) -> HttpResponse:
    context = {"service": _service_or_404(service)}
    return render(request, "appointments/waitlist_sent.html", context)


@never_cache
@GET_POST
def waitlist_entry(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link of a waitlist request: confirm it, see it, leave the waitlist."""
    entry = selectors.waitlist_entry_by_token(token)
    if entry is None:
        return render(request, "appointments/invalid_link.html", status=404)
    if request.method == "POST":
        return _entry_action(request, entry)
    context = {**waitlistpages.entry_page(entry), "just": request.GET.get("done", "")}
    return render(request, "appointments/waitlist_entry.html", context)


def _entry_action(request: HttpRequest, entry) -> HttpResponse:
    action = request.POST.get("action")
    actions = {"confirm": waitlist.waitlist_confirm, "leave": waitlist.waitlist_leave}
    try:
        if action not in actions:
            raise waitlist.WaitlistError("action", _("Please use one of the buttons."))
        actions[action](entry=entry)
    except waitlist.WaitlistError as error:
        context = waitlistpages.entry_page(entry, error_message=error.message)
        return render(request, "appointments/waitlist_entry.html", context, status=400)
    url = reverse("appointments:waitlist_entry", kwargs={"token": entry.token})
    return redirect(f"{url}?done={action}")


@never_cache
@GET_POST
def waitlist_offer(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed claim link of a seat held for a waitlist entry: book it, once."""
    hold = selectors.waitlist_offer_by_token(token)
    if hold is None:
        return render(request, "appointments/invalid_link.html", status=404)
    if request.method != "POST":
        context = waitlistpages.offer_page(hold)
        status = 200 if context["claimable"] or context["claimed"] else 410
        return render(request, "appointments/waitlist_offer.html", context, status=status)
    try:
        booking = waitlist.offer_claim(hold=hold)
    except (HoldError, services.BookingError) as error:
        hold = selectors.waitlist_offer_by_token(token)
        context = waitlistpages.offer_page(hold, error_message=error.message)
        return render(request, "appointments/waitlist_offer.html", context, status=409)
    return redirect(_manage_url(booking, "new"))
