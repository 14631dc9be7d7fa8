from __future__ import annotations

import re
from datetime import date, datetime

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from acs.core import clock
from acs.core.audit import audit_record
from acs.core.permissions import ANY_STAFF, staff_view
from acs.core.ratelimit import client_address
from acs.posts.models import Post
from acs.posts.selectors import post_default
from acs.staff import selectors
from acs.staff.charts import Chart, Series
from acs.staff.forms import AuditSearchForm
from acs.staff.scope import post_choose


@staff_view(ANY_STAFF)
def home(request: HttpRequest) -> HttpResponse:
    """The staff landing page: what this role can open."""
    return render(request, "staff/home.html")


@staff_view(ANY_STAFF)
@require_POST
def post_switch(request: HttpRequest) -> HttpResponse:
    """Work on another post (the staff header's switcher). A post where the user holds no
    role is refused in plain words and nothing changes."""
    post = post_choose(request, request.POST.get("post", ""))
    if post is None:
        messages.error(request, _("You hold no role at that post, so you cannot work on it."))
        return redirect("staff:home")
    audit_record(
        actor=request.user,
        action="acs.staff.post_chosen",
        post=post,
        summary=f"Working on {post.name}",
        address=client_address(request),
    )
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = ""
    # The page the user was on, unless it shows one record (of the post they left).
    if not back.startswith("/staff/") or re.search(r"/\d+/", back):
        back = "staff:home"
    return redirect(back)


@staff_view("appointments.view_figures")
@require_safe
def figures(request: HttpRequest) -> HttpResponse:
    """The post's figures for the last twelve weeks, as tables and SVG charts."""
    post, now = post_default(), timezone.now()
    context = _figures(post=post, now=now) if post else {}
    if request.staff_network:  # a network role sees every post side by side
        context["network"] = selectors.network_figures(now=now)
        context["network_days"] = selectors.NETWORK_DAYS
    return render(request, "staff/figures.html", {"post": post, **context})


