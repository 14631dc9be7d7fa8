"""The links in a delivered message: unsubscribe, and the welfare answers of an emergency.

The row's token (a random UUID) is the proof: no sign-in. Opening a link only shows a page
with one button, because mail scanners and link previews follow every link in an email; only
the person's POST acts. A token no row has gets a plain "not valid" page (404).
"""

from __future__ import annotations

import uuid

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from acs.alerts.constants import KIND_TITLES, MessageKind, WelfareAnswer
from acs.alerts.services import outbox as services
from acs.core.i18n import localized


def _invalid(request: HttpRequest) -> HttpResponse:
    return render(request, "alerts/delivery/invalid_link.html", status=404)


# No CSRF token: mail programs unsubscribe with one click by POSTing
# "List-Unsubscribe=One-Click" to this URL themselves (RFC 8058), with no cookie and no page
# before it. The protection CSRF would add is already there: only someone who has the
# email knows the URL's token, and all a forged POST could do is what the link's owner may do.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: uuid.UUID) -> HttpResponse:
    delivery = services.delivery_by_token(token)
    if delivery is None or delivery.enrollee_id is None:
        return _invalid(request)
    kinds = services.unsubscribe_kinds(delivery)
    context = {
        "token": token,
        "kinds": [KIND_TITLES[MessageKind(kind)] for kind in kinds],
        "channel": delivery.get_channel_display(),
    }
    if request.method == "POST":
        services.delivery_unsubscribe(delivery=delivery)
        return render(request, "alerts/delivery/unsubscribed.html", context)
    return render(request, "alerts/delivery/unsubscribe.html", context)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def welfare(request: HttpRequest, token: uuid.UUID, answer: str) -> HttpResponse:
    delivery = services.delivery_by_token(token)
    if delivery is None or delivery.message.kind != MessageKind.EMERGENCY:
        return _invalid(request)
    safe = answer == WelfareAnswer.SAFE
    context = {
        "token": token,
        "safe": safe,
        "message": delivery.message,
        "title": localized(delivery.message, "title"),
    }
    if request.method == "POST":
        services.welfare_answer(delivery=delivery, answer=answer)
        return render(request, "alerts/delivery/welfare_done.html", context)
    return render(request, "alerts/delivery/welfare.html", context)
