"""Traveler enrollment for staff: how many people are in each region on a day, the list with
contact details, its CSV, and one enrollee's record.

Each of these shows personal data (the counts too: they say where citizens are), so each
request writes one audit entry (who, when, which filters, how many rows) before it answers.
Query input a hand-edited address can break (a date, a region code, a page number) falls
back to a default with a plain message, never an error page.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.text import get_text_list
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from acs.core import audit, clock
from acs.core.clock import long_date
from acs.core.permissions import staff_view
from acs.core.ratelimit import client_address
from acs.core.staffquery import csv_cell, parse_day
from acs.enrollment import selectors
from acs.enrollment.constants import ON_BY_DEFAULT
from acs.enrollment.models import Enrollee, Phone, PrivacyRelease, Trip
from acs.posts.models import Post, Region
from acs.posts.selectors import post_or_404, regions_of

PERMISSION = "enrollment.view_enrollees"
PER_PAGE = 50
_SEARCH_LENGTH = 100
_HISTORY_SHOWN = 200  # the audit log page has the rest
_CSV_CHUNK = 500  # enrollees read per query (and their prefetches) while the CSV streams
_RELEASE_FIELDS = ["emergency_contacts", "family", "representative", "congress", "media"]


# Parsing the request ------------------------------------------------------------------------


@dataclass(frozen=True)
class EnrolleeQuery:
    post: Post
    day: date
    region: Region | None
    text: str
    errors: list[str]

    def params(self, **extra: str) -> dict[str, str]:
        """The query string that shows the same list (plus ``extra``)."""
        params = {"date": self.day.isoformat()}
        if self.region is not None:
            params["region"] = self.region.code
        if self.text:
            params["q"] = self.text
        return params | extra


def _parse_region(value: str, post: Post) -> tuple[Region | None, str]:
    """The post's region with this ISO 3166-2 code (any case), or none with a message."""
    value = value.strip()
    if not value:
        return None, ""
    region = regions_of(post).filter(code=value.upper()[:10]).first()
    if region is None:
        message = _("There is no region “%(value)s”. Showing every region.")
        return None, message % {"value": value[:20]}
    return region, ""


def _day(request: HttpRequest, post: Post) -> tuple[date, str]:
    """The day asked for (default: today on the post's clock), and why it was not used."""
    return parse_day(request.GET.get("date", ""), clock.today(post))


def _query(request: HttpRequest) -> EnrolleeQuery:
    post = post_or_404()
    day, date_error = _day(request, post)
    region, region_error = _parse_region(request.GET.get("region", ""), post)
    return EnrolleeQuery(
        post=post,
        day=day,
        region=region,
        text=request.GET.get("q", "").strip()[:_SEARCH_LENGTH],
        errors=[error for error in (date_error, region_error) if error],
    )


def _audit(request: HttpRequest, query: EnrolleeQuery, action: str, *counts: str) -> None:
    """One entry per page or file: what was asked for and how much it showed."""
    parts = [f"date={query.day.isoformat()}"]
    if query.region is not None:
        parts.append(f"region={query.region.code}")
    if query.text:
        parts.append(f"search={query.text!r}")
    audit.audit_record(
        actor=request.user,
        action=action,
        post=query.post,
        summary=" ".join([*parts, *counts]),
        address=client_address(request),
    )


# The views ----------------------------------------------------------------------------------


@staff_view(PERMISSION)
@never_cache
@require_safe
def enrollees(request: HttpRequest) -> HttpResponse:
    """How many people are in each region on a day, each region linking to its list."""
    post = post_or_404()
    day, date_error = _day(request, post)  # the only input this page takes
    query = EnrolleeQuery(post=post, day=day, region=None, text="", errors=[])
    counts = selectors.enrollee_counts_by_region(post=post, day=day)
    _audit(
        request,
        query,
        "acs.enrollees.counted",
        f"people={counts.people}",
        f"companions={counts.companions}",
    )
    context = {
        "post": post,
        "day": day,
        "day_text": long_date(day),
        "errors": [date_error] if date_error else [],
        "rows": [
            {"count": count, "query": urlencode(query.params(region=count.region.code))}
            for count in counts.regions
        ],
        "counts": counts,
        "list_query": urlencode(query.params()),
    }
    return render(request, "enrollment/staff/enrollees.html", context)


def _page(request: HttpRequest, query: EnrolleeQuery) -> Page:
    found = selectors.enrollees_for_staff(
        post=query.post, day=query.day, region=query.region, text=query.text
    )
    # get_page: a page number that is not one, or is past the end, shows the first or last.
    return Paginator(found, PER_PAGE).get_page(request.GET.get("page"))


@staff_view(PERMISSION)
@never_cache
@require_safe
def enrollee_list(request: HttpRequest) -> HttpResponse:
    """The enrollees with their contact details, filtered by region and day and by name."""
    query = _query(request)
    page = _page(request, query)
    _audit(
        request,
        query,
        "acs.enrollees.listed",
        f"page={page.number}",
        f"rows={len(page.object_list)}",
        f"total={page.paginator.count}",
    )
    context = {
        "post": query.post,
        "day": query.day,
        "day_text": long_date(query.day),
        "region": query.region,
        "regions": list(regions_of(query.post)),
        "text": query.text,
        "errors": query.errors,
        "filtered": query.region is not None or bool(query.text),
        "page": page,
        "query": urlencode(query.params()),
        "previous_query": (
            urlencode(query.params(page=str(page.previous_page_number())))
            if page.has_previous()
            else ""
        ),
        "next_query": (
            urlencode(query.params(page=str(page.next_page_number()))) if page.has_next() else ""
        ),
    }
    return render(request, "enrollment/staff/enrollee_list.html", context)


