"""The citizen's booking pages: choose a service, read the rules, pick a time, say who comes,
confirm; then find, see, move or cancel the appointment from the link in the email.

No account: what the citizen has entered so far is a draft in the session (``wizard``).
Every step works without JavaScript except the proof-of-work check on the last one. Times
are shown on the post's wall clock with its zone (``times``, ``summary``).
"""

from __future__ import annotations

import io

import segno
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from acs.appointments import selectors, services, summary
from acs.appointments.calendar import booking_ics
from acs.appointments.constants import BookingStatus
from acs.appointments.forms import (
    AcknowledgementForm,
    ContactForm,
    FindForm,
    PeopleCountForm,
    SlotForm,
    WhenForm,
    person_formset,
)
from acs.appointments.models import Booking, Service
from acs.appointments.times import parse_day, slot_day, times_offered
from acs.appointments.wizard import Draft, steps
from acs.core import clock, ratelimit
from acs.core import pow as proof_of_work
from acs.core.forms.people import date_of_birth_context
from acs.posts.models import Post
from acs.posts.selectors import post_or_404

GET_POST = require_http_methods(["GET", "HEAD", "POST"])
PERSON_PREFIX = "person"
CONTACT_PREFIX = "contact"


def _service_or_404(slug: str) -> Service:
    service = selectors.service_get(post=post_or_404(), slug=slug)
    if service is None:
        raise Http404(slug)
    return service


def _too_many(request: HttpRequest) -> HttpResponse:
    return render(request, "appointments/too_many.html", status=429)


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
    citizen; an invalid or expired one is said plainly and the booking goes on with the
    normal horizon."""
    horizon = draft.priority_take(token)
    if horizon is None:
        messages.warning(
            draft.request,
            _(
                "This priority link is not valid or has expired. You can still book any of "
                "the times open to everyone."
            ),
        )
    else:
        messages.success(
            draft.request,
            _(
                "Priority booking: because we had to cancel your appointment, you can choose "
                "from times up to %(days)d days ahead."
            )
            % {"days": horizon},
        )
    # Without the token in the address, so that it does not linger in history or logs.
    return redirect("appointments:service", service=draft.service.slug)


# Step 3: number of people, day and time ---------------------------------------------------


@GET_POST
def when(request: HttpRequest, service: str) -> HttpResponse:
    service_obj = _service_or_404(service)
    draft = Draft(request, service_obj)
    if refused := draft.guard("when"):
        return refused
    post_form = None
    if request.method == "POST":
        post_form = WhenForm(request.POST, service=service_obj, horizon_days=draft.priority_horizon)
        if post_form.is_valid():
            draft.time_take(
                people=post_form.cleaned_data["people"], slot=post_form.cleaned_data["slot"]
            )
            # Back to the review when only the time changed; else on to the people.
            next_step = "review" if draft.has_people else "people"
            return redirect(f"appointments:{next_step}", service=service_obj.slug)
    count_form = PeopleCountForm(
        request.GET if "people" in request.GET else None,
        service=service_obj,
        initial={"people": draft.people_count},
    )
    return _when_page(request, draft, post_form, count_form)


def _when_page(
    request: HttpRequest, draft: Draft, post_form: WhenForm | None, count_form: PeopleCountForm
) -> HttpResponse:
    """The times page: the number of people asked for (a refused POST's, a valid ?people=,
    or the draft's), and the days and times with room for them."""
    service_obj = draft.service
    people = draft.people_count
    if post_form is not None and post_form.cleaned_data.get("people"):
        people = post_form.cleaned_data["people"]
    elif count_form.is_valid():
        people = count_form.cleaned_data["people"]
    chosen_key = request.POST.get("slot") if post_form is not None else draft.data.get("slot")
    url = reverse("appointments:when", kwargs={"service": service_obj.slug})
    context = {
        "service": service_obj,
        **steps(3),
        "count_form": count_form,
        "form": post_form,
        "people": people,
        "action": url,
        **times_offered(
            service_obj,
            people=people,
            wanted_day=parse_day(request.GET.get("day")) or slot_day(service_obj.post, chosen_key),
            chosen_key=chosen_key,
            base_url=url,
            query={"people": people},
            horizon_days=draft.priority_horizon,
        ),
        "priority_horizon": draft.priority_horizon,
    }
    invalid = (post_form is not None) or (count_form.is_bound and not count_form.is_valid())
    return render(request, "appointments/when.html", context, status=400 if invalid else 200)


# Step 4: people and contact ----------------------------------------------------------------


def _country(post: Post) -> dict[str, str]:
    return {"country_code": post.country_code, "country_name": post.country_name}


@GET_POST
def people(request: HttpRequest, service: str) -> HttpResponse:
    service_obj = _service_or_404(service)
    post = service_obj.post
    draft = Draft(request, service_obj)
    if refused := draft.guard("people"):
        return refused
    formset_class = person_formset(people=draft.people_count)
    today = clock.today(post)
    if request.method == "POST":
        formset = formset_class(request.POST, prefix=PERSON_PREFIX, today=today)
        contact = ContactForm(request.POST, prefix=CONTACT_PREFIX, **_country(post))
        if formset.is_valid() and contact.is_valid():
            draft.people_take(formset, contact)
            return redirect("appointments:review", service=service_obj.slug)
    else:
        initial = draft.people[: draft.people_count]
        formset = formset_class(prefix=PERSON_PREFIX, today=today, initial=initial)
        contact = ContactForm(prefix=CONTACT_PREFIX, initial=draft.contact, **_country(post))
    context = {
        "service": service_obj,
        **steps(4),
        "formset": formset,
        "contact": contact,
        "has_errors": request.method == "POST",
        **date_of_birth_context(),
    }
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
        **extra,
    }
    return render(request, "appointments/review.html", context, status=status)


