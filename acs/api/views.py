"""The public JSON API: posts, their services, availability, proof-of-work challenges and
booking.

Each post's resources live under ``posts/<post>/``. The older paths without a post
(``services``, ``bookings``, …) answer directly, as the default post's (``ACS_DEFAULT_POST``),
rather than redirect: a client that posts a booking need not follow a 308 with its body.

These endpoints take no cookies and keep no session: a request carries everything in its URL
or body, and nothing here reads ``request.session`` or ``request.user``. That is why booking
may be exempt from CSRF: there is no ambient credential for a forged cross-site request to
ride on. Capacity is protected the same way as on the HTML pages: rate limits, a proof of work,
and ``services.booking_create``, which locks the slot before counting.

Every refusal is ``{"error": {"code", "message", …}}`` with a stable ``code``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import UTC, date, timedelta
from functools import lru_cache, wraps
from typing import Any
from zoneinfo import ZoneInfo

import pycountry
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from acs.api import openapi as openapi_document
from acs.api.lane import lane_view
from acs.api.openapi import PREFIX
from acs.api.payloads import LANGUAGES, FieldErrors, booking_request_parse, round_request_parse
from acs.appointments import selectors
from acs.appointments.availability import slots_between
from acs.appointments.constants import BookingChannel
from acs.appointments.models import Booking, Service
from acs.appointments.services import BookingError, PersonData, booking_create, rounds
from acs.core import clock, pow, ratelimit
from acs.core.i18n import localized
from acs.core.problems import problem_response
from acs.posts.models import Post
from acs.posts.routing import post_named, post_override
from acs.posts.selectors import post_default, post_get, posts_listed

MAX_SEARCH = 100  # characters of ``q``: longer than any post's name or city
MAX_DAYS = 92
DEFAULT_DAYS = 60
RATE_WINDOW = 3600  # seconds; the same hourly window as the HTML booking pages
SLOT_KEY = "%Y-%m-%dT%H:%MZ"  # as ``availability.Slot.key``: what clients send back as "start"


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra
        self.headers: dict[str, str] = {}

    def response(self) -> JsonResponse:
        """RFC 9457 problem details (``acs.core.problems``), titled by the code's description."""
        title = openapi_document.ERROR_CODES.get(self.code, "")
        response = problem_response(
            self.status, self.code, self.message, title=title.replace("`", ""), **self.extra
        )
        for name, value in self.headers.items():
            response[name] = value
        return response


def api_view(*methods: str) -> Callable:
    """Allow only ``methods`` and turn an ApiError into its problem details. Exempt from
    CSRF (no endpoint reads a cookie or a session), so that a method the path does not
    allow gets the API's 405 with ``Allow``, not the pages' CSRF refusal; served through the
    API's short middleware chain (``acs.api.lane``) for the same reason."""

    def decorate(view: Callable) -> Callable:
        @lane_view
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> JsonResponse:
            try:
                if request.method not in methods:
                    error = ApiError(405, "method_not_allowed", _("Method not allowed."))
                    error.headers["Allow"] = ", ".join(methods)
                    raise error
                return view(request, *args, **kwargs)
            except ApiError as error:
                return error.response()

        return wrapper

    return decorate


def _post(slug: str | None = None) -> Post:
    """The post the URL names, or for the older paths without one the default post."""
    if slug is None:
        post = post_default()
        if post is None:
            raise ApiError(404, "not_found", _("This site has no post configured."))
        return post
    post = post_get(slug=slug)
    if post is None:
        raise ApiError(
            404, "unknown_post", _("There is no post “%(post)s”.") % {"post": slug}, post=slug
        )
    return post


def _language(request: HttpRequest) -> str:
    language = request.GET.get("lang", "en")
    if language not in LANGUAGES:
        raise ApiError(400, "invalid_lang", _("The language must be “en” or “es”."))
    return language


def _service_json(service: Service, language: str) -> dict:
    return {
        "slug": service.slug,
        "name": localized(service, "name", language),
        "duration_minutes": service.duration_minutes,
        "seats_per_slot": service.seats_per_slot,
        "max_people": service.max_people,
        "horizon_days": service.horizon_days,
        "requires_benefits_ack": service.requires_benefits_ack,
    }


def _post_json(post: Post, language: str) -> dict:
    """A post as a client picks one: its names, place, zone, hotline and where its API is."""
    scoped = {"post": post.slug}
    with translation.override(language):
        country = post.country_name
    return {
        "slug": post.slug,
        "name": localized(post, "name", language),
        "city": post.city,
        "country_code": post.country_code,
        "country": country,
        "time_zone": post.time_zone,
        "emergency_phone": post.hotline.tel,
        "urls": {
            "self": reverse("api:post", kwargs=scoped),
            "services": reverse("api:post-services", kwargs=scoped),
            "bookings": reverse("api:post-bookings", kwargs=scoped),
        },
    }


