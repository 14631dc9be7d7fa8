"""A person's own records as their account pages show them: the front page, the list of
trips, the phones, the residence, the contacts, the privacy choices.

Page assembly only: each function puts together what one page shows from the reads in
``selectors`` (every one of them starts from the signed-in enrollee) and the page's forms.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.forms import BaseFormSet
from django.utils.translation import gettext as _

from acs.core import clock
from acs.core.forms.errors import error_summary
from acs.core.forms.phone import phone_hint
from acs.enrollment import selectors
from acs.enrollment.constants import PRIVACY_FIELDS, Cadence, MessageKind
from acs.enrollment.forms import PhoneFormSet, PrivacyForm, ResidenceForm
from acs.enrollment.models import Enrollee, PrivacyRelease, Residence, Trip
from acs.enrollment.tripforms import region_choices
from acs.posts.models import Region
from acs.posts.selectors import post_default

# One record of the person's, by the id in the URL ------------------------------------------


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


def phones_form(data: Any, *, enrollee: Enrollee) -> BaseFormSet:
    """The phone rows: the saved numbers, and blank rows to add one."""
    saved = selectors.phones_saved(enrollee)
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
    """The residence form, filled from the current residence, and every region by id (what
    the form's choice names): a home may be in any country a post serves."""
    choices, regions = region_choices(post_default() or enrollee.post)
    initial = {"region": current.region_id, "place": current.place} if current else {}
    form = ResidenceForm(data, initial=initial, region_choices=choices)
    return form, regions
