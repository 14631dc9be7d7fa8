"""A person's own records as their account pages show them: the front page, the list of
trips, the phones, the residence, the contacts, the privacy choices.

Every read here starts from the signed-in enrollee, so a record named in a URL is found only
among their own (another person's id is a 404, like one that does not exist). These reads
belong in ``selectors``; they wait here until that module is free to edit.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from django.forms import BaseFormSet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from acs.core import clock
from acs.core.forms.errors import error_summary
from acs.core.forms.phone import phone_hint
from acs.enrollment import selectors
from acs.enrollment.constants import PRIVACY_FIELDS, Cadence, MessageKind
from acs.enrollment.forms import PhoneFormSet, PrivacyForm, ResidenceForm
from acs.enrollment.models import EmergencyContact, Enrollee, PrivacyRelease, Residence, Trip
from acs.enrollment.tripforms import region_choices
from acs.posts.models import Region

# One record of the person's, by the id in the URL ------------------------------------------


def trip_own(enrollee: Enrollee, public_id: uuid.UUID) -> Trip:
    """One of the person's trips, or a 404."""
    trip = get_object_or_404(Trip.objects.filter(enrollee=enrollee), public_id=public_id)
    trip.enrollee = enrollee  # the same object: no second query for its post
    return trip


def contact_own(enrollee: Enrollee, public_id: uuid.UUID) -> EmergencyContact:
    """One of the person's emergency contacts, or a 404."""
    contact = get_object_or_404(
        EmergencyContact.objects.filter(enrollee=enrollee), public_id=public_id
    )
    contact.enrollee = enrollee
    return contact


def residence_current(enrollee: Enrollee) -> Residence | None:
    return enrollee.residences.filter(active=True).select_related("region").first()


# The front page and the list of trips ------------------------------------------------------


def trip_over(trip: Trip, today: date) -> bool:
    """Ended early, or its last day has passed at the post."""
    return trip.ended_early_at is not None or trip.departure < today


def home_page(enrollee: Enrollee) -> dict[str, Any]:
    """Everything the person told us: residence, trips now and to come, privacy choices and
    message preferences."""
    enrollee = selectors.enrollee_with_records(enrollee)
    today = clock.today(enrollee.post)
    trips = [trip for trip in enrollee.trips.all() if not trip_over(trip, today)]
    try:
        privacy = enrollee.privacy_release
    except PrivacyRelease.DoesNotExist:
        privacy = None
    return {
        "enrollee": enrollee,
        "residence": next((home for home in enrollee.residences.all() if home.active), None),
        "current_trips": [trip for trip in trips if trip.arrival <= today],
        "upcoming_trips": [trip for trip in trips if trip.arrival > today],
        "privacy": _privacy_list(privacy),
        "preferences": _preference_list(selectors.preferences_of(enrollee)),
        "today": today,
    }


def _privacy_list(release: PrivacyRelease | None) -> list[tuple[str, bool]]:
    form = PrivacyForm()
    return [
        (form.fields[name].label, bool(release and getattr(release, name)))
        for name in PRIVACY_FIELDS
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


def trips_page(enrollee: Enrollee) -> dict[str, Any]:
    """Every trip of the person's: now, to come, and over."""
    enrollee = selectors.enrollee_with_records(enrollee)
    today = clock.today(enrollee.post)
    every = list(enrollee.trips.all())
    return {
        "current_trips": [t for t in every if not trip_over(t, today) and t.arrival <= today],
        "upcoming_trips": [t for t in every if not trip_over(t, today) and t.arrival > today],
        "past_trips": [t for t in every if trip_over(t, today)],
        "today": today,
    }


# The pages with a form ---------------------------------------------------------------------


def phones_saved(enrollee: Enrollee) -> list[dict[str, Any]]:
    """The person's phones as the phone form's rows."""
    return [
        {"public_id": p.public_id, "number": p.number, "kind": p.kind, "sms_capable": p.sms_capable}
        for p in enrollee.phones.order_by("id")
    ]


def phones_form(data: Any, *, enrollee: Enrollee) -> BaseFormSet:
    """The phone rows: the saved numbers, and blank rows to add one."""
    saved = phones_saved(enrollee)
    country_code = enrollee.post.country_code
    return PhoneFormSet(data, initial=saved, prefix="phones", country_code=country_code)


def phones_page(formset: BaseFormSet, *, refusal: str, country: str) -> dict[str, Any]:
    """The phone rows, every mistake once (and the service's refusal), and how to write a
    number of ``country``."""
    return {
        "formset": formset,
        "refusal": refusal,
        "errors": error_summary(groups=[(_("Phone"), formset)], refusal=refusal)
        if formset.is_bound
        else [],
        "hint": phone_hint(country),
    }


def residence_form(
    data: Any, *, enrollee: Enrollee, current: Residence | None
) -> tuple[ResidenceForm, dict[int, Region]]:
    """The residence form, filled from the current residence, and the post's regions by id
    (what the form's choice names)."""
    post = enrollee.post
    choices, regions = region_choices(post)
    initial = {"region": current.region_id, "place": current.place} if current else {}
    form = ResidenceForm(data, initial=initial, region_choices=choices, country=post.country_name)
    return form, regions


def contacts_list(enrollee: Enrollee) -> list[EmergencyContact]:
    return list(enrollee.emergency_contacts.order_by("id"))


def privacy_initial(enrollee: Enrollee) -> dict[str, bool]:
    """The person's privacy choices as the form's initial values (none saved: all no)."""
    release = PrivacyRelease.objects.filter(enrollee=enrollee).first()
    if release is None:
        return {}
    return {name: getattr(release, name) for name in PRIVACY_FIELDS}


def has_sms_phone(enrollee: Enrollee) -> bool:
    """Whether a text message could reach the person (the preferences page says if not)."""
    return enrollee.phones.filter(sms_capable=True).exists()