def _country(request: HttpRequest) -> str:
    """An assigned ISO 3166-1 alpha-2 code, in any case: a typo such as "UK" is refused
    rather than answered with an empty list that looks like "no post there"."""
    raw = request.GET.get("country", "").strip()
    if raw and pycountry.countries.get(alpha_2=raw.upper()) is None:
        raise ApiError(
            400,
            "invalid_country",
            _("“country” must be a two-letter country code (ISO 3166-1), such as MX."),
        )
    return raw.upper()


def _search(request: HttpRequest) -> str:
    raw = request.GET.get("q", "").strip()
    if len(raw) > MAX_SEARCH:
        raise ApiError(
            400,
            "invalid_query",
            _("“q” must be at most %(count)d characters.") % {"count": MAX_SEARCH},
        )
    return raw


@api_view("GET")
def posts(request: HttpRequest) -> JsonResponse:
    """Every post, by country code then city; a country with no post gives an empty list."""
    language = _language(request)
    found = posts_listed(country=_country(request), search=_search(request))
    return JsonResponse({"posts": [_post_json(post, language) for post in found]})


@api_view("GET")
def post_detail(request: HttpRequest, post: str) -> JsonResponse:
    return JsonResponse(_post_json(_post(post), _language(request)))


@api_view("GET")
def services(request: HttpRequest, post: str | None = None) -> JsonResponse:
    language = _language(request)
    post = _post(post)
    found = [_service_json(s, language) for s in selectors.services_bookable(post)]
    return JsonResponse({"post": post.slug, "time_zone": post.time_zone, "services": found})


def _from_date(request: HttpRequest, today: date) -> date:
    raw = request.GET.get("from")
    if raw is None:
        return today
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, "invalid_date", _("“from” must be a date as YYYY-MM-DD.")) from None


def _days(request: HttpRequest) -> int:
    raw = request.GET.get("days", str(DEFAULT_DAYS))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_DAYS:
        raise ApiError(
            400,
            "invalid_days",
            _("“days” must be a whole number from 1 to %(most)d.") % {"most": MAX_DAYS},
        )
    return int(raw)


@api_view("GET")
def availability(request: HttpRequest, slug: str, post: str | None = None) -> JsonResponse:
    """Free seats per slot, day by day; the same five queries whatever the range. A service
    is looked up within the post only, so another post's service here is not found."""
    post = _post(post)
    service = selectors.service_get(post=post, slug=slug)
    if service is None:
        raise ApiError(404, "unknown_service", _("There is no such service to book."))
    today = clock.today(post)
    first = _from_date(request, today)
    days = _days(request)
    try:
        last = first + timedelta(days=days - 1)
    except OverflowError:
        raise ApiError(400, "invalid_date", _("“from” is out of range.")) from None
    found = slots_between(service, first, last)
    return JsonResponse(
        {
            "service": service.slug,
            "time_zone": post.time_zone,
            "days": [
                {
                    "date": day.isoformat(),
                    "slots": [
                        {"start": slot.key, "local": slot.local.isoformat(), "free": slot.free}
                        for slot in slots
                    ],
                }
                for day, slots in found.items()
            ],
        }
    )


@never_cache
@api_view("GET")
def pow_challenge(request: HttpRequest) -> JsonResponse:
    """A fresh challenge; solve it and send the payload as ``altcha`` with the booking."""
    challenge = json.loads(pow.challenge_create().json)
    return JsonResponse({"challenge": challenge, "required": pow.enabled()})


def _too_many() -> ApiError:
    error = ApiError(429, "rate_limited", _("Too many attempts. Please try again later."))
    error.headers["Retry-After"] = str(int(RATE_WINDOW - time.time() % RATE_WINDOW) + 1)
    return error


def _body(request: HttpRequest) -> dict | None:
    """The body's JSON object; None if it is not one, if it nests deeper than Python can
    read (``RecursionError``), or if a string in it cannot be encoded (a lone surrogate
    written as ``\\ud800``: no field, no database and no email could take it)."""
    body = request.body
    try:
        data = json.loads(body)
        if _SURROGATE.search(body):  # read it all again only where one may be
            json.dumps(data, ensure_ascii=False).encode()
    except (ValueError, RecursionError):  # UnicodeError is a ValueError
        return None
    return data if isinstance(data, dict) else None


