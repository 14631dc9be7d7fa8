"""The waitlist of each first-come service for staff: who waits, for which days, since when,
and the seat offered to them now. Read-only: the citizen joins, leaves and claims by their
emailed links, and the sweep passes offers on.

The list shows citizens' names and email addresses, so each look writes an audit entry
(who, when, which service, how many rows) before the page answers, as the day page does.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from acs.appointments import selectors
from acs.appointments.models import Service
from acs.core import audit, clock
from acs.core.permissions import staff_view
from acs.core.ratelimit import client_address
from acs.posts.selectors import post_or_404

PERMISSION = "appointments.view_waitlistentry"


@staff_view(PERMISSION)
@require_safe
def waitlist(request: HttpRequest) -> HttpResponse:
    """The post's services with how many are waiting on each (no names: not audited)."""
    post = post_or_404()
    context = {"post": post, "services": list(selectors.services_release(post))}
    return render(request, "appointments/staff/waitlist.html", context)


@staff_view(PERMISSION)
@never_cache
@require_safe
def service_waitlist(request: HttpRequest, pk: int) -> HttpResponse:
    """One service's waitlist in its order; every look is audited."""
    service = get_object_or_404(Service.objects.select_related("post"), pk=pk, post=post_or_404())
    post = service.post
    entries = selectors.waitlist_for_staff(service)
    audit.audit_record(
        actor=request.user,
        action="acs.waitlist.viewed",
        target=service,
        post=post,
        summary=f"service={service.slug} rows={len(entries)}",
        address=client_address(request),
    )
    rows = [
        {
            "entry": entry,
            "place": place,
            "people": [person.full_name for person in entry.people.all()],
            "days": [clock.long_date(day.day) for day in entry.days.all()],
            "since": clock.when_text(post, entry.confirmed_at) if entry.confirmed_at else "",
            "offer": (
                {
                    "starts": clock.when_text(post, entry.held[0].starts_at),
                    "until": clock.when_text(post, entry.held[0].expires_at),
                }
                if entry.held
                else None
            ),
        }
        for place, entry in enumerate(entries, start=1)
    ]
    context = {"service": service, "rows": rows, "zone": post.time_zone}
    return render(request, "appointments/staff/service_waitlist.html", context)