# The CSV ------------------------------------------------------------------------------------


def _place(region: Region, place: str) -> str:
    return f"{region.name} ({place})" if place else region.name


def _trip_text(trip: Trip) -> str:
    stops = "; ".join(_place(stop.region, stop.place) for stop in trip.stops.all())
    text = _("%(arrival)s to %(departure)s: %(stops)s") % {
        "arrival": trip.arrival.isoformat(),
        "departure": trip.departure.isoformat(),
        "stops": stops,
    }
    companions = [companion.full_name for companion in trip.companions.all()]
    if companions:
        text += " — " + _("with %(names)s") % {"names": ", ".join(companions)}
    return text


def _phone_text(phone: Phone) -> str:
    kinds = [str(phone.get_kind_display())]
    if phone.sms_capable:
        kinds.append(_("text messages"))
    return f"{phone.number} ({', '.join(kinds)})"


def _csv_row(enrollee: Enrollee) -> list[str]:
    phones = [_phone_text(phone) for phone in enrollee.phones.all()]
    residences = [_place(home.region, home.place) for home in enrollee.residences_active]
    contacts = [
        " ".join(
            part
            for part in (
                contact.name,
                f"({contact.relation})" if contact.relation else "",
                contact.phone,
                contact.email,
            )
            if part
        )
        for contact in enrollee.emergency_contacts.all()
    ]
    cells = [
        enrollee.full_name,
        enrollee.email,
        "; ".join(phones),
        enrollee.date_of_birth.isoformat(),
        str(enrollee.get_status_display()),
        str(enrollee.get_language_display()),
        "; ".join(residences),
        " | ".join(_trip_text(trip) for trip in enrollee.trips_shown),
        "; ".join(contacts),
    ]
    return [csv_cell(cell) for cell in cells]


class _Echo:
    """A file whose ``write`` hands the line back, so that csv.writer feeds a stream."""

    def write(self, value: str) -> str:
        return value


def _csv_lines(found: Any, language: str) -> Iterator[str]:
    # The body is produced after the view returns: keep the language the request asked for.
    with translation.override(language):
        writer = csv.writer(_Echo())
        yield "\ufeff"  # a byte-order mark, so that Excel reads the accents in names right
        yield writer.writerow(
            [
                _("Name"),
                _("Email"),
                _("Phones"),
                _("Date of birth"),
                _("Status"),
                _("Language"),
                _("Residence"),
                _("Trips"),
                _("Emergency contacts"),
            ]
        )
        for enrollee in found.iterator(chunk_size=_CSV_CHUNK):
            yield writer.writerow(_csv_row(enrollee))


@staff_view(PERMISSION)
@never_cache
@require_safe
def enrollee_csv(request: HttpRequest) -> StreamingHttpResponse:
    """The same list as the page, every page of it, one row per enrollee. Streamed, so that a
    long list never sits whole in the server's memory; the entry is written first."""
    query = _query(request)
    found = selectors.enrollees_for_staff(
        post=query.post, day=query.day, region=query.region, text=query.text
    )
    _audit(request, query, "acs.enrollees.exported", f"rows={found.count()}")
    response = StreamingHttpResponse(
        _csv_lines(found, translation.get_language() or "en"),
        content_type="text/csv; charset=utf-8",
    )
    name = "-".join(
        ["acs-enrollees", *([query.region.code] if query.region else []), query.day.isoformat()]
    )
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


# One enrollee -------------------------------------------------------------------------------


def _changes(changes: Any) -> list[dict[str, Any]]:
    """``{field: [before, after]}`` as lines; any other shape is shown as a plain value."""
    if not isinstance(changes, dict):
        return [{"field": "", "value": changes}] if changes else []
    lines = []
    for field, value in changes.items():
        if isinstance(value, list | tuple) and len(value) == 2:
            lines.append({"field": field, "before": value[0], "after": value[1], "pair": True})
        else:
            lines.append({"field": field, "value": value})
    return lines


def _releases(enrollee: Enrollee) -> list[dict[str, Any]]:
    """Each kind of person the post may tell, and whether the enrollee allowed it. No record
    means nothing was allowed: every choice is off until the person turns it on."""
    release = getattr(enrollee, "privacy_release", None)
    return [
        {
            "label": PrivacyRelease._meta.get_field(field).verbose_name,
            "allowed": bool(release and getattr(release, field)),
        }
        for field in _RELEASE_FIELDS
    ]


@staff_view(PERMISSION)
@never_cache
@require_safe
def enrollee_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One enrollee's whole record and its audit history."""
    post = post_or_404()
    enrollee = selectors.enrollee_for_staff(post=post, pk=pk)
    if enrollee is None:
        raise Http404(pk)
    audit.audit_record(
        actor=request.user,
        action="acs.enrollee.viewed",
        target=enrollee,
        post=post,
        summary=f"enrollee={enrollee.pk}",
        address=client_address(request),
    )
    context = {
        "post": post,
        "enrollee": enrollee,
        "residences": list(enrollee.residences.all()),
        "trips": list(enrollee.trips.all()),
        "releases": _releases(enrollee),
        "preferences": list(enrollee.message_preferences.all()),
        "default_kinds": get_text_list(sorted(str(kind.label) for kind in ON_BY_DEFAULT), _("and")),
        "zone_name": post.time_zone,
        # History after the entry above, so this very view is listed too.
        "history": [
            {"entry": entry, "changes": _changes(entry.changes)}
            for entry in audit.history(enrollee)[:_HISTORY_SHOWN]
        ],
    }
    # The template's |date filters then show every instant on the post's clock.
    with timezone.override(post.zone):
        return render(request, "enrollment/staff/enrollee_detail.html", context)
