"""Request rounds for staff: each service's release settings, demand against supply per
drawn round (a table and a chart of the same numbers), and the draw's log of each round.

None of these pages shows a citizen's personal data: the figures are counts and the log names
requests only by their reference, so looking at them is not audited. Changing the settings
is ``services.round_settings``'s decision, audited in its transaction.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_safe

from acs.appointments import selectors
from acs.appointments.constants import RoundState
from acs.appointments.forms import RoundSettingsForm
from acs.appointments.models import OpeningRule, Round, Service
from acs.appointments.services import round_settings as settings_services
from acs.core import clock
from acs.core.permissions import staff_view
from acs.posts.models import Post
from acs.posts.routing import post_override
from acs.posts.selectors import post_or_404
from acs.staff.charts import Chart, Series

GET_POST = require_http_methods(["GET", "HEAD", "POST"])
_LOG_SHOWN = 500  # a round's log is a few entries per thousand requests told


def _service(pk: int) -> Service:
    """The service of the post chosen in the header; another post's is a 404."""
    return get_object_or_404(Service.objects.select_related("post"), pk=pk, post=post_or_404())


def _round_label(post: Post, round_: Round) -> str:
    return date_format(clock.local(post, round_.opens_at).date(), "j M Y")


def _round_url(round_: Round) -> str:
    """The round's public page (commitment, seed, allocation) in the staff's language."""
    with post_override(round_.post):
        return reverse("appointments:round", kwargs={"token": round_.token})


def _percent(value: float) -> str:
    return f"{number_format(value * 100, decimal_pos=1)} %"


# The overview -------------------------------------------------------------------------------


def schedule_text(service: Service) -> str:
    """ "Opens Monday at 09:00 for 48 hours; gives out up to 3 weeks ahead" (or "")."""
    if not service.by_request:
        return ""
    weekday = OpeningRule.Weekday(service.round_weekday).label
    opens = ngettext(
        "Opens %(weekday)s at %(time)s for %(hours)d hour",
        "Opens %(weekday)s at %(time)s for %(hours)d hours",
        service.round_window_hours,
    ) % {
        "weekday": weekday,
        "time": service.round_opens.strftime("%H:%M"),
        "hours": service.round_window_hours,
    }
    ahead = ngettext(
        "gives out up to %(weeks)d week ahead",
        "gives out up to %(weeks)d weeks ahead",
        service.round_weeks_ahead,
    ) % {"weeks": service.round_weeks_ahead}
    return f"{opens}; {ahead}"


@staff_view("appointments.view_figures")
@require_safe
def rounds(request: HttpRequest) -> HttpResponse:
    """Every service of the post: how its seats are given and, for rounds, the schedule."""
    post = post_or_404()
    context = {
        "post": post,
        "rows": [
            {"service": service, "schedule": schedule_text(service)}
            for service in selectors.services_release(post)
        ],
        "can_change": request.user.has_perm("appointments.change_service"),
    }
    return render(request, "appointments/staff/rounds.html", context)


# Demand against supply ----------------------------------------------------------------------


def _demand_chart(service: Service, rows: list[selectors.RoundFigures]) -> Chart:
    labels = [_round_label(service.post, row.round) for row in rows]
    return Chart(
        slug="demand",
        kind="bar",
        title=_("People asking, seats and people served per round"),
        description=_(
            "Bars: for each of the last %(count)s drawn rounds of %(service)s, oldest first, "
            "the people in the confirmed requests, the free seats the draw gave out, and the "
            "people who got a seat. The table below gives the numbers."
        )
        % {"count": len(rows), "service": service.name},
        category_heading=_("Round opened"),
        categories=[_("Round opened %(date)s") % {"date": label} for label in labels],
        short_categories=labels,
        series=[
            Series(name=_("People asking"), values=[row.people for row in rows]),
            Series(name=_("Seats"), values=[row.seats for row in rows]),
            Series(name=_("People served"), values=[row.served_people for row in rows]),
        ],
    )


@staff_view("appointments.view_figures")
@require_safe
def service_rounds(request: HttpRequest, pk: int) -> HttpResponse:
    """One service's drawn rounds: requests, people, seats and the share served, as a
    chart and a table, each round linking to its log; and the rounds not drawn yet."""
    service = _service(pk)
    figures = selectors.rounds_figures(post=service.post, service=service, count=26)
    oldest_first = list(reversed(figures))
    rows = [
        {
            "figures": row,
            "label": _round_label(service.post, row.round),
            "share": _percent(row.share_served),
        }
        for row in figures
    ]
    undrawn = [
        {"round": round_, "closes": clock.when_text(service.post, round_.closes_at)}
        for round_ in selectors.rounds_recent(service)
        if round_.state == RoundState.OPEN
    ]
    context = {
        "service": service,
        "rows": rows,
        "chart": _demand_chart(service, oldest_first) if oldest_first else None,
        "undrawn": undrawn,
        "can_change": request.user.has_perm("appointments.change_service"),
    }
    return render(request, "appointments/staff/service_rounds.html", context)


# The draw's log -----------------------------------------------------------------------------


@staff_view("appointments.view_figures")
@require_safe
def round_log(request: HttpRequest, pk: int) -> HttpResponse:
    """A round's steps as the audit log has them (opened, drawn, told, not booked), oldest
    first, with a link to the round's public page."""
    post = post_or_404()
    round_ = selectors.round_for_staff(post=post, pk=pk)
    if round_ is None:
        raise Http404(pk)
    context = {
        "round": round_,
        "service": round_.service,
        "label": _round_label(post, round_),
        "opens": clock.when_text(post, round_.opens_at),
        "closes": clock.when_text(post, round_.closes_at),
        "drawn": clock.when_text(post, round_.drawn_at) if round_.drawn_at else "",
        "public_url": _round_url(round_),
        "entries": [
            {"entry": entry, "when": clock.when_text(post, entry.created_at)}
            for entry in selectors.round_log(round_)[:_LOG_SHOWN]
        ],
    }
    return render(request, "appointments/staff/round_log.html", context)


# Settings -----------------------------------------------------------------------------------


def _settings_page(
    request: HttpRequest, service: Service, form: RoundSettingsForm, *, status: int = 200
) -> HttpResponse:
    context = {"service": service, "form": form, "zone": service.post.time_zone}
    return render(request, "appointments/staff/round_settings.html", context, status=status)


@staff_view("appointments.change_service")
@GET_POST
def service_round_settings(request: HttpRequest, pk: int) -> HttpResponse:
    """How the service's seats are given and the schedule of its rounds."""
    service = _service(pk)
    if request.method != "POST":
        initial = {name: getattr(service, name) for name in settings_services.FIELDS}
        return _settings_page(request, service, RoundSettingsForm(initial=initial))
    form = RoundSettingsForm(request.POST)
    if not form.is_valid():
        return _settings_page(request, service, form, status=400)
    try:
        result = settings_services.service_rounds_update(
            service=service,
            settings=settings_services.RoundSettings(**form.cleaned_data),
            actor=request.user,
        )
    except settings_services.RoundSettingsError as error:
        form.add_error(None, error.message)
        return _settings_page(request, service, form, status=400)
    if result.changed:
        messages.success(request, _("Saved."))
    else:
        messages.info(request, _("Nothing changed."))
    return redirect("staff:service-round-settings", pk=service.pk)
