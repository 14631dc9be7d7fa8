"""The day's appointments for staff — the page, its CSV, its PDF day sheet — and one booking's
page, with its whole story (``acs.appointments.story``).

Each of these shows citizens' personal data, so each request writes one audit entry (who,
when, what) before it answers. Times are the post's wall clock, always shown with the zone.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from acs.appointments import selectors, story
from acs.appointments.constants import BookingStatus
from acs.appointments.models import Booking, Service
from acs.core import audit, clock
from acs.core.clock import long_date, long_datetime, zone_text
from acs.core.permissions import staff_view
from acs.core.ratelimit import client_address
from acs.core.staffquery import csv_cell, parse_day
from acs.posts.models import Post
from acs.posts.selectors import post_or_404

_SEARCH_LENGTH = 100
_HISTORY_SHOWN = 200  # the audit log page has the rest


# Parsing the request ------------------------------------------------------------------------


@dataclass(frozen=True)
class DayRow:
    booking: Booking
    time: str  # HH:MM on the post's clock
    zone: str  # only when it differs from the caption's (a daylight-saving change that day)
    names: list[str]
    door: story.DoorAnswer | None = None  # the door's last answer, if it was scanned


@dataclass(frozen=True)
class DayQuery:
    post: Post
    day: date
    filters: selectors.DayFilters
    services: list[Service]
    date_error: str


def _parse_filters(params: QueryDict, services: list[Service]) -> selectors.DayFilters:
    """Filters a hand-edited address cannot break: unknown values mean "all"."""
    service_id = params.get("service", "")
    known = {str(service.pk): service.pk for service in services}
    status = params.get("status", "")
    return selectors.DayFilters(
        service_id=known.get(service_id),
        status=status if status in BookingStatus.values else "",
        text=params.get("q", "").strip()[:_SEARCH_LENGTH],
    )


def _day_query(request: HttpRequest) -> DayQuery:
    post = post_or_404()
    day, date_error = parse_day(request.GET.get("date", ""), clock.today(post))
    services = list(selectors.day_services(post))
    return DayQuery(
        post=post,
        day=day,
        filters=_parse_filters(request.GET, services),
        services=services,
        date_error=date_error,
    )


# Building what the three views show ---------------------------------------------------------


def _caption_zone(post: Post, day: date) -> tuple[str, timedelta | None]:
    # Noon is never inside a daylight-saving change, so it names the zone of the working day.
    noon = datetime.combine(day, time(12), tzinfo=post.zone)
    return zone_text(post, noon), noon.utcoffset()


def _rows(query: DayQuery, offset: timedelta | None) -> list[DayRow]:
    rows = []
    bookings = list(selectors.day_bookings(post=query.post, day=query.day, filters=query.filters))
    answers = story.door_answers_last(post=query.post, bookings=bookings)
    for booking in bookings:
        local = clock.local(query.post, booking.starts_at)
        rows.append(
            DayRow(
                booking=booking,
                time=f"{local:%H:%M}",
                zone=zone_text(query.post, local) if local.utcoffset() != offset else "",
                names=[person.full_name for person in booking.people.all()],
                door=answers.get(booking.pk),
            )
        )
    return rows


def _filter_params(query: DayQuery, day: date | None = None) -> dict[str, str]:
    params = {"date": (day or query.day).isoformat()}
    if query.filters.service_id is not None:
        params["service"] = str(query.filters.service_id)
    if query.filters.status:
        params["status"] = query.filters.status
    if query.filters.text:
        params["q"] = query.filters.text
    return params


def _counts(query: DayQuery) -> list[dict[str, Any]]:
    found = selectors.day_status_counts(post=query.post, day=query.day)
    day_param = {"date": query.day.isoformat()}
    return [
        {
            "status": status,
            "label": label,
            "bookings": found.get(status, {}).get("bookings", 0),
            "people": found.get(status, {}).get("people", 0),
            "query": urlencode({**day_param, "status": status}),
        }
        for status, label in BookingStatus.choices
    ]


def _day_context(query: DayQuery) -> dict[str, Any]:
    zone, offset = _caption_zone(query.post, query.day)
    rows = _rows(query, offset)
    return {
        "post": query.post,
        "day": query.day,
        "day_text": long_date(query.day),
        "zone": zone,
        "rows": rows,
        "people_total": sum(row.booking.people_count for row in rows),
        "filters": query.filters,
        "filtered": query.filters != selectors.DayFilters(),
        "services": query.services,
        "statuses": BookingStatus.choices,
        "date_error": query.date_error,
        "query": urlencode(_filter_params(query)),
    }


def _audit_day(request: HttpRequest, query: DayQuery, action: str, rows: int) -> None:
    """One entry per list shown or exported: the names on it are personal data."""
    filters = query.filters
    parts = [f"date={query.day.isoformat()}"]
    if filters.service_id is not None:
        slug = next((s.slug for s in query.services if s.pk == filters.service_id), "")
        parts.append(f"service={slug}")
    if filters.status:
        parts.append(f"status={filters.status}")
    if filters.text:
        parts.append(f"search={filters.text!r}")
    parts.append(f"rows={rows}")
    audit.audit_record(
        actor=request.user,
        action=action,
        post=query.post,
        summary=" ".join(parts),
        address=client_address(request),
    )


def _attachment(name: str, *, inline: bool = False) -> str:
    return f'{"inline" if inline else "attachment"}; filename="{name}"'


# The views ----------------------------------------------------------------------------------


@staff_view("appointments.view_day")
@never_cache
@require_safe
def day(request: HttpRequest) -> HttpResponse:
    """The day's appointments by time, with counts per status, filters and other days."""
    query = _day_query(request)
    context = _day_context(query)
    context["counts"] = _counts(query)
    context["previous_query"] = urlencode(_filter_params(query, query.day - timedelta(days=1)))
    context["next_query"] = urlencode(_filter_params(query, query.day + timedelta(days=1)))
    context["previous_text"] = long_date(query.day - timedelta(days=1))
    context["next_text"] = long_date(query.day + timedelta(days=1))
    _audit_day(request, query, "acs.day.viewed", len(context["rows"]))
    return render(request, "appointments/staff/day.html", context)


