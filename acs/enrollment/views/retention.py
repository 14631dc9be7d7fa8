"""The yearly "do you still live here?" answer: the one page a retention email links to.

The token is the proof (no sign-in needed). Opening the link only shows the question with one
"Yes, I still live here" button: mail scanners and link previews follow GET links, so only
the person's POST keeps the residence. The token dies once answered (it carries the
confirmation that the answer moves on) and after 70 days.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from acs.enrollment.services import retention


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def residence_keep(request: HttpRequest, token: str) -> HttpResponse:
    residence = retention.residence_from_keep_token(token)
    if residence is None:
        return render(request, "enrollment/retention/invalid_link.html", status=404)
    if request.method == "POST":
        if not retention.residence_keep(residence=residence):
            return render(request, "enrollment/retention/invalid_link.html", status=404)
        return render(request, "enrollment/retention/kept.html", {"residence": residence})
    return render(
        request, "enrollment/retention/keep.html", {"residence": residence, "token": token}
    )
