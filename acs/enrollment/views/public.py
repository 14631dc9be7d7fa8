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
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Model
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from acs.core import clock
from acs.core.forms.people import date_of_birth_context
from acs.enrollment import identity, records, selectors
from acs.enrollment.forms import (
    ContactForm,
    PreferencesForm,
    PrivacyForm,
    ProfileForm,
)
from acs.enrollment.identity import enrollee_required
from acs.enrollment.models import Enrollee, Trip
from acs.enrollment.services import profile as profile_services
from acs.enrollment.services import trips as trip_services
from acs.enrollment.tripforms import TripForms

GET_POST = require_http_methods(["GET", "HEAD", "POST"])
GET_ONLY = require_http_methods(["GET", "HEAD"])
HOME = "enrollment:home"
# After deleting their account the person is signed out; this one-time flag lets the next
# page say that the deletion happened.
_DELETED_FLAG = "enrollment.deleted"


# Helpers -----------------------------------------------------------------------------------


def _refuse(form: Form, error: ValidationError, fields: dict[str, str]) -> None:
    """Show a service's refusal beside the field it is about (by its code), or above the
    form."""
    form.add_error(fields.get(error.code or ""), error)


def _invalid(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    return render(request, template, context, status=400)


def _page(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    status = 400 if request.method == "POST" else 200
    return render(request, template, context, status=status)


# The front page ----------------------------------------------------------------------------


@never_cache
@GET_ONLY
@enrollee_required
def home(request: HttpRequest) -> HttpResponse:
    """Everything the person told us, each part with a link to change it."""
    return render(request, "enrollment/home.html", records.home_page(request.enrollee))


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
    formset = records.phones_form(request.POST or None, enrollee=enrollee)
    refusal = ""
    if request.method == "POST" and formset.is_valid():
        kept = [profile_services.PhoneData(**row) for row in formset.phones()]
        try:
            profile_services.phones_set(enrollee=enrollee, phones=kept)
        except ValidationError as error:
            refusal = error.messages[0]
        else:
            messages.success(request, _("Your phone numbers are saved."))
            return redirect(HOME)
    context = records.phones_page(formset, refusal=refusal, country=enrollee.post.country_name)
    return _page(request, "enrollment/phones.html", context)


# Trips -------------------------------------------------------------------------------------


@never_cache
@GET_ONLY
@enrollee_required
def trips(request: HttpRequest) -> HttpResponse:
    return render(request, "enrollment/trips/list.html", records.trips_page(request.enrollee))


@never_cache
@GET_POST
@enrollee_required
def trip_new(request: HttpRequest) -> HttpResponse:
    return _trip_page(request, None, _("Your trip is saved. Have a safe journey."))


@never_cache
@GET_POST
@enrollee_required
def trip(request: HttpRequest, trip: uuid.UUID) -> HttpResponse:
    """A trip's page: its form while it can change; once over or ended, what it said."""
    found = selectors.trip_own(request.enrollee, trip)
    if records.trip_over(found, clock.today(request.enrollee.post)):
        if request.method == "POST":
            refusal = _("This trip is over, so it cannot be changed. Add a new trip instead.")
            return _invalid(
                request, "enrollment/trips/over.html", {"trip": found, "refusal": refusal}
            )
        return render(request, "enrollment/trips/over.html", {"trip": found})
    return _trip_page(request, found, _("Your changes to the trip are saved."))


def _trip_page(request: HttpRequest, trip: Trip | None, success: str) -> HttpResponse:
    """The trip form, new or of a trip that can still change: every mistake at once, and a
    service's refusal beside the field it is about."""
    data = request.POST if request.method == "POST" else None
    forms = TripForms(data, post=request.enrollee.post, trip=trip)
    if request.method == "POST" and forms.is_valid():
        try:
            saved = _trip_save(request.enrollee, trip, forms)
        except ValidationError as error:
            _refuse(forms.form, error, {"departure_first": "departure", "past_trip": "departure"})
        else:
            messages.success(request, success)
            return redirect("enrollment:trip", trip=saved.public_id)
    return _page(request, "enrollment/trips/form.html", {"trip": trip, **forms.context()})


def _trip_save(enrollee: Enrollee, trip: Trip | None, forms: TripForms) -> Trip:
    if trip is None:
        return trip_services.trip_add(
            enrollee=enrollee, companions=forms.new_companions(), **forms.trip_fields()
        )
    return trip_services.trip_update(
        trip=trip, companions=forms.companion_changes(), **forms.trip_fields()
    )


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
    found = selectors.trip_own(request.enrollee, trip)
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
    found = selectors.trip_own(request.enrollee, trip)
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
    current = selectors.residence_current(enrollee)
    form, regions = records.residence_form(request.POST or None, enrollee=enrollee, current=current)
    if request.method == "POST" and form.is_valid():
        region, place = regions[form.cleaned_data["region"]], form.cleaned_data["place"]
        try:
            trip_services.residence_set(enrollee=enrollee, region=region, place=place)
        except ValidationError as error:
            _refuse(form, error, {"unknown_region": "region"})
        else:
            saved = _("Your home in %(country)s is saved.") % {"country": region.country_name}
            messages.success(request, saved)
            return redirect(HOME)
    context = {"form": form, "residence": current}
    return _page(request, "enrollment/residence.html", context)


@never_cache
@GET_POST
@enrollee_required
def residence_end(request: HttpRequest) -> HttpResponse:
    enrollee = request.enrollee
    current = selectors.residence_current(enrollee)
    if current is None and request.method != "POST":
        return redirect("enrollment:residence")
    return _confirm(
        request,
        current,
        "enrollment/residence_end.html",
        lambda: trip_services.residence_end(enrollee=enrollee),
        _("We no longer count you as living there."),
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
    context = {"form": form, "contacts": selectors.contacts_list(enrollee)}
    return _page(request, "enrollment/contacts/list.html", context)


@never_cache
@GET_POST
@enrollee_required
def contact(request: HttpRequest, contact: uuid.UUID) -> HttpResponse:
    found = selectors.contact_own(request.enrollee, contact)
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
    found = selectors.contact_own(request.enrollee, contact)
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
    form = PrivacyForm(request.POST or None, initial=selectors.privacy_initial(enrollee))
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
    initial = PreferencesForm.initial_of(enrollee, selectors.preferences_of(enrollee))
    form = PreferencesForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        language = form.cleaned_data["language"]
        choices = {kind: selectors.KindChoice(**c) for kind, c in form.choices().items()}
        try:
            profile_services.preferences_set(enrollee=enrollee, language=language, choices=choices)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Your message choices are saved."))
            return redirect(HOME)
    context = {"form": form, "has_sms_phone": selectors.has_sms_phone(enrollee)}
    return _page(request, "enrollment/preferences.html", context)


# The person's data: download and delete ----------------------------------------------------


@never_cache
@GET_ONLY
@enrollee_required
def download(request: HttpRequest) -> HttpResponse:
    """Everything we hold about the person, as a JSON file."""
    data = selectors.enrollee_export(enrollee=request.enrollee)
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
