"""The citizen's own account pages: profile and phones, trips, residence, emergency contacts,
privacy release, message preferences, the download of their data and the account's deletion.

Every page needs a signed-in enrollee with a confirmed email (``enrollee_required``). A record
named in a URL is looked up only among the signed-in person's own records, so another
person's id is a 404 like an id that does not exist. GET never changes anything; every
change is a POST that calls one service and comes back with a short message.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import date
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Model, QuerySet
from django.forms import BaseFormSet, Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from acs.core.forms.people import date_of_birth_context
from acs.core.forms.phone import phone_hint
from acs.enrollment import identity
from acs.enrollment.constants import Cadence, MessageKind
from acs.enrollment.forms import (
    CompanionFormSet,
    ContactForm,
    PhoneFormSet,
    PreferencesForm,
    PrivacyForm,
    ProfileForm,
    ResidenceForm,
    TripForm,
    stop_formset,
)
from acs.enrollment.identity import enrollee_required
from acs.enrollment.models import EmergencyContact, Enrollee, PrivacyRelease, Trip
from acs.enrollment.services import profile as profile_services
from acs.enrollment.services import trips as trip_services
from acs.posts.models import Post, Region
from acs.posts.selectors import regions_of

GET_POST = require_http_methods(["GET", "HEAD", "POST"])
GET_ONLY = require_http_methods(["GET", "HEAD"])
HOME = "enrollment:home"
# Rows of region and place on the trip form: enough for most trips, and two more than a saved
# trip has, so that another can be added without JavaScript.
STOP_ROWS = 4
# After deleting their account the person is signed out; this one-time flag lets the next
# page say that the deletion happened.
_DELETED_FLAG = "enrollment.deleted"


# Helpers -----------------------------------------------------------------------------------


def _own(queryset: QuerySet, public_id: uuid.UUID) -> Any:
    """The record with ``public_id`` in ``queryset`` (already narrowed to the signed-in
    person's records), or a 404."""
    return get_object_or_404(queryset, public_id=public_id)


def _own_trip(request: HttpRequest, public_id: uuid.UUID) -> Trip:
    trip = _own(Trip.objects.filter(enrollee=request.enrollee), public_id)
    trip.enrollee = request.enrollee  # the same object: no second query for its post
    return trip


def _own_contact(request: HttpRequest, public_id: uuid.UUID) -> EmergencyContact:
    contact = _own(EmergencyContact.objects.filter(enrollee=request.enrollee), public_id)
    contact.enrollee = request.enrollee
    return contact


def _today(post: Post) -> date:
    return timezone.localdate(timezone=post.zone)


def _region_choices(post: Post) -> tuple[list[tuple[int, str]], dict[int, Region]]:
    regions = list(regions_of(post))
    return [(region.pk, region.name) for region in regions], {r.pk: r for r in regions}


def _refuse(form: Form, error: ValidationError, fields: dict[str, str]) -> None:
    """Show a service's refusal beside the field it is about (by its code), or above the
    form."""
    form.add_error(fields.get(error.code or ""), error)


def _invalid(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    return render(request, template, context, status=400)


def _page(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    status = 400 if request.method == "POST" else 200
    return render(request, template, context, status=status)


def _summary(
    form: Form | None = None,
    groups: Iterable[tuple[str, BaseFormSet]] = (),
    refusal: str = "",
) -> list[tuple[str, str]]:
    """The error summary of a page with formsets: (link target, text) per error, in the
    page's order. ``groups`` are (name of one row, such as "Person", formset); ``refusal`` is
    a service's refusal that belongs to no one field."""
    entries: list[tuple[str, str]] = [("", refusal)] if refusal else []

    def add(one: Form, prefix: str = "") -> None:
        entries.extend(("", f"{prefix}{error}") for error in one.non_field_errors())
        for field in one:
            target = field.auto_id
            if field.name == "date_of_birth":
                target += "_month"  # the memorable date's first control in English
            entries.extend((target, f"{prefix}{field.label}: {error}") for error in field.errors)

    if form is not None:
        add(form)
    for name, formset in groups:
        entries.extend(("", str(error)) for error in formset.non_form_errors())
        for number, one in enumerate(formset.forms, start=1):
            if not formset._should_delete_form(one):  # a removed row's mistakes do not count
                add(one, _("%(name)s %(number)d, ") % {"name": name, "number": number})
    return entries


# The front page ----------------------------------------------------------------------------


@never_cache
@GET_ONLY
@enrollee_required
def home(request: HttpRequest) -> HttpResponse:
    """Everything the person told us, each part with a link to change it."""
    enrollee = profile_services.enrollee_with_records(request.enrollee)
    today = _today(enrollee.post)
    trips = [trip for trip in enrollee.trips.all() if not _trip_over(trip, today)]
    try:
        privacy = enrollee.privacy_release
    except PrivacyRelease.DoesNotExist:
        privacy = None
    context = {
        "enrollee": enrollee,
        "residence": next((home for home in enrollee.residences.all() if home.active), None),
        "current_trips": [trip for trip in trips if trip.arrival <= today],
        "upcoming_trips": [trip for trip in trips if trip.arrival > today],
        "privacy": _privacy_list(privacy),
        "preferences": _preference_list(profile_services.preferences_of(enrollee)),
        "today": today,
    }
    return render(request, "enrollment/home.html", context)


def _trip_over(trip: Trip, today: date) -> bool:
    return trip.ended_early_at is not None or trip.departure < today


def _privacy_list(release: PrivacyRelease | None) -> list[tuple[str, bool]]:
    form = PrivacyForm()
    return [
        (form.fields[name].label, bool(release and getattr(release, name)))
        for name in profile_services.PRIVACY_FIELDS
    ]


def _preference_list(choices: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "label": MessageKind(kind).label,
            "email": choice.email,
            "sms": choice.sms,
            "delivery": Cadence(choice.delivery).label,
        }
        for kind, choice in choices.items()
    ]


# Profile and phones ------------------------------------------------------------------------


@never_cache
@GET_POST
@enrollee_required
def profile(request: HttpRequest) -> HttpResponse:
    enrollee = request.enrollee
    form = ProfileForm(request.POST or None, initial=ProfileForm.initial_of(enrollee))
    if request.method == "POST" and form.is_valid():
        try:
            profile_services.profile_update(enrollee=enrollee, **form.cleaned_data)
        except ValidationError as error:
            _refuse(form, error, {"email_taken": "email"})
        else:
            if enrollee.email_verified_at is None:
                messages.success(
                    request,
                    _("Your details are saved. Open the link we sent to your new email address."),
                )
                return redirect("enrollment:check-email")
            messages.success(request, _("Your details are saved."))
            return redirect(HOME)
    context = {"form": form, "enrollee": enrollee, **date_of_birth_context()}
    return _page(request, "enrollment/profile.html", context)


@never_cache
@GET_POST
@enrollee_required
def phones(request: HttpRequest) -> HttpResponse:
    enrollee = request.enrollee
    post = enrollee.post
    saved = [
        {"public_id": p.public_id, "number": p.number, "kind": p.kind, "sms_capable": p.sms_capable}
        for p in enrollee.phones.order_by("id")
    ]
    formset = PhoneFormSet(
        request.POST or None, initial=saved, prefix="phones", country_code=post.country_code
    )
    refusal = ""
    if request.method == "POST" and formset.is_valid():
        try:
            profile_services.phones_set(
                enrollee=enrollee,
                phones=[
                    profile_services.PhoneData(
                        public_id=row["public_id"],
                        number=row["number"],
                        kind=row["kind"],
                        sms_capable=row["sms_capable"],
                    )
                    for row in formset.kept()
                ],
            )
        except ValidationError as error:
            refusal = error.messages[0]
        else:
            messages.success(request, _("Your phone numbers are saved."))
            return redirect(HOME)
    context = {
        "formset": formset,
        "refusal": refusal,
        "errors": _summary(groups=[(_("Phone"), formset)], refusal=refusal)
        if formset.is_bound
        else [],
        "hint": phone_hint(post.country_name),
    }
    return _page(request, "enrollment/phones.html", context)


# Trips -------------------------------------------------------------------------------------


@never_cache
@GET_ONLY
@enrollee_required
def trips(request: HttpRequest) -> HttpResponse:
    enrollee = profile_services.enrollee_with_records(request.enrollee)
    today = _today(enrollee.post)
    every = list(enrollee.trips.all())
    context = {
        "current_trips": [t for t in every if not _trip_over(t, today) and t.arrival <= today],
        "upcoming_trips": [t for t in every if not _trip_over(t, today) and t.arrival > today],
        "past_trips": [t for t in every if _trip_over(t, today)],
        "today": today,
    }
    return render(request, "enrollment/trips/list.html", context)


class _TripPage:
    """The trip form: dates and details, rows of region and place, rows of companions."""

    def __init__(self, request: HttpRequest, trip: Trip | None = None) -> None:
        self.request = request
        self.trip = trip
        post = request.enrollee.post
        self.post = post
        choices, self.regions = _region_choices(post)
        data = request.POST if request.method == "POST" else None
        saved_stops = (
            [{"region": s.region_id, "place": s.place} for s in trip.stops.order_by("id")]
            if trip
            else []
        )
        saved_people = (
            [
                {
                    "public_id": c.public_id,
                    "full_name": c.full_name,
                    "date_of_birth": c.date_of_birth,
                }
                for c in trip.companions.order_by("id")
            ]
            if trip
            else []
        )
        # Dates as ISO text: a date object would be shown in the page's language, which an
        # <input type="date"> cannot read.
        initial = (
            {
                "arrival": trip.arrival.isoformat(),
                "departure": trip.departure.isoformat(),
                "purpose": trip.purpose,
                "lodging": trip.lodging,
            }
            if trip
            else {}
        )
        self.form = TripForm(data, initial=initial)
        rows = max(STOP_ROWS, len(saved_stops) + 2)
        self.stops = stop_formset(rows=rows, saved=len(saved_stops))(
            data,
            prefix="stops",
            initial=saved_stops,
            region_choices=choices,
            country=post.country_name,
        )
        self.companions = CompanionFormSet(data, prefix="companions", initial=saved_people)

    def is_valid(self) -> bool:
        # Each is checked, so that every mistake is shown at once.
        results = [self.form.is_valid(), self.stops.is_valid(), self.companions.is_valid()]
        return all(results)

    def stop_pairs(self) -> list[tuple[Region, str]]:
        return [(self.regions[pk], place) for pk, place in self.stops.chosen()]

    def save(self) -> Trip:
        data = self.form.cleaned_data
        fields = {
            "arrival": data["arrival"],
            "departure": data["departure"],
            "purpose": data["purpose"],
            "lodging": data["lodging"],
            "stops": self.stop_pairs(),
        }
        people = self.companions.kept()
        if self.trip is None:
            return trip_services.trip_add(
                enrollee=self.request.enrollee,
                companions=[(p["full_name"], p["date_of_birth"]) for p in people],
                **fields,
            )
        return trip_services.trip_update(
            trip=self.trip,
            companions=[(p["public_id"], p["full_name"], p["date_of_birth"]) for p in people],
            **fields,
        )

    def render(self) -> HttpResponse:
        context = {
            "trip": self.trip,
            "form": self.form,
            "stops": self.stops,
            "companions": self.companions,
            "country": self.post.country_name,
            "today": _today(self.post),
            "errors": _summary(
                self.form, [(_("Place"), self.stops), (_("Person"), self.companions)]
            )
            if self.form.is_bound
            else [],
            **date_of_birth_context(),
        }
        return _page(self.request, "enrollment/trips/form.html", context)

    def handle(self, success: str) -> HttpResponse:
        if self.request.method == "POST" and self.is_valid():
            try:
                trip = self.save()
            except ValidationError as error:
                fields = {"departure_first": "departure", "past_trip": "departure"}
                _refuse(self.form, error, fields)
            else:
                messages.success(self.request, success)
                return redirect("enrollment:trip", trip=trip.public_id)
        return self.render()


@never_cache
@GET_POST
@enrollee_required
def trip_new(request: HttpRequest) -> HttpResponse:
    return _TripPage(request).handle(_("Your trip is saved. Have a safe journey."))


@never_cache
@GET_POST
@enrollee_required
def trip(request: HttpRequest, trip: uuid.UUID) -> HttpResponse:
    """A trip's page: its form while it can change; once over or ended, what it said."""
    found = _own_trip(request, trip)
    if _trip_over(found, _today(request.enrollee.post)):
        if request.method == "POST":
            refusal = _("This trip is over, so it cannot be changed. Add a new trip instead.")
            return _invalid(
                request, "enrollment/trips/over.html", {"trip": found, "refusal": refusal}
            )
        return render(request, "enrollment/trips/over.html", {"trip": found})
    return _TripPage(request, found).handle(_("Your changes to the trip are saved."))


def _confirm(
    request: HttpRequest, record: Model, template: str, act: Any, done: str, go: str
) -> HttpResponse:
    """A confirmation page (GET) for an action that the POST performs."""
    if request.method == "POST":
        try:
            act()
        except ValidationError as error:
            return _invalid(request, template, {"record": record, "refusal": error.messages[0]})
        messages.success(request, done)
        return redirect(go)
    return render(request, template, {"record": record})


@never_cache
@GET_POST
@enrollee_required
def trip_end(request: HttpRequest, trip: uuid.UUID) -> HttpResponse:
    found = _own_trip(request, trip)
    return _confirm(
        request,
        found,
        "enrollment/trips/end.html",
        lambda: trip_services.trip_end_early(trip=found),
        _("Your trip is ended. We will no longer count you as there."),
        HOME,
    )


@never_cache
@GET_POST
@enrollee_required
def trip_delete(request: HttpRequest, trip: uuid.UUID) -> HttpResponse:
    found = _own_trip(request, trip)
    return _confirm(
        request,
        found,
        "enrollment/trips/delete.html",
        lambda: trip_services.trip_delete(trip=found),
        _("The trip is deleted."),
        "enrollment:trips",
    )


# Residence ---------------------------------------------------------------------------------


@never_cache
@GET_POST
@enrollee_required
def residence(request: HttpRequest) -> HttpResponse:
    enrollee = request.enrollee
    post = enrollee.post
    current = enrollee.residences.filter(active=True).select_related("region").first()
    choices, regions = _region_choices(post)
    initial = {"region": current.region_id, "place": current.place} if current else {}
    form = ResidenceForm(
        request.POST or None,
        initial=initial,
        region_choices=choices,
        country=post.country_name,
    )
    if request.method == "POST" and form.is_valid():
        try:
            trip_services.residence_set(
                enrollee=enrollee,
                region=regions[form.cleaned_data["region"]],
                place=form.cleaned_data["place"],
            )
        except ValidationError as error:
            _refuse(form, error, {"foreign_region": "region"})
        else:
            messages.success(
                request, _("Your home in %(country)s is saved.") % {"country": post.country_name}
            )
            return redirect(HOME)
    context = {"form": form, "residence": current, "country": post.country_name}
    return _page(request, "enrollment/residence.html", context)


@never_cache
@GET_POST
@enrollee_required
def residence_end(request: HttpRequest) -> HttpResponse:
    enrollee = request.enrollee
    current = enrollee.residences.filter(active=True).select_related("region").first()
    if current is None and request.method != "POST":
        return redirect("enrollment:residence")
    return _confirm(
        request,
        current,
        "enrollment/residence_end.html",
        lambda: trip_services.residence_end(enrollee=enrollee),
        _("We no longer count you as living in %(country)s.")
        % {"country": enrollee.post.country_name},
        HOME,
    )


# Emergency contacts ------------------------------------------------------------------------


def _contact_form(request: HttpRequest, **kwargs: Any) -> ContactForm:
    post = request.enrollee.post
    return ContactForm(
        request.POST or None,
        country_code=post.country_code,
        country_name=post.country_name,
        **kwargs,
    )


@never_cache
@GET_POST
@enrollee_required
def contacts(request: HttpRequest) -> HttpResponse:
    """The list of emergency contacts and a form to add one."""
    enrollee = request.enrollee
    form = _contact_form(request)
    if request.method == "POST" and form.is_valid():
        try:
            profile_services.contact_add(enrollee=enrollee, **form.cleaned_data)
        except ValidationError as error:
            _refuse(form, error, {"unreachable": "phone", "contact_name": "name"})
        else:
            messages.success(request, _("Your emergency contact is saved."))
            return redirect("enrollment:contacts")
    context = {"form": form, "contacts": list(enrollee.emergency_contacts.order_by("id"))}
    return _page(request, "enrollment/contacts/list.html", context)


@never_cache
@GET_POST
@enrollee_required
def contact(request: HttpRequest, contact: uuid.UUID) -> HttpResponse:
    found = _own_contact(request, contact)
    initial = {k: getattr(found, k) for k in ("name", "relation", "phone", "email")}
    form = _contact_form(request, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            profile_services.contact_update(contact=found, **form.cleaned_data)
        except ValidationError as error:
            _refuse(form, error, {"unreachable": "phone", "contact_name": "name"})
        else:
            messages.success(request, _("Your emergency contact is saved."))
            return redirect("enrollment:contacts")
    return _page(request, "enrollment/contacts/form.html", {"form": form, "contact": found})


@never_cache
@GET_POST
@enrollee_required
def contact_delete(request: HttpRequest, contact: uuid.UUID) -> HttpResponse:
    found = _own_contact(request, contact)
    return _confirm(
        request,
        found,
        "enrollment/contacts/delete.html",
        lambda: profile_services.contact_delete(contact=found),
        _("The emergency contact is removed."),
        "enrollment:contacts",
    )


# Privacy and messages ----------------------------------------------------------------------


@never_cache
@GET_POST
@enrollee_required
def privacy(request: HttpRequest) -> HttpResponse:
    enrollee = request.enrollee
    release = PrivacyRelease.objects.filter(enrollee=enrollee).first()
    initial = (
        {name: getattr(release, name) for name in profile_services.PRIVACY_FIELDS}
        if release
        else {}
    )
    form = PrivacyForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        profile_services.privacy_set(enrollee=enrollee, **form.cleaned_data)
        messages.success(request, _("Your choices are saved."))
        return redirect(HOME)
    return _page(request, "enrollment/privacy.html", {"form": form})


@never_cache
@GET_POST
@enrollee_required
def preferences(request: HttpRequest) -> HttpResponse:
    enrollee = request.enrollee
    initial = PreferencesForm.initial_of(enrollee, profile_services.preferences_of(enrollee))
    form = PreferencesForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            profile_services.preferences_set(
                enrollee=enrollee,
                language=form.cleaned_data["language"],
                choices={
                    kind: profile_services.KindChoice(**choice)
                    for kind, choice in form.choices().items()
                },
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Your message choices are saved."))
            return redirect(HOME)
    has_sms_phone = enrollee.phones.filter(sms_capable=True).exists()
    context = {"form": form, "has_sms_phone": has_sms_phone}
    return _page(request, "enrollment/preferences.html", context)


# The person's data: download and delete ----------------------------------------------------


@never_cache
@GET_ONLY
@enrollee_required
def download(request: HttpRequest) -> HttpResponse:
    """Everything we hold about the person, as a JSON file."""
    data = profile_services.enrollee_export(enrollee=request.enrollee)
    body = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="my-enrollment-data.json"'
    return response


@never_cache
@GET_POST
@enrollee_required
def delete(request: HttpRequest) -> HttpResponse:
    """Delete the account and everything in it, at once; then sign out."""
    if request.method == "POST":
        enrollee: Enrollee = request.enrollee
        profile_services.enrollee_delete(enrollee=enrollee)
        identity.sign_out(request)
        request.session[_DELETED_FLAG] = True
        return redirect("enrollment:deleted")
    return render(request, "enrollment/delete.html", {"enrollee": request.enrollee})


@never_cache
@GET_ONLY
def deleted(request: HttpRequest) -> HttpResponse:
    """ "Your account is deleted" — once, for the person who just deleted it."""
    if not request.session.pop(_DELETED_FLAG, False):
        return redirect("enrollment:start")
    return render(request, "enrollment/deleted.html")