def _offset(local: datetime) -> str:
    """``-05:00``: ASCII, as spreadsheets and scripts read it."""
    sign = local.strftime("%z")
    return f"{sign[:3]}:{sign[3:5]}"


@staff_view("appointments.view_day")
@never_cache
@require_safe
def day_csv(request: HttpRequest) -> HttpResponse:
    """The same rows as the page, for a spreadsheet: UTF-8 with a byte-order mark, so that
    Excel reads the accents in Spanish names right."""
    query = _day_query(request)
    context = _day_context(query)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            _("Date"),
            _("Time"),
            _("Time zone"),
            _("UTC offset"),
            _("Confirmation code"),
            _("People"),
            _("Names"),
            _("Service"),
            _("Status"),
        ]
    )
    for row in context["rows"]:
        booking = row.booking
        local = clock.local(query.post, booking.starts_at)
        writer.writerow(
            [
                local.date().isoformat(),
                row.time,
                query.post.time_zone,
                _offset(local),
                booking.code,
                booking.people_count,
                csv_cell("; ".join(row.names)),
                csv_cell(booking.service.name),
                booking.get_status_display(),
            ]
        )
    _audit_day(request, query, "acs.day.exported", len(context["rows"]))
    response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = _attachment(f"acs-day-{query.day.isoformat()}.csv")
    return response


def _pdf(html: str) -> bytes:
    # Imported here: WeasyPrint loads Pango, which no other page needs. The fetcher refuses
    # every address except data: URLs, so nothing on the sheet can make the server fetch.
    from weasyprint import HTML, URLFetcher

    fetcher = URLFetcher(allowed_protocols={"data"})
    return HTML(string=html, url_fetcher=fetcher).write_pdf()


@staff_view("appointments.view_day")
@never_cache
@require_safe
def day_pdf(request: HttpRequest) -> HttpResponse:
    """The day sheet: the same table as a PDF, with the post, date, zone and when it was
    generated."""
    query = _day_query(request)
    context = _day_context(query)
    generated = clock.local(query.post)
    context["generated_text"] = long_datetime(generated)
    context["generated_zone"] = zone_text(query.post, generated)
    html = render_to_string("appointments/staff/day_sheet.html", context)
    _audit_day(request, query, "acs.day.exported_pdf", len(context["rows"]))
    response = HttpResponse(_pdf(html), content_type="application/pdf")
    response["Content-Disposition"] = _attachment(
        f"acs-day-{query.day.isoformat()}.pdf", inline=True
    )
    return response


@staff_view("appointments.view_booking")
@never_cache
@require_safe
def booking_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One booking: who, when, what, and its whole story: every change by the citizen or
    staff, every answer of the door, every staff look."""
    booking = selectors.booking_for_staff(post=post_or_404(), pk=pk)
    if booking is None:
        raise Http404(pk)
    audit.audit_record(
        actor=request.user,
        action="acs.booking.viewed",
        target=booking,
        post=booking.post,
        summary=f"code={booking.code}",
        address=client_address(request),
    )
    local = clock.local(booking.post, booking.starts_at)
    context = {
        "booking": booking,
        "people": list(booking.people.all()),
        "local_date": local.date(),
        "when_text": f"{long_date(local.date())}, {local:%H:%M}",
        "zone": zone_text(booking.post, local),
        "zone_name": booking.post.time_zone,
        # The story after the entry above, so this very view is listed too.
        "story": story.booking_story(booking, limit=_HISTORY_SHOWN),
        "can_mark_served": (
            booking.status == BookingStatus.CHECKED_IN
            and request.user.has_perm("appointments.mark_served")
        ),
    }
    # The template's |date filters then show every instant on the post's clock.
    with timezone.override(booking.post.zone):
        return render(request, "appointments/staff/booking_detail.html", context)
