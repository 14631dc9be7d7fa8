"""The citizen's booking pages: choose a service, read the rules, pick a time, say who comes,
confirm; then find, see, move or cancel the appointment from the link in the email.

No account: what the citizen has entered so far lives in the session, one draft per service,
until the booking is made. Every step works without JavaScript except the proof-of-work check
on the last one. Times are shown on the post's wall clock with its zone.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import segno
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.formats import date_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from acs.appointments import availability, selectors, services
from acs.appointments.availability import Slot
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
from acs.appointments.services import closures
from acs.core import pow as proof_of_work
from acs.core import ratelimit
from acs.core.clock import long_date, utc_offset_text
from acs.core.forms.people import date_of_birth_context
from acs.core.forms.phone import phone_display
from acs.posts.models import Post
from acs.posts.selectors import post_or_404

GET_POST = require_http_methods(["GET", "HEAD", "POST"])
PERSON_PREFIX = "person"
CONTACT_PREFIX = "contact"

_SHORT_DAY = {"en": "D, M j", "es": "D j M"}
_TIME = "H:i"


# Showing times -----------------------------------------------------------------------------


def _language() -> str:
    return (get_language() or "en").split("-")[0]


def zone_text(post: Post, local: datetime) -> str:
    """The zone as a citizen reads it: "Lima time (UTC−05:00)", or "New York time (EDT,
    UTC−04:00)" where the zone has a letter abbreviation (the tz database has none for Lima,
    only "-05", so none is invented)."""
    abbreviation = local.tzname() or ""
    offset = utc_offset_text(local)
    zone = f"{abbreviation}, {offset}" if abbreviation[:1].isalpha() else offset
    return _("%(city)s time (%(zone)s)") % {"city": post.city, "zone": zone}


def short_day(day: date) -> str:
    return date_format(day, _SHORT_DAY.get(_language(), _SHORT_DAY["en"]))


def time_text(local: datetime) -> str:
    return date_format(local, _TIME)


def when_texts(post: Post, instant: datetime) -> dict[str, str]:
    local = instant.astimezone(post.zone)
    texts = {
        "date": long_date(local.date()),
        "time": time_text(local),
        "zone": zone_text(post, local),
    }
    texts["full"] = _("%(date)s at %(time)s, %(zone)s") % texts
    return texts


def _address_lines(post: Post) -> list[str]:
    return [line.strip() for line in post.street_address.splitlines() if line.strip()]


# Lookups -----------------------------------------------------------------------------------


def _service_or_404(slug: str) -> Service:
    service = selectors.service_get(post=post_or_404(), slug=slug)
    if service is None:
        raise Http404(slug)
    return service


def _local_today(post: Post) -> date:
    return timezone.now().astimezone(post.zone).date()


# The draft: what the citizen entered so far, in the session --------------------------------


class Draft:
    """One service's booking in progress, kept in the session under its own key.

    Dates are kept as ISO strings (the session is JSON). The steps are: acknowledgements →
    time and number of people → people and contact → review.
    """

    def __init__(self, request: HttpRequest, service: Service) -> None:
        self.request = request
        self.service = service
        self.key = f"appointments.booking.{service.slug}"
        self.data: dict[str, Any] = dict(request.session.get(self.key) or {})
        self._priority_horizon: int | None = None
        self._priority_checked = False

    @property
    def priority_horizon(self) -> int | None:
        """The wider horizon of the priority link kept in the draft, while it is valid.

        Checked again on every request (it may expire mid-way), once per request.
        """
        if not self._priority_checked:
            self._priority_horizon = closures.priority_horizon(
                service=self.service, token=self.data.get("priority")
            )
            self._priority_checked = True
        return self._priority_horizon

    def save(self) -> None:
        self.request.session[self.key] = self.data

    def clear(self) -> None:
        self.request.session.pop(self.key, None)

    @property
    def acknowledged(self) -> bool:
        ack = self.data.get("ack") or {}
        needed = ["policy", *(["benefits"] if self.service.requires_benefits_ack else [])]
        return all(ack.get(name) for name in needed)

    @property
    def people_count(self) -> int:
        count = self.data.get("people_count")
        return count if isinstance(count, int) and 1 <= count <= self.service.max_people else 1

    @property
    def starts_at(self) -> datetime | None:
        return availability.parse_slot_key(self.data.get("slot") or "")

    @property
    def people(self) -> list[dict[str, str]]:
        return list(self.data.get("people") or [])

    @property
    def contact(self) -> dict[str, str]:
        return dict(self.data.get("contact") or {})

    @property
    def has_people(self) -> bool:
        return len(self.people) == self.people_count and bool(self.contact)

    def person_data(self) -> list[services.PersonData]:
        return [
            services.PersonData(
                full_name=person["full_name"],
                date_of_birth=date.fromisoformat(person["date_of_birth"]),
                passport_number=person.get("passport_number", ""),
            )
            for person in self.people
        ]

    def missing_step(self) -> str | None:
        """The first step not yet done, or None when the draft is ready to book."""
        if not self.acknowledged:
            return "service"
        if self.starts_at is None:
            return "when"
        if not self.has_people:
            return "people"
        return None


_ORDER = ["service", "when", "people", "review"]


def _guard(draft: Draft, step: str) -> HttpResponse | None:
    """Send a citizen who skipped a step back to it, saying why."""
    missing = draft.missing_step()
    if missing is None or _ORDER.index(missing) >= _ORDER.index(step):
        return None
    reasons = {
        "service": _("Please read the requirements and confirm them first."),
        "when": _("Please choose a date and time first."),
        "people": _("Please tell us who is coming first."),
    }
    messages.warning(draft.request, reasons[missing])
    return redirect(f"appointments:{missing}", service=draft.service.slug)


def _steps(current: int) -> dict[str, Any]:
    """The step indicator: Service, Requirements, Date and time, People, Review."""
    labels = [
        _("Service"),
        _("Requirements"),
        _("Date and time"),
        _("People"),
        _("Review and confirm"),
    ]
    steps = [
        {
            "label": label,
            "state": "complete" if number < current else "current" if number == current else "todo",
        }
        for number, label in enumerate(labels, start=1)
    ]
    return {"steps": steps, "step": current, "step_label": labels[current - 1]}


# Step 1: the services ------------------------------------------------------------------------


@require_safe
def start(request: HttpRequest) -> HttpResponse:
    post = post_or_404()
    context = {
        "services": selectors.services_bookable(post),
        "closure_notices": selectors.closure_notices(post=post),
        **_steps(1),
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
            draft.data["ack"] = form.acknowledgements()
            draft.save()
            return redirect("appointments:when", service=service_obj.slug)
    else:
        form = AcknowledgementForm(service=service_obj, initial=draft.data.get("ack") or {})
    context = {"service": service_obj, "form": form, **_steps(2)}
    return render(request, "appointments/service.html", context, status=400 if form.errors else 200)


def _priority_take(draft: Draft, token: str) -> HttpResponse:
    """The priority link from a closure email: keep a valid token in the draft (it widens
    the horizon for this citizen only); an invalid or expired one is said plainly and
    the booking goes on with the normal horizon."""
    horizon = closures.priority_horizon(service=draft.service, token=token)
    if horizon is None:
        draft.data.pop("priority", None)
        messages.warning(
            draft.request,
            _(
                "This priority link is not valid or has expired. You can still book any of "
                "the times open to everyone."
            ),
        )
    else:
        draft.data["priority"] = token
        messages.success(
            draft.request,
            _(
                "Priority booking: because we had to cancel your appointment, you can choose "
                "from times up to %(days)d days ahead."
            )
            % {"days": horizon},
        )
    draft.save()
    # Without the token in the address, so that it does not linger in history or logs.
    return redirect("appointments:service", service=draft.service.slug)


# Step 3: number of people, day and time ---------------------------------------------------


@dataclass(frozen=True)
class DayChoice:
    day: date
    label: str
    free: int
    url: str
    current: bool


@dataclass(frozen=True)
class TimeChoice:
    key: str
    label: str
    free: int
    checked: bool


def _parse_day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value or "")
    except ValueError:
        return None


def _times_context(
    service: Service,
    *,
    people: int,
    wanted_day: date | None,
    chosen_key: str | None,
    base_url: str,
    query: dict[str, Any],
    skip: datetime | None = None,
    horizon_days: int | None = None,
) -> dict[str, Any]:
    """The days with room for ``people`` (links, no JavaScript needed) and the times of one
    of them: ``wanted_day`` if it has room, else the first day that has. ``horizon_days``
    is a priority link's wider horizon."""
    post = service.post
    today = _local_today(post)
    horizon = service.horizon_days if horizon_days is None else horizon_days
    offered = availability.slots_between(
        service, today, today + timedelta(days=horizon), horizon_days=horizon_days
    )
    with_room: dict[date, list[Slot]] = {}
    for day, slots in offered.items():
        fitting = [s for s in slots if s.free >= people and s.starts_at != skip]
        if fitting:
            with_room[day] = fitting
    chosen_day = wanted_day if wanted_day in with_room else next(iter(with_room), None)
    days = [
        DayChoice(
            day=day,
            label=short_day(day),
            free=len(slots),
            url=f"{base_url}?{urlencode({**query, 'day': day.isoformat()})}",
            current=day == chosen_day,
        )
        for day, slots in with_room.items()
    ]
    slots = with_room.get(chosen_day, []) if chosen_day else []
    times = [
        TimeChoice(key=s.key, label=time_text(s.local), free=s.free, checked=s.key == chosen_key)
        for s in slots
    ]
    return {
        "days": days,
        "chosen_day": chosen_day,
        "chosen_day_text": long_date(chosen_day) if chosen_day else "",
        "times": times,
        "zone": zone_text(post, slots[0].local) if slots else "",
        "horizon_days": horizon,
    }


