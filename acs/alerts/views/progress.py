"""A message's delivery for staff: the progress page (live, polling its JSON every 2 s), and
the welfare page of an emergency message (who is safe, who needs help).

The welfare page shows personal data (names, contact details, emergency contacts), so each
request writes an audit entry before it answers; so does the progress page. The JSON the
progress page polls holds only counts and the relays' reasons, and is asked for every two
seconds: it is not logged, or the log would fill with one officer's open tab.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from acs.alerts import selectors
from acs.alerts.constants import KIND_TITLES, Channel, DeliveryStatus, MessageKind
from acs.alerts.models import Message
from acs.core import audit
from acs.core.i18n import localized
from acs.core.permissions import staff_view
from acs.core.ratelimit import client_address
from acs.posts.selectors import post_default

VIEW_DELIVERY = "alerts.view_delivery"
VIEW_WELFARE = "alerts.view_welfare"
_COLUMNS = [
    DeliveryStatus.QUEUED,
    DeliveryStatus.SENDING,
    DeliveryStatus.RETRYING,
    DeliveryStatus.SENT,
    DeliveryStatus.FAILED,
    DeliveryStatus.DIGEST,
]


def _message(pk: int) -> Message:
    post = post_default()
    message = Message.objects.select_related("post").filter(pk=pk, post=post).first()
    if message is None:
        raise Http404(pk)
    return message


def _frame(message: Message) -> dict:
    return {
        "message": message,
        "title": localized(message, "title"),
        "kind_title": KIND_TITLES.get(MessageKind(message.kind), message.kind),
        "emergency": message.kind == MessageKind.EMERGENCY,
    }


@staff_view(VIEW_DELIVERY)
@never_cache
@require_safe
def progress(request: HttpRequest, pk: int) -> HttpResponse:
    """How the message's delivery is going, updated every 2 s without reloading."""
    message = _message(pk)
    now = selectors.delivery_progress(message=message)
    audit.audit_record(
        actor=request.user,
        action="acs.delivery.progress_viewed",
        target=message,
        summary=f"message={message.pk} rows={now.rows} open={now.open}",
        address=client_address(request),
    )
    columns = [{"status": status.value, "label": status.label} for status in _COLUMNS]
    channels = [
        {
            "channel": channel.value,
            "label": channel.label,
            "cells": [
                {
                    "status": status.value,
                    "label": status.label,
                    "count": now.channels[channel.value][status.value],
                }
                for status in _COLUMNS
            ],
        }
        for channel in Channel
    ]
    context = _frame(message) | {
        "progress": now,
        "columns": columns,
        "channels": channels,
        "total_cells": [
            {"status": status.value, "label": status.label, "count": now.totals[status.value]}
            for status in _COLUMNS
        ],
    }
    return render(request, "alerts/delivery/staff/progress.html", context)


@staff_view(VIEW_DELIVERY)
@never_cache
@require_safe
def progress_json(request: HttpRequest, pk: int) -> JsonResponse:
    """The progress page's figures, for its script."""
    return JsonResponse(selectors.delivery_progress(message=_message(pk)).as_json())


@staff_view(VIEW_WELFARE)
@never_cache
@require_safe
def welfare(request: HttpRequest, pk: int) -> HttpResponse:
    """Per region: answered safe, need help, no answer; then who needs help, with contacts."""
    message = _message(pk)
    answers = selectors.welfare_answers(message=message)
    audit.audit_record(
        actor=request.user,
        action="acs.welfare.viewed",
        target=message,
        summary=(
            f"message={message.pk} safe={answers.total.safe} help={answers.total.help} "
            f"unanswered={answers.total.unanswered} listed={len(answers.needs_help)}"
        ),
        address=client_address(request),
    )
    context = _frame(message) | {"answers": answers, "zone_name": message.post.time_zone}
    with timezone.override(message.post.zone):
        return render(request, "alerts/delivery/staff/welfare.html", context)