# Where a lone surrogate can come from: an escape \ud800–\udfff, or its bytes (0xED then
# 0xA0–0xBF), which json.loads lets through.
_SURROGATE = re.compile(rb"\\[uU][dD][89a-fA-F]|\xed[\xa0-\xbf]")


class _Limits:
    """A POST's rate limits, counted exactly once: together with the proof of work in one
    round trip (``spend``) when the request gets that far, or alone (``count``) when it is
    refused before. Either way an attempt over a limit is told so first."""

    def __init__(self, limits: list[ratelimit.Limit]) -> None:
        self.limits = limits
        self.counted = False

    def count(self) -> None:
        if self.counted:
            return
        self.counted = True
        if not all(ratelimit.hits(self.limits)):
            raise _too_many()

    def spend(self, payload: object) -> None:
        """Check the proof of work, count the limits and use the solution."""
        try:
            verdicts = pow.solution_spend(
                payload if isinstance(payload, str) else None, self.limits
            )
        except pow.ProofOfWorkError as error:
            self.counted = error.code == "replayed"  # a solution that was checked, and counted
            if not self.counted:
                self.count()
            raise ApiError(400, f"pow_{error.code}", error.message) from error
        self.counted = True
        if not all(verdicts):
            raise _too_many()


def _request_url(service: Service, language: str) -> str:
    """The request form of a service given by request rounds (``by_request``)."""
    with translation.override(language), post_override(service.post):
        return reverse("appointments:request", kwargs={"service": service.slug})


def _booking_error(error: BookingError, *, service: Service, language: str) -> ApiError:
    if error.code == "taken":
        return ApiError(409, "taken", error.message, nearest=[s.key for s in error.nearest])
    if error.code == "already_booked":
        # The service's message names the person already booked and the date; behind a
        # passport number a caller typed, that would be someone else's data.
        return ApiError(
            400,
            error.code,
            _("One of these people already has an appointment for this service."),
        )
    if error.code == "by_request":
        return ApiError(400, error.code, error.message, request_url=_request_url(service, language))
    return ApiError(400, error.code, error.message)


def _booking_json(booking: Booking, people: list[PersonData], zone: ZoneInfo) -> dict:
    """What the caller sent and the keys to their booking; nothing about anyone else."""
    return {
        "code": booking.code,
        "manage_token": booking.token,
        "service": booking.service.slug,
        "start": booking.starts_at.astimezone(UTC).strftime(SLOT_KEY),
        "local": booking.starts_at.astimezone(zone).isoformat(),
        "people": [{"full_name": person.full_name.strip()} for person in people],
    }


def _checked(parse: Callable[[], Any]) -> Any:
    """What ``parse`` reads from a body, or the field errors it found, every one of them,
    before anything is spent."""
    try:
        return parse()
    except FieldErrors as error:
        raise ApiError(
            400, "invalid_fields", _("Please correct the fields listed."), fields=error.errors
        ) from error


def _book(data: dict, limits: _Limits, post: Post) -> JsonResponse:
    wanted = _checked(lambda: booking_request_parse(data, post=post))
    limits.spend(data.get("altcha"))
    try:
        booking = booking_create(
            service=wanted.service,
            starts_at=wanted.starts_at,
            people=wanted.people,
            email=wanted.email,
            phone=wanted.phone,
            language=wanted.language,
            via=BookingChannel.API,
        )
    except BookingError as error:
        raise _booking_error(error, service=wanted.service, language=wanted.language) from error
    return JsonResponse(_booking_json(booking, wanted.people, post.zone), status=201)


def _booking_post(slug: str | None) -> Post:
    """``_post`` for the booking itself, from the process's short-lived copy of the post and
    its services (``selectors.booking_post``): a booking at a release moment reads neither."""
    post = selectors.booking_post(slug or post_named() or settings.ACS_DEFAULT_POST)
    if post is not None:
        return post
    return _post(slug)  # the same 404s as every other endpoint


def _booking_limits(
    request: HttpRequest, data: dict | None, *, scope: str = "booking"
) -> list[ratelimit.Limit]:
    """Per client address (an IPv6 address counts for its /64) always; per email too when
    the body names one. ``scope`` names the counters, shared with the HTML pages'."""
    window = RATE_WINDOW
    address = ratelimit.address_group(ratelimit.client_address(request))
    limits = [
        ratelimit.Limit(f"{scope}-address", address, settings.ACS_BOOKING_RATE_PER_ADDRESS, window)
    ]
    email = data.get("email") if data is not None else None
    if isinstance(email, str) and email.strip():
        limit = settings.ACS_BOOKING_RATE_PER_EMAIL
        limits.append(ratelimit.Limit(f"{scope}-email", email, limit, window))
    return limits