@staff_view("core.view_auditentry")
@require_safe
def audit(request: HttpRequest) -> HttpResponse:
    """The audit log, searchable, newest first.

    Reading the audit log is not itself audited: an entry per look would fill the log with
    entries about the log (each search adding to what it searches), and what it shows is
    already a record of who did what. Staff views of citizens' personal data are audited
    where that data is shown.
    """
    post, everywhere = post_default(), request.staff_network
    form = AuditSearchForm(
        request.GET,
        actions=selectors.audit_actions(post=post, everywhere=everywhere),
        actors=selectors.audit_actors(post=post),
    )
    query = form.query() if form.is_valid() else None
    entries = selectors.audit_search(post=post, query=query, everywhere=everywhere)
    page = Paginator(entries, selectors.AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    zone = selectors.post_zone(post)
    return render(
        request,
        "staff/audit.html",
        {
            "form": form,
            "page": page,
            "rows": selectors.audit_rows(page, zone=zone),
            "zone_name": str(zone),
        },
    )


# The figures page's parts ------------------------------------------------------------------
def _percent(value: float | None) -> str:
    return "–" if value is None else f"{number_format(value, decimal_pos=1)} %"


def _week_labels(weeks: list[date]) -> tuple[list[str], list[str]]:
    long = [
        _("Week %(number)s, from %(date)s")
        % {"number": week.isocalendar().week, "date": date_format(week, "j M Y")}
        for week in weeks
    ]
    return long, [date_format(week, "j M") for week in weeks]


def _bookings_chart(weeks: list[date], services: list, counts: dict) -> Chart:
    long, short = _week_labels(weeks)
    return Chart(
        slug="bookings",
        kind="bar",
        title=_("Bookings per service per week"),
        description=_(
            "Bars: for each service, the bookings for appointments in each of the last "
            "%(weeks)s weeks, cancelled bookings left out. The table below gives the numbers."
        )
        % {"weeks": len(weeks)},
        category_heading=_("Week"),
        categories=long,
        short_categories=short,
        series=[
            Series(name=service.name, values=[counts.get((service.pk, week), 0) for week in weeks])
            for service in services
        ],
    )


def _rates_chart(post: Post, weeks: list[date], now: datetime) -> Chart:
    per_week = selectors.outcomes_per_week(post=post, weeks=weeks, now=now)
    empty = selectors.Outcomes()
    outcomes = [per_week.get(week, empty) for week in weeks]
    long, short = _week_labels(weeks)
    return Chart(
        slug="rates",
        kind="line",
        title=_("No-show and lateness rates per week"),
        description=_(
            "Lines, in percent, per week: no-shows and people refused for lateness among "
            "those expected at the door, and late cancellations among all bookings whose "
            "time has passed. Weeks with nothing to measure are gaps. The table below gives "
            "the numbers."
        ),
        category_heading=_("Week"),
        categories=long,
        short_categories=short,
        percent=True,
        series=[
            Series(name=_("No-shows"), values=[o.no_show_rate for o in outcomes]),
            Series(name=_("Refused: late"), values=[o.late_refused_rate for o in outcomes]),
            Series(name=_("Late cancellations"), values=[o.late_cancelled_rate for o in outcomes]),
        ],
    )


def _outcome_rows(post: Post, weeks: list[date], services: list, now: datetime) -> list[dict]:
    per_service = selectors.outcomes_per_service(post=post, weeks=weeks, now=now)
    empty = selectors.Outcomes()
    labelled = [(service.name, per_service.get(service.pk, empty)) for service in services]
    total = selectors.Outcomes(
        **{
            name: sum(getattr(o, name) for _label, o in labelled)
            for name in ("passed", "expected", "no_show", "late_refused", "late_cancelled")
        }
    )
    return [
        {
            "label": label,
            "outcomes": o,
            "no_show_rate": _percent(o.no_show_rate),
            "late_refused_rate": _percent(o.late_refused_rate),
            "late_cancelled_rate": _percent(o.late_cancelled_rate),
            "total": label is None,
        }
        for label, o in [*labelled, (None, total)]
    ]


def _next_free(post: Post, now: datetime) -> tuple[Chart, list[dict]]:
    found = selectors.next_free_slots(post=post, now=now)
    none = _("none in horizon")
    chart = Chart(
        slug="next-free",
        kind="bar",
        title=_("Days until the next free slot"),
        description=_(
            "Bars: for each service open for booking, the days from today until the first "
            "time a citizen could book now. A service with no bar has nothing free within "
            "its booking horizon. The table below gives the numbers."
        ),
        category_heading=_("Service"),
        categories=[item.service.name for item in found],
        series=[Series(name=_("Days"), values=[item.days for item in found])],
        missing=none,
    )
    rows = [
        {
            "service": item.service,
            "days": none if item.days is None else item.days,
            "when": date_format(item.slot.local, "l j M Y, H:i") if item.slot else "",
        }
        for item in found
    ]
    return chart, rows


def _figures(*, post: Post, now: datetime) -> dict:
    weeks = selectors.figure_weeks(post=post, now=now)
    counts = selectors.bookings_per_week(post=post, weeks=weeks)
    booked = {service_id for service_id, _week in counts}
    # Services open for booking, and closed ones that still had bookings in these weeks.
    services = [
        service
        for service in selectors.figure_services(post=post)
        if service.active or service.pk in booked
    ]
    next_free_chart, next_free_rows = _next_free(post, now)
    return {
        "weeks": weeks,
        "bookings": _bookings_chart(weeks, services, counts),
        "rates": _rates_chart(post, weeks, now),
        "outcomes": _outcome_rows(post, weeks, services, now),
        "next_free": next_free_chart,
        "next_free_rows": next_free_rows,
        "zone_name": post.time_zone,
        "today": clock.today(post, now),
    }