def _confirm(request: HttpRequest, draft: Draft) -> HttpResponse:
    """The review's POST: rate limits, then the proof of work, then the booking."""
    if ratelimit.over_limit(
        request,
        "booking",
        per_address=settings.ACS_BOOKING_RATE_PER_ADDRESS,
        email=draft.contact["email"],
        per_email=settings.ACS_BOOKING_RATE_PER_EMAIL,
    ):
        return _too_many(request)
    try:
        proof_of_work.solution_consume(request.POST.get("altcha"))
    except proof_of_work.ProofOfWorkError as error:
        return _review_page(request, draft, 400, error_message=error.message)
    try:
        booking = services.booking_create(
            service=draft.service,
            starts_at=draft.starts_at,
            people=draft.person_data(),
            email=draft.contact["email"],
            phone=draft.contact["phone"],
            language=request.LANGUAGE_CODE,
            horizon_days=draft.priority_horizon,
        )
    except services.BookingError as error:
        status = 409 if error.code == "taken" else 400
        nearest = summary.nearest(draft.service, error.nearest)
        return _review_page(request, draft, status, error_message=error.message, nearest=nearest)
    draft.clear()
    return redirect(reverse("appointments:manage", kwargs={"token": booking.token}) + "?new=1")


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
    not_found = False
    if request.method == "POST":
        if ratelimit.over_limit(request, "find", per_address=20):
            return _too_many(request)
        form = FindForm(request.POST)
        if form.is_valid():
            booking = selectors.booking_by_code(
                code=form.cleaned_data["code"], email=form.cleaned_data["email"]
            )
            if booking is not None:
                return redirect("appointments:manage", token=booking.token)
            not_found = True
    else:
        form = FindForm()
    context = {"form": form, "not_found": not_found}
    status = 400 if request.method == "POST" else 200
    return render(request, "appointments/find.html", context, status=status)


@never_cache
@GET_POST
def cancel(request: HttpRequest, token: str) -> HttpResponse:
    booking = _booking_or_invalid(request, token)
    if isinstance(booking, HttpResponse):
        return booking
    manage_url = reverse("appointments:manage", kwargs={"token": booking.token})
    if request.method == "POST":
        if booking.status == BookingStatus.CANCELLED:  # a second click, a reload: harmless
            return redirect(manage_url + "?cancelled=1")
        if summary.changeable(booking):
            try:
                services.booking_cancel(booking=booking)
            except services.BookingError as error:
                context = {**summary.booking_summary(booking), "error_message": error.message}
                return render(request, "appointments/cancel.html", context, status=400)
            return redirect(manage_url + "?cancelled=1")
    context = {
        **summary.booking_summary(booking),
        "late": selectors.cancellation_is_late(booking),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "appointments/cancel.html", context, status=status)


@never_cache
@GET_POST
def reschedule(request: HttpRequest, token: str) -> HttpResponse:
    booking = _booking_or_invalid(request, token)
    if isinstance(booking, HttpResponse):
        return booking
    form = None
    refusal: dict = {}
    status = 200
    if request.method == "POST" and summary.changeable(booking):
        form = SlotForm(request.POST, service=booking.service)
        if form.is_valid():
            try:
                services.booking_reschedule(booking=booking, starts_at=form.chosen.starts_at)
            except services.BookingError as error:
                nearest = summary.nearest(booking.service, error.nearest)
                refusal = {"error_message": error.message, "nearest": nearest}
                status = 409 if error.code == "taken" else 400
            else:
                url = reverse("appointments:manage", kwargs={"token": booking.token})
                return redirect(url + "?rescheduled=1")
        else:
            status = 400
    elif request.method == "POST":
        status = 400
    return _reschedule_page(request, booking, form, status, **refusal)


def _reschedule_page(
    request: HttpRequest,
    booking: Booking,
    form: SlotForm | None,
    status: int,
    *,
    error_message: str = "",
    nearest: list[dict[str, str]] | None = None,
) -> HttpResponse:
    """The booking, the refusal if there was one, and the other days and times with room
    for its people (never its own time)."""
    url = reverse("appointments:reschedule", kwargs={"token": booking.token})
    chosen_key = request.POST.get("slot") if form is not None else None
    context = {
        **summary.booking_summary(booking),
        "form": form,
        "error_message": error_message,
        "nearest": nearest or [],
        "action": url,
        **times_offered(
            booking.service,
            people=booking.people_count,
            wanted_day=parse_day(request.GET.get("day")) or slot_day(booking.post, chosen_key),
            chosen_key=chosen_key,
            base_url=url,
            query={},
            skip=booking.starts_at,
        ),
    }
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
