"""The emails of request rounds: the link that confirms a request, and the word to those the
draw did not serve, in the language the request was made in. Winners get the ordinary
booking confirmation (``emails``), since the draw books them through ``booking_create``.

Workers build these from the outbox's rows (docs/mail.md); nothing here changes state.
"""

from __future__ import annotations

from django.core.mail import EmailMultiAlternatives
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from acs.appointments.models import RoundRequest
from acs.appointments.services.mail import ROUND_EMAIL
from acs.appointments.services.rounds import next_opening
from acs.core import clock
from acs.core.mail.addresses import message_id, site_url
from acs.core.mail.letters import letter_render
from acs.posts.routing import post_override

KINDS = ("confirm", "lost", "refused", "failed")


def _subject(kind: str, service_name: str) -> str:
    if kind == "confirm":
        return _("Confirm your request: %(service)s") % {"service": service_name}
    if kind == "lost":
        return _("This round is full: %(service)s") % {"service": service_name}
    return _("Your request was not drawn: %(service)s") % {"service": service_name}


def _intro(kind: str) -> str:
    if kind == "confirm":
        return _(
            "We received your request for an appointment. It takes part in the draw only "
            "once you confirm this email address: open the link below before the requests "
            "close."
        )
    if kind == "lost":
        return _(
            "The draw is done and this round is full: there were more requests than "
            "appointments, and yours was not among those drawn. You can send a new request "
            "in the next round."
        )
    if kind == "refused":
        return _(
            "Your request was not part of the draw, because one of its people already has an "
            "appointment for this service."
        )
    return _(
        "Your request was drawn, but we could not book the time after all (the office may "
        "have closed that day). We are sorry. Please send a new request in the next round."
    )


def round_message(request: RoundRequest, kind: str) -> EmailMultiAlternatives:
    """Build (not send) the email of ``kind`` about ``request``."""
    if kind not in KINDS:
        raise ValueError(f"unknown round email kind: {kind!r}")
    round_ = request.round
    service, post = round_.service, round_.post
    with translation.override(request.language), post_override(post):
        context = {
            "kind": kind,
            "heading": _subject(kind, service.name),
            "intro": _intro(kind),
            "service_name": service.name,
            "closes": clock.when_text(post, round_.closes_at),
            "next_opens": clock.when_text(post, next_opening(service, after=round_.closes_at)),
            "confirm_url": site_url(
                reverse("appointments:request-confirm", kwargs={"token": request.token})
            ),
            "status_url": site_url(
                reverse("appointments:request-status", kwargs={"token": request.token})
            ),
            "round_url": site_url(reverse("appointments:round", kwargs={"token": round_.token})),
            "reference": request.reference,
        }
        subject = context["heading"]
    letter = letter_render(
        post=post,
        language=request.language,
        template="appointments/email/round",
        subject=subject,
        context=context,
    )
    return letter.email(to=[request.email], message_id=message_id())


def round_email_build(*, request_id: int, kind: str) -> EmailMultiAlternatives | None:
    """The email of ``kind`` for the request as it is now; none if it is gone, nor a
    confirmation link for a request no longer waiting for one."""
    request = (
        RoundRequest.objects.select_related("round__service", "round__post")
        .filter(pk=request_id)
        .first()
    )
    if request is None or (kind == "confirm" and request.status != "unconfirmed"):
        return None
    return round_message(request, kind)


ROUND_KINDS = {ROUND_EMAIL: round_email_build}