def _slot_day(post: Post, key: str | None) -> date | None:
    instant = availability.parse_slot_key(key or "")
    return instant.astimezone(post.zone).date() if instant else None


@GET_POST
def when(request: HttpRequest, service: str) -> HttpResponse:
    service_obj = _service_or_404(service)
    draft = Draft(request, service_obj)
    if refused := _guard(draft, "when"):
        return refused
    post_form = None
    if request.method == "POST":
        post_form = WhenForm(request.POST, service=service_obj, horizon_days=draft.priority_horizon)
        if post_form.is_valid():
            draft.data["people_count"] = post_form.cleaned_data["people"]
            draft.data["slot"] = post_form.cleaned_data["slot"]
            draft.save()
            # Back to the review when only the time changed; else on to the people.
            next_step = "review" if draft.has_people else "people"
            return redirect(f"appointments:{next_step}", service=service_obj.slug)
    count_form = PeopleCountForm(
        request.GET if "people" in request.GET else None,
        service=service_obj,
        initial={"people": draft.people_count},
    )
    people = draft.people_count
    if post_form is not None and post_form.cleaned_data.get("people"):
        people = post_form.cleaned_data["people"]
    elif count_form.is_valid():
        people = count_form.cleaned_data["people"]
    chosen_key = request.POST.get("slot") if post_form is not None else draft.data.get("slot")
    wanted_day = _parse_day(request.GET.get("day")) or _slot_day(service_obj.post, chosen_key)
    url = reverse("appointments:when", kwargs={"service": service_obj.slug})
    context = {
        "service": service_obj,
        **_steps(3),
        "count_form": count_form,
        "form": post_form,
        "people": people,
        "action": url,
        **_times_context(
            service_obj,
            people=people,
            wanted_day=wanted_day,
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
    if refused := _guard(draft, "people"):
        return refused
    formset_class = person_formset(people=draft.people_count)
    today = _local_today(post)
    if request.method == "POST":
        formset = formset_class(request.POST, prefix=PERSON_PREFIX, today=today)
        contact = ContactForm(request.POST, prefix=CONTACT_PREFIX, **_country(post))
        if formset.is_valid() and contact.is_valid():
            draft.data["people"] = [
                {
                    "full_name": form.cleaned_data["full_name"],
                    "date_of_birth": form.cleaned_data["date_of_birth"].isoformat(),
                    "passport_number": form.cleaned_data["passport_number"],
                }
                for form in formset.forms
            ]
            draft.data["contact"] = contact.cleaned_data
            draft.save()
            return redirect("appointments:review", service=service_obj.slug)
    else:
        formset = formset_class(
            prefix=PERSON_PREFIX, today=today, initial=draft.people[: draft.people_count]
        )
        contact = ContactForm(prefix=CONTACT_PREFIX, initial=draft.contact, **_country(post))
    context = {
        "service": service_obj,
        **_steps(4),
        "formset": formset,
        "contact": contact,
        "has_errors": request.method == "POST",
        **date_of_birth_context(),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "appointments/people.html", context, status=status)


# Step 5: review and confirm ----------------------------------------------------------------


def _altcha_strings() -> str:
    return json.dumps(
        {
            "label": _("I am not a robot"),
            "verifying": _("Checking…"),
            "verified": _("Checked. You can confirm."),
            "error": _("The check failed. Please try again."),
            "expired": _("The check expired. Please tick the box again."),
            "verificationRequired": _("Please tick “I am not a robot” first."),
            "waitAlert": _("Checking… please wait a moment."),
            "loading": _("Loading…"),
            "reload": _("Reload"),
            "verify": _("Check"),
            "footer": _("Protected by ALTCHA"),
            "ariaLinkLabel": _("About ALTCHA"),
            "enterCode": _("Enter the code"),
            "enterCodeAria": _("Enter the code you hear. Press Space to play the audio."),
            "getAudioChallenge": _("Play an audio code"),
        },
        ensure_ascii=False,
    )


def _review_context(draft: Draft, **extra: Any) -> dict[str, Any]:
    service = draft.service
    post = service.post
    starts_at = draft.starts_at  # the guard made sure there is one
    local_day = starts_at.astimezone(post.zone).date()
    people = [
        {
            "full_name": person.full_name,
            "date_of_birth": date_format(person.date_of_birth, "DATE_FORMAT"),
            "passport_number": person.passport_number,
        }
        for person in draft.person_data()
    ]
    pow_enabled = proof_of_work.enabled()
    return {
        "service": service,
        **_steps(5),
        "when": when_texts(post, starts_at),
        "address_lines": _address_lines(post),
        "people": people,
        "people_count": draft.people_count,
        "contact": {**draft.contact, "phone_display": phone_display(draft.contact["phone"])},
        "change_when_url": reverse("appointments:when", kwargs={"service": service.slug})
        + "?"
        + urlencode({"people": draft.people_count, "day": local_day.isoformat()}),
        "pow_enabled": pow_enabled,
        "challenge": proof_of_work.challenge_create() if pow_enabled else None,
        "altcha_strings_json": _altcha_strings() if pow_enabled else "",
        **extra,
    }


def _too_many(request: HttpRequest) -> HttpResponse:
    return render(request, "appointments/too_many.html", status=429)


def _rate_limited(request: HttpRequest, email: str) -> bool:
    address = ratelimit.client_address(request)
    by_address = ratelimit.hit(
        "booking-address", address, limit=settings.ACS_BOOKING_RATE_PER_ADDRESS, window=3600
    )
    by_email = ratelimit.hit(
        "booking-email", email, limit=settings.ACS_BOOKING_RATE_PER_EMAIL, window=3600
    )
    return not (by_address and by_email)


def _confirm(request: HttpRequest, draft: Draft) -> HttpResponse:
    """The review's POST: rate limits, then the proof of work, then the booking."""
    if _rate_limited(request, draft.contact["email"]):
        return _too_many(request)
    try:
        proof_of_work.solution_consume(request.POST.get("altcha"))
    except proof_of_work.ProofOfWorkError as error:
        context = _review_context(draft, error_message=error.message)
        return render(request, "appointments/review.html", context, status=400)
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
        context = _review_context(
            draft, error_message=error.message, nearest=_nearest(draft.service, error.nearest)
        )
        status = 409 if error.code == "taken" else 400
        return render(request, "appointments/review.html", context, status=status)
    draft.clear()
    return redirect(reverse("appointments:manage", kwargs={"token": booking.token}) + "?new=1")


def _nearest(service: Service, slots: list[Slot]) -> list[dict[str, str]]:
    return [
        {"key": slot.key, "label": when_texts(service.post, slot.starts_at)["full"]}
        for slot in slots
    ]


@never_cache
@GET_POST
def review(request: HttpRequest, service: str) -> HttpResponse:
    service_obj = _service_or_404(service)
    draft = Draft(request, service_obj)
    if refused := _guard(draft, "review"):
        return refused
    if request.method == "POST":
        return _confirm(request, draft)
    return render(request, "appointments/review.html", _review_context(draft))


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


def _changeable(booking: Booking) -> bool:
    """The citizen may still move or cancel it: booked, and not yet begun."""
    return booking.status == BookingStatus.BOOKED and booking.starts_at > timezone.now()


def _booking_context(booking: Booking) -> dict[str, Any]:
    post = booking.post
    return {
        "booking": booking,
        "service": booking.service,
        "when": when_texts(post, booking.starts_at),
        "address_lines": _address_lines(post),
        "people": [person.full_name for person in booking.people.all()],
        "changeable": _changeable(booking),
        "cancelled": booking.status == BookingStatus.CANCELLED,
    }


@never_cache
@require_safe
def manage(request: HttpRequest, token: str) -> HttpResponse:
    booking = _booking_or_invalid(request, token)
    if isinstance(booking, HttpResponse):
        return booking
    context = {
        **_booking_context(booking),
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
        if not ratelimit.hit("find", ratelimit.client_address(request), limit=20, window=3600):
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
        if _changeable(booking):
            try:
                services.booking_cancel(booking=booking)
            except services.BookingError as error:
                context = {**_booking_context(booking), "error_message": error.message}
                return render(request, "appointments/cancel.html", context, status=400)
            return redirect(manage_url + "?cancelled=1")
    context = {
        **_booking_context(booking),
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
    service_obj = booking.service
    form = None
    error_message = ""
    nearest: list[dict[str, str]] = []
    status = 200
    if request.method == "POST" and _changeable(booking):
        form = SlotForm(request.POST, service=service_obj)
        if form.is_valid():
            try:
                services.booking_reschedule(booking=booking, starts_at=form.chosen.starts_at)
            except services.BookingError as error:
                error_message = error.message
                nearest = _nearest(service_obj, error.nearest)
                status = 409 if error.code == "taken" else 400
            else:
                url = reverse("appointments:manage", kwargs={"token": booking.token})
                return redirect(url + "?rescheduled=1")
        else:
            status = 400
    elif request.method == "POST":
        status = 400
    url = reverse("appointments:reschedule", kwargs={"token": booking.token})
    chosen_key = request.POST.get("slot") if form is not None else None
    context = {
        **_booking_context(booking),
        "form": form,
        "error_message": error_message,
        "nearest": nearest,
        "action": url,
        **_times_context(
            service_obj,
            people=booking.people_count,
            wanted_day=_parse_day(request.GET.get("day"))
            or _slot_day(service_obj.post, chosen_key),
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
