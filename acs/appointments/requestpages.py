"""The request-round pages put together: the request form, the request's own page, and the
public page of a round with its commitment, then its seed and allocation.

Views call these with what the selectors found; here the words and links are chosen.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from acs.appointments import draw, selectors
from acs.appointments.constants import RequestStatus, RoundState
from acs.appointments.models import Round, RoundRequest, Service
from acs.appointments.requestforms import PARTS, RequestForms
from acs.appointments.services.rounds import next_opening
from acs.core import clock
from acs.core import pow as proof_of_work


def request_forms(request: HttpRequest, service: Service) -> RequestForms:
    """The request page's forms for the service's open round (None: no round is open)."""
    round_, days = selectors.round_open_with_days(service)
    data = request.POST if request.method == "POST" else None
    count_data = request.POST if data is not None else request.GET
    return RequestForms(data, service=service, round_=round_, count_data=count_data, days=days)


def _round_texts(round_: Round) -> dict[str, str]:
    post = round_.post
    return {
        "opens": clock.when_text(post, round_.opens_at),
        "closes": clock.when_text(post, round_.closes_at),
        "first_day": clock.long_date(round_.first_day),
        "last_day": clock.long_date(round_.last_day),
    }


def request_page(service: Service, forms: RequestForms, **extra: Any) -> dict[str, Any]:
    round_ = forms.round
    context = {
        "service": service,
        "round": round_,
        "texts": _round_texts(round_) if round_ else {},
        "next_opens": clock.when_text(service.post, next_opening(service, after=clock.now())),
        "recent": selectors.rounds_recent(service),
        **forms.context(),
        **extra,
    }
    if round_ is not None:
        context.update(proof_of_work.widget_context())
    return context


def _choice_text(choice: str) -> str:
    day, part = draw.choice_parse(choice) or ("", "any")
    return f"{clock.long_date(date.fromisoformat(day))}: {dict(PARTS)[part]}"


def status_page(request: RoundRequest, *, confirmed: bool = False) -> dict[str, Any]:
    """A request's own page: its round, its people and choices, where it stands, and once
    drawn its id in the published draw and the booking it got."""
    round_ = request.round
    post = round_.post
    drawn = round_.state == RoundState.DRAWN
    seed = bytes.fromhex(round_.seed) if drawn else None
    return {
        "request": request,
        "round": round_,
        "service": round_.service,
        "texts": _round_texts(round_),
        "choices": [_choice_text(choice) for choice in request.choices],
        "people": [person.full_name for person in request.people.all()],
        "pseudonym": draw.pseudonym(seed, request.reference) if seed else "",
        "when": clock.when_text(post, request.starts_at) if request.starts_at else "",
        "next_opens": clock.when_text(post, next_opening(round_.service, after=round_.closes_at)),
        "just_confirmed": confirmed,
        "waiting": request.status == RequestStatus.UNCONFIRMED,
        "manage_url": (
            reverse("appointments:manage", kwargs={"token": request.booking.token})
            if request.booking
            else ""
        ),
    }


def round_json(round_: Round) -> dict[str, Any]:
    """What the round publishes: before the draw its commitment and window; after it the
    whole draw, which ``manage.py round_replay`` checks."""
    if round_.state == RoundState.DRAWN:
        return round_.published
    return {
        "format": "acs-round/1",
        "algorithm": draw.ALGORITHM,
        "post": round_.post.slug,
        "service": round_.service.slug,
        "round": round_.token,
        "time_zone": round_.post.time_zone,
        "opens_at": round_.opens_at.isoformat(),
        "closes_at": round_.closes_at.isoformat(),
        "commitment": round_.commitment,
        "seed": None,
    }


def round_page(round_: Round) -> dict[str, Any]:
    """The public page of a round: the commitment, then the seed, counts and allocation."""
    data = round_json(round_)
    post = round_.post
    slots = {slot["start"]: slot["local"] for slot in data.get("slots", [])}
    allocation = [
        {
            "id": entry["id"],
            "people": entry["people"],
            "slot": slots.get(entry["slot"], "").replace("T", " ") if entry["slot"] else "",
        }
        for entry in data.get("requests", [])
    ]
    return {
        "round": round_,
        "service": round_.service,
        "texts": _round_texts(round_),
        "drawn": round_.state == RoundState.DRAWN,
        "data": data,
        "zone": clock.zone_text(post, round_.closes_at),
        "allocation": allocation,
        "served_share": (
            round(100 * round_.served_people / round_.people_count) if round_.people_count else 0
        ),
    }
