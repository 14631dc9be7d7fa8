"""The trip page's forms together: dates and details, rows of region and place, rows of
companions; filled from a saved trip, checked at once, and read out as the arguments of
``trip_add`` or ``trip_update``.

A saved trip gets two blank rows of places more than it has, so that another can be added
without JavaScript.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from django.http import QueryDict
from django.utils.translation import gettext as _

from acs.core import clock
from acs.core.forms.errors import error_summary
from acs.core.forms.people import date_of_birth_context
from acs.enrollment.forms import CompanionFormSet, TripForm, stop_formset
from acs.enrollment.models import Trip
from acs.posts.models import Post, Region
from acs.posts.selectors import post_default, regions_by_country

# Rows of region and place on a new trip: enough for most trips.
STOP_ROWS = 4


# Choices grouped by country: Django draws each group as an <optgroup>.
GroupedChoices = list[tuple[str, list[tuple[int, str]]]]


def region_choices(post: Post) -> tuple[GroupedChoices, dict[int, Region]]:
    """Every region of every country a post serves, as choices grouped by country (the
    post's own first), and by id. A plain <select>: it works without JavaScript. Each
    option names its country too, since a closed select shows only the option."""
    groups = regions_by_country(first=post.country_code)
    label = _("%(region)s (%(country)s)")
    choices = [
        (country, [(r.pk, label % {"region": r.name, "country": country}) for r in regions])
        for country, regions in groups
    ]
    return choices, {region.pk: region for _country, regions in groups for region in regions}


def _saved(trip: Trip | None) -> tuple[dict[str, Any], list[dict], list[dict]]:
    """A saved trip's form, place rows and companion rows, as initial values."""
    if trip is None:
        return {}, [], []
    # Dates as ISO text: a date object would be shown in the page's language, which an
    # <input type="date"> cannot read.
    initial = {
        "arrival": trip.arrival.isoformat(),
        "departure": trip.departure.isoformat(),
        "purpose": trip.purpose,
        "lodging": trip.lodging,
    }
    stops = [{"region": s.region_id, "place": s.place} for s in trip.stops.order_by("id")]
    people = [
        {"public_id": c.public_id, "full_name": c.full_name, "date_of_birth": c.date_of_birth}
        for c in trip.companions.order_by("id")
    ]
    return initial, stops, people


class TripForms:
    def __init__(self, data: QueryDict | None, *, post: Post, trip: Trip | None = None) -> None:
        self.post = post
        # The page's post's country leads the list; every country's regions are there.
        choices, self.regions = region_choices(post_default() or post)
        initial, saved_stops, saved_people = _saved(trip)
        self.form = TripForm(data, initial=initial)
        rows = max(STOP_ROWS, len(saved_stops) + 2)
        self.stops = stop_formset(rows=rows, saved=len(saved_stops))(
            data,
            prefix="stops",
            initial=saved_stops,
            region_choices=choices,
        )
        self.companions = CompanionFormSet(data, prefix="companions", initial=saved_people)

    def is_valid(self) -> bool:
        # Each is checked, so that every mistake is shown at once.
        results = [self.form.is_valid(), self.stops.is_valid(), self.companions.is_valid()]
        return all(results)

    def trip_fields(self) -> dict[str, Any]:
        """What ``trip_add`` and ``trip_update`` take, but the companions."""
        data = self.form.cleaned_data
        return {
            "arrival": data["arrival"],
            "departure": data["departure"],
            "purpose": data["purpose"],
            "lodging": data["lodging"],
            "stops": [(self.regions[pk], place) for pk, place in self.stops.chosen()],
        }

    def new_companions(self) -> list[tuple[str, date]]:
        return [(p["full_name"], p["date_of_birth"]) for p in self.companions.kept()]

    def companion_changes(self) -> list[tuple[UUID | None, str, date]]:
        return [
            (p["public_id"], p["full_name"], p["date_of_birth"]) for p in self.companions.kept()
        ]

    def context(self) -> dict[str, Any]:
        """The forms, the error summary, and what the date boxes need (the post's today for
        the trip's dates, the month names for the companions' birthdays)."""
        groups = [(_("Place"), self.stops), (_("Person"), self.companions)]
        return {
            "form": self.form,
            "stops": self.stops,
            "companions": self.companions,
            "errors": error_summary(self.form, groups) if self.form.is_bound else [],
            "today": clock.today(self.post),
            **date_of_birth_context(),
        }