def _posted(
    request: HttpRequest, scope: str, then: Callable[[dict, _Limits], JsonResponse]
) -> JsonResponse:
    """The front of every POST: the body, then ``then(data, limits)`` in the body's language.
    ``then`` spends the proof of work with the rate limits (``_Limits.spend``) once every
    field is checked; a refusal before that counts the limits alone, so that every attempt
    counts, even a body that is not JSON, and one over its limit is told that first.
    ``scope`` names the counters, shared with the pages that take the same thing."""
    data = _body(request)
    limits = _Limits(_booking_limits(request, data, scope=scope))
    if data is None:
        limits.count()
        raise ApiError(400, "invalid_json", _("The body must be a JSON object."))
    language = data.get("language") if data.get("language") in LANGUAGES else "en"
    with translation.override(language):
        try:
            return then(data, limits)
        except ApiError:
            limits.count()
            raise


@never_cache
@api_view("POST")
def bookings(request: HttpRequest, post: str | None = None) -> JsonResponse:
    """Book a slot: rate limits, the post, then every field, then the proof of work, then
    the seat. The service is looked up within the post, so a booking lands at that post."""
    return _posted(
        request, "booking", lambda data, limits: _book(data, limits, _booking_post(post))
    )


@never_cache
@api_view("POST")
def round_requests(request: HttpRequest, post: str, slug: str) -> JsonResponse:
    """Ask for a seat in the service's open request round: the same rate limits (counted
    apart, as on the request page), then every field, then the proof of work, then the
    request. It takes part in the draw once the link emailed to ``email`` is followed."""
    return _posted(
        request,
        "round-request",
        lambda data, limits: _request(data, limits, _booking_post(post), slug),
    )


def _request(data: dict, limits: _Limits, post: Post, slug: str) -> JsonResponse:
    service = selectors.service_get(post=post, slug=slug)
    if service is None or not service.by_request:
        raise ApiError(404, "unknown_service", _("This service takes no requests for a draw."))
    round_, days = selectors.round_open_with_days(service)
    if round_ is None:
        opens = rounds.next_opening(service, after=clock.now())
        raise ApiError(
            409,
            "no_open_round",
            _("No round is taking requests now."),
            next_opens=opens.astimezone(post.zone).isoformat(),
        )
    wanted = _checked(
        lambda: round_request_parse(
            data, service=service, days=days, most_choices=rounds.MAX_CHOICES
        )
    )
    limits.spend(data.get("altcha"))
    try:
        made = rounds.request_create(
            round_=round_,
            people=wanted.people,
            email=wanted.email,
            phone=wanted.phone,
            choices=wanted.choices,
            language=wanted.language,
        )
    except rounds.RoundError as error:
        raise ApiError(409 if error.code == "closed" else 400, error.code, error.message) from error
    return JsonResponse(_request_json(made, round_, wanted, post), status=202)


def _request_json(made, round_, wanted, post: Post) -> dict:
    """What the caller sent, the round, and what happens next; never the request's token,
    which only the emailed link carries (the email is what proves the address)."""
    return {
        "status": "unconfirmed",
        "email": made.email,
        "people": [{"full_name": person.full_name.strip()} for person in wanted.people],
        "choices": [
            {"day": day, "part": part}
            for day, _slash, part in (choice.partition("/") for choice in made.choices)
        ],
        "round": {
            "closes": round_.closes_at.astimezone(post.zone).isoformat(),
            "first_day": round_.first_day.isoformat(),
            "last_day": round_.last_day.isoformat(),
            "commitment": round_.commitment,
            "url": _round_url(round_.token, wanted.language, post.slug),
        },
    }


@lru_cache(maxsize=256)
def _round_url(token: str, language: str, post: str) -> str:
    """A round page's path, made once per process: at a round's busiest moment each answer
    names the same page, and making it afresh was a thirtieth of the request's CPU."""
    with translation.override(language), post_override(post):
        return reverse("appointments:round", kwargs={"token": token})


@api_view("GET")
def problem(request: HttpRequest, code: str) -> JsonResponse:
    """What a problem ``type`` means: the URI every error's ``type`` names resolves here."""
    description = openapi_document.ERROR_CODES.get(code)
    if description is None:
        raise ApiError(404, "not_found", _("There is nothing at this address."))
    return JsonResponse(
        {"type": f"{PREFIX}/problems/{code}", "code": code, "title": description.replace("`", "")}
    )


@api_view("GET")
def openapi(request: HttpRequest) -> JsonResponse:
    return JsonResponse(openapi_document.document())
