"""The OpenAPI 3.1 description of the JSON API, written by hand next to the views it describes.

A test walks ``acs.api.urls`` and fails for any route missing here. A post's resources are
described once and listed twice: under ``posts/{post}/`` and, deprecated, at the older paths
that answer for the default post.
"""

from __future__ import annotations

from typing import Any

PREFIX = "/api/v1"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    """An error response: RFC 9457 problem details (``acs.core.problems``)."""
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": _ref("Problem")}},
    }


ERROR_CODES = {
    "invalid_lang": "`lang` is not `en` or `es`.",
    "invalid_country": "`country` is not an assigned ISO 3166-1 alpha-2 country code.",
    "invalid_query": "`q` is longer than 100 characters.",
    "unknown_post": "No post has this slug; `post` repeats it.",
    "invalid_date": "`from` is not a date (YYYY-MM-DD).",
    "invalid_days": "`days` is not a whole number from 1 to 92.",
    "unknown_service": "No bookable service has this slug.",
    "not_found": "Nothing at this address: an unknown path, or (the older paths without a "
    "post) a site with no default post configured.",
    "forbidden": "Not allowed.",
    "server_error": "Something went wrong on the server; try again later.",
    "too_large": "The body is larger than the server reads (2.5 MB).",
    "bad_request": "The request could not be read (too many fields, a malformed body).",
    "method_not_allowed": "The method is not allowed on this path.",
    "invalid_json": "The body is not a JSON object.",
    "invalid_fields": "One or more fields are wrong; see `fields`.",
    "rate_limited": "Too many attempts from this address or for this email in the hour.",
    "pow_missing": "No proof-of-work solution (`altcha`) was sent.",
    "pow_invalid": "The proof-of-work solution is wrong or expired.",
    "pow_replayed": "The proof-of-work solution was already used.",
    "not_offered": "The service does not offer that start time.",
    "taken": "The slot has no seats left for this many people; see `nearest`.",
    "already_booked": "One of these people already holds a booking for this service.",
    "already_held": "A seat of this service is held for one of these people, waiting for the "
    "link emailed to confirm it.",
    "duplicate_person": "The same person is listed twice.",
    "people_count": "Too many or too few people for one booking or request.",
    "no_open_round": "The service takes requests, but no round is open now; see `next_opens`.",
    "closed": "The round stopped taking requests while this one was being checked.",
    "choices": "A choice is not one of the round's days and times.",
    "by_request": "The service gives its seats by request rounds; see `request_url`.",
}

FIELD_CODES = [
    "required",
    "invalid",
    "too_long",
    "unknown_service",
    "benefits_ack_required",
    "invalid_start",
    "people_count",
    "invalid_date",
    "future_date",
    "invalid_passport",
    "invalid_email",
    "invalid_phone",
    "invalid_language",
    "too_many_choices",
    "invalid_day",
    "invalid_part",
]

_EXTENSIONS: dict[str, Any] = {
    "fields": {
        "type": "object",
        "description": "With `invalid_fields`: one entry per wrong field, "
        "named by its path, such as `people[0].date_of_birth`.",
        "additionalProperties": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "enum": FIELD_CODES},
                "message": {"type": "string"},
            },
        },
    },
    "post": {
        "type": "string",
        "description": "With `unknown_post`: the slug that was not found.",
    },
    "next_opens": {
        "type": "string",
        "format": "date-time",
        "description": "With `no_open_round`: when the next round opens, in the post's time zone.",
    },
    "nearest": {
        "type": "array",
        "description": "With `taken`: the closest free start times.",
        "items": _ref("SlotKey"),
    },
    "request_url": {
        "type": "string",
        "description": "With `by_request`: the service's request form.",
    },
}
_CODE = {
    "type": "string",
    "enum": list(ERROR_CODES),
    "description": "Stable; branch on it. "
    + " ".join(f"`{code}`: {text}" for code, text in ERROR_CODES.items()),
}

SCHEMAS: dict[str, Any] = {
    "Problem": {
        "type": "object",
        "description": "Every error, as RFC 9457 problem details "
        "(`Content-Type: application/problem+json`).",
        "required": ["type", "title", "status", "detail", "code"],
        "properties": {
            "type": {
                "type": "string",
                "description": "`/api/v1/problems/<code>`: what this kind of problem means.",
            },
            "title": {"type": "string", "description": "The kind of problem, in English."},
            "status": {"type": "integer", "description": "The HTTP status, repeated."},
            "detail": {"type": "string", "description": "For people; translated."},
            "code": _CODE,
            **_EXTENSIONS,
            "error": {
                "type": "object",
                "deprecated": True,
                "description": "The shape of errors before problem details: `code`, "
                "`message` (as `detail`) and the same extension members.",
                "required": ["code", "message"],
                "properties": {"code": _CODE, "message": {"type": "string"}, **_EXTENSIONS},
            },
        },
    },
    "ProblemType": {
        "type": "object",
        "required": ["type", "code", "title"],
        "properties": {
            "type": {"type": "string"},
            "code": {"type": "string"},
            "title": {"type": "string"},
        },
    },
    "SlotKey": {
        "type": "string",
        "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}Z$",
        "description": "A slot's start in UTC, minutes precision; send it back as `start`.",
        "examples": ["2025-03-04T13:00Z"],
    },
    "Service": {
        "type": "object",
        "required": ["slug", "name", "duration_minutes", "seats_per_slot", "max_people"],
        "properties": {
            "slug": {"type": "string"},
            "name": {"type": "string"},
            "duration_minutes": {"type": "integer", "minimum": 5},
            "seats_per_slot": {"type": "integer", "minimum": 1},
            "max_people": {"type": "integer", "minimum": 1, "maximum": 10},
            "horizon_days": {"type": "integer", "minimum": 1},
            "requires_benefits_ack": {
                "type": "boolean",
                "description": "Bookings must then send `benefits_ack: true`.",
            },
        },
    },
    "Post": {
        "type": "object",
        "required": [
            "slug",
            "name",
            "city",
            "country_code",
            "country",
            "time_zone",
            "emergency_phone",
            "urls",
        ],
        "properties": {
            "slug": {"type": "string", "examples": ["lima"]},
            "name": {"type": "string", "description": "In the language asked for (`lang`)."},
            "city": {"type": "string"},
            "country_code": {
                "type": "string",
                "pattern": "^[A-Z]{2}$",
                "description": "ISO 3166-1 alpha-2.",
                "examples": ["PE"],
            },
            "country": {"type": "string", "description": "The country's name, in `lang`."},
            "time_zone": {"type": "string", "examples": ["America/Lima"]},
            "emergency_phone": {
                "type": "string",
                "description": "The after-hours emergency hotline for U.S. citizens, E.164.",
                "examples": ["+5116182000"],
            },
            "urls": {
                "type": "object",
                "description": "Paths on this host of the post's resources.",
                "required": ["self", "services", "bookings"],
                "properties": {
                    "self": {"type": "string"},
                    "services": {"type": "string"},
                    "bookings": {"type": "string"},
                },
            },
        },
    },
    "PostList": {
        "type": "object",
        "required": ["posts"],
        "properties": {
            "posts": {
                "type": "array",
                "description": "By country code, then city.",
                "items": _ref("Post"),
            }
        },
    },
    "ServiceList": {
        "type": "object",
        "required": ["post", "time_zone", "services"],
        "properties": {
            "post": {"type": "string"},
            "time_zone": {"type": "string", "examples": ["America/Lima"]},
            "services": {"type": "array", "items": _ref("Service")},
        },
    },
    "Availability": {
        "type": "object",
        "required": ["service", "time_zone", "days"],
        "properties": {
            "service": {"type": "string"},
            "time_zone": {"type": "string", "description": "The post's IANA zone."},
            "days": {
                "type": "array",
                "description": "Days with at least one offered slot, in order.",
                "items": {
                    "type": "object",
                    "required": ["date", "slots"],
                    "properties": {
                        "date": {"type": "string", "format": "date"},
                        "slots": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["start", "local", "free"],
                                "properties": {
                                    "start": _ref("SlotKey"),
                                    "local": {
                                        "type": "string",
                                        "format": "date-time",
                                        "description": "Local start with the UTC offset.",
                                    },
                                    "free": {"type": "integer", "minimum": 0},
                                },
                            },
                        },
                    },
                },
            },
        },
    },
    "Challenge": {
        "type": "object",
        "required": ["challenge", "required"],
        "properties": {
            "challenge": {
                "type": "object",
                "description": "An ALTCHA v1 challenge. Find `number` such that "
                "SHA-256(salt + number) = challenge, then send base64(JSON of algorithm, "
                "challenge, number, salt, signature) as `altcha`.",
                "required": ["algorithm", "challenge", "maxnumber", "salt", "signature"],
                "properties": {
                    "algorithm": {"type": "string", "examples": ["SHA-256"]},
                    "challenge": {"type": "string"},
                    "maxnumber": {"type": "integer"},
                    "salt": {"type": "string"},
                    "signature": {"type": "string"},
                },
            },
            "required": {
                "type": "boolean",
                "description": "Whether bookings are refused without a solution.",
            },
        },
    },
    "Person": {
        "type": "object",
        "required": ["full_name", "date_of_birth"],
        "properties": {
            "full_name": {"type": "string", "maxLength": 150},
            "date_of_birth": {"type": "string", "format": "date"},
            "passport_number": {
                "type": "string",
                "description": "Optional: 9 digits, or 1 letter and 8 digits.",
            },
        },
    },
    "BookingRequest": {
        "type": "object",
        "required": ["service", "start", "people", "email", "phone", "altcha"],
        "properties": {
            "service": {"type": "string", "description": "A service's slug."},
            "start": _ref("SlotKey"),
            "people": {"type": "array", "minItems": 1, "maxItems": 10, "items": _ref("Person")},
            "email": {"type": "string", "format": "email"},
            "phone": {
                "type": "string",
                "description": "International form, or national form of the post's country.",
            },
            "language": {"type": "string", "enum": ["en", "es"], "default": "en"},
            "benefits_ack": {
                "type": "boolean",
                "description": "Required (true) for services with `requires_benefits_ack`.",
            },
            "altcha": {"type": "string", "description": "The solved challenge, base64."},
        },
    },
    "RoundRequest": {
        "type": "object",
        "required": ["people", "email", "phone", "choices", "altcha"],
        "properties": {
            "people": {"type": "array", "minItems": 1, "maxItems": 10, "items": _ref("Person")},
            "email": {
                "type": "string",
                "format": "email",
                "description": "The request takes part in the draw once the link emailed "
                "here is followed.",
            },
            "phone": {
                "type": "string",
                "description": "International form, or national form of the post's country.",
            },
            "language": {"type": "string", "enum": ["en", "es"], "default": "en"},
            "choices": {
                "type": "array",
                "minItems": 1,
                "maxItems": 5,
                "description": "Acceptable days and parts of the day, best first.",
                "items": _ref("Choice"),
            },
            "altcha": {"type": "string", "description": "The solved challenge, base64."},
        },
    },
    "Choice": {
        "type": "object",
        "required": ["day"],
        "properties": {
            "day": {"type": "string", "format": "date", "description": "A day of the round."},
            "part": {"type": "string", "enum": ["any", "am", "pm"], "default": "any"},
        },
    },
    "RoundRequestTaken": {
        "type": "object",
        "required": ["status", "email", "people", "choices", "round"],
        "properties": {
            "status": {"type": "string", "enum": ["unconfirmed"]},
            "email": {"type": "string"},
            "people": {
                "type": "array",
                "items": {"type": "object", "properties": {"full_name": {"type": "string"}}},
            },
            "choices": {"type": "array", "items": _ref("Choice")},
            "round": {
                "type": "object",
                "properties": {
                    "closes": {"type": "string", "format": "date-time"},
                    "first_day": {"type": "string", "format": "date"},
                    "last_day": {"type": "string", "format": "date"},
                    "commitment": {
                        "type": "string",
                        "description": "SHA-256 of the draw's secret seed, published at "
                        "the opening; the seed is published at the draw.",
                    },
                    "url": {"type": "string", "description": "The round's public page."},
                },
            },
        },
    },
    "Booking": {
        "type": "object",
        "required": ["code", "manage_token", "service", "start", "local", "people"],
        "properties": {
            "code": {"type": "string", "examples": ["K7QM-3XZP"]},
            "manage_token": {
                "type": "string",
                "description": "Secret; unlocks the booking's page. Keep it private.",
            },
            "service": {"type": "string"},
            "start": _ref("SlotKey"),
            "local": {"type": "string", "format": "date-time"},
            "people": {
                "type": "array",
                "items": {"type": "object", "properties": {"full_name": {"type": "string"}}},
            },
        },
    },
}

LANG = {
    "name": "lang",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "enum": ["en", "es"], "default": "en"},
}

POST = {
    "name": "post",
    "in": "path",
    "required": True,
    "description": "A post's slug, as `GET /posts` lists them.",
    "schema": {"type": "string"},
}

UNKNOWN_POST = _error("`unknown_post`, with `post`.")
NO_DEFAULT_POST = _error("`not_found`: the site has no default post.")

DEPRECATED = (
    "Deprecated: the default post's (`ACS_DEFAULT_POST`), answered directly with no "
    "redirect. Use the same path under `/posts/{post}`."
)


def _services_list() -> dict[str, Any]:
    return {
        "summary": "The bookable services of a post",
        "parameters": [LANG],
        "responses": {
            "200": _json(_ref("ServiceList"), "The services, in display order."),
            "400": _error("`invalid_lang`."),
        },
    }


def _availability() -> dict[str, Any]:
    return {
        "summary": "Offered slots and their free seats, day by day",
        "description": "The service is looked up within the post: another post's service "
        "is `unknown_service`.",
        "parameters": [
            {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}},
            {
                "name": "from",
                "in": "query",
                "required": False,
                "description": "First local day; defaults to today in the post's zone.",
                "schema": {"type": "string", "format": "date"},
            },
            {
                "name": "days",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 1, "maximum": 92, "default": 60},
            },
        ],
        "responses": {
            "200": _json(_ref("Availability"), "Slots within the service's horizon."),
            "400": _error("`invalid_date` or `invalid_days`."),
            "404": _error("`unknown_service`."),
        },
    }


def _booking_create() -> dict[str, Any]:
    return {
        "summary": "Book a slot for one to `max_people` people",
        "description": "Rate-limited per client address and per email. Fields are "
        "checked first (a correctable mistake does not spend the proof of work), then "
        "the proof of work, then the seat, under a lock. `service` is looked up within "
        "the post: another post's service is the field error `unknown_service`.",
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _ref("BookingRequest")}},
        },
        "responses": {
            "201": _json(_ref("Booking"), "Booked; a confirmation email is on its way."),
            "400": _error(
                "`invalid_json`, `invalid_fields`, `pow_missing`, `pow_invalid`, "
                "`pow_replayed`, `not_offered`, `already_booked`, `already_held`, "
                "`duplicate_person`, `people_count`."
            ),
            "409": _error("`taken`, with `nearest`."),
            "429": _error("`rate_limited`; see the Retry-After header."),
        },
    }


def _round_request_create() -> dict[str, Any]:
    return {
        "summary": "Ask for a seat in a service's open request round",
        "description": "For services given by request rounds: requests are collected while "
        "a round is open and seats are drawn at random when it closes. The same rate limits "
        "as the request page, per client address and per email; fields are checked first, "
        "then the proof of work. The request counts in the draw only once the link emailed "
        "to `email` is followed; a later confirmed request for the same person replaces it.",
        "parameters": [
            {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}
        ],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _ref("RoundRequest")}},
        },
        "responses": {
            "202": _json(_ref("RoundRequestTaken"), "Taken; the confirmation email is on its way."),
            "400": _error(
                "`invalid_json`, `invalid_fields`, `pow_missing`, `pow_invalid`, "
                "`pow_replayed`, `already_booked`, `duplicate_person`, `people_count`."
            ),
            "404": _error("`unknown_service`: no service of the post takes requests by that name."),
            "409": _error("`no_open_round`, with `next_opens`; or `closed`."),
            "429": _error("`rate_limited`; see the Retry-After header."),
        },
    }


def _scoped(operation: dict[str, Any], operation_id: str) -> dict[str, Any]:
    """The operation under ``/posts/{post}``: the post is a path parameter and may be unknown."""
    responses = {**operation["responses"], "404": _merge_404(operation, UNKNOWN_POST)}
    return {
        **operation,
        "operationId": operation_id,
        "parameters": [POST, *operation.get("parameters", [])],
        "responses": responses,
    }


def _default(operation: dict[str, Any], operation_id: str) -> dict[str, Any]:
    """The operation at its older path, for the default post; deprecated."""
    responses = {**operation["responses"], "404": _merge_404(operation, NO_DEFAULT_POST)}
    description = " ".join(filter(None, [DEPRECATED, operation.get("description")]))
    return {
        **operation,
        "operationId": operation_id,
        "deprecated": True,
        "description": description,
        "responses": responses,
    }


def _merge_404(operation: dict[str, Any], error: dict[str, Any]) -> dict[str, Any]:
    """One 404 response naming every code it may carry."""
    existing = operation["responses"].get("404")
    if existing is None:
        return error
    both = f"{existing['description'].rstrip('.')}, or {error['description']}"
    return {**error, "description": both}


POSTS_LIST = {
    "operationId": "posts_list",
    "summary": "Every post: embassies and consulates, by country code then city",
    "parameters": [
        LANG,
        {
            "name": "country",
            "in": "query",
            "required": False,
            "description": "Only this country's posts (an assigned ISO 3166-1 alpha-2 "
            "code, any case; `invalid_country` for an unassigned one); a country with no post "
            "gives an empty list, and an empty value is no filter.",
            "schema": {"type": "string", "pattern": "^([A-Za-z]{2})?$"},
        },
        {
            "name": "q",
            "in": "query",
            "required": False,
            "description": "Only posts whose name (English or Spanish) or city contains it.",
            "schema": {"type": "string", "maxLength": 100},
        },
    ],
    "responses": {
        "200": _json(_ref("PostList"), "The posts; an empty list when none matches."),
        "400": _error("`invalid_lang`, `invalid_country` or `invalid_query`."),
    },
}

POST_GET = {
    "operationId": "post_get",
    "summary": "One post",
    "parameters": [POST, LANG],
    "responses": {
        "200": _json(_ref("Post"), "The post."),
        "400": _error("`invalid_lang`."),
        "404": UNKNOWN_POST,
    },
}

PATHS: dict[str, Any] = {
    f"{PREFIX}/posts": {"get": POSTS_LIST},
    f"{PREFIX}/posts/{{post}}": {"get": POST_GET},
    f"{PREFIX}/posts/{{post}}/services": {"get": _scoped(_services_list(), "services_list")},
    f"{PREFIX}/posts/{{post}}/services/{{slug}}/availability": {
        "get": _scoped(_availability(), "availability_get")
    },
    f"{PREFIX}/posts/{{post}}/bookings": {"post": _scoped(_booking_create(), "booking_create")},
    f"{PREFIX}/posts/{{post}}/services/{{slug}}/requests": {
        "post": _scoped(_round_request_create(), "round_request_create")
    },
    f"{PREFIX}/pow/challenge": {
        "get": {
            "operationId": "pow_challenge_get",
            "summary": "A fresh proof-of-work challenge for one booking, at any post",
            "responses": {"200": _json(_ref("Challenge"), "Solve it within 20 minutes.")},
        }
    },
    f"{PREFIX}/problems/{{code}}": {
        "get": {
            "operationId": "problem_get",
            "summary": "What a problem `type` means",
            "parameters": [
                {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {
                "200": _json(_ref("ProblemType"), "The kind of problem."),
                "404": _error("`not_found`: no such kind of problem."),
            },
        }
    },
    f"{PREFIX}/openapi.json": {
        "get": {
            "operationId": "openapi_get",
            "summary": "This document",
            "responses": {"200": {"description": "OpenAPI 3.1 JSON."}},
        }
    },
    f"{PREFIX}/services": {"get": _default(_services_list(), "services_list_default_post")},
    f"{PREFIX}/services/{{slug}}/availability": {
        "get": _default(_availability(), "availability_get_default_post")
    },
    f"{PREFIX}/bookings": {"post": _default(_booking_create(), "booking_create_default_post")},
}


DEFAULT_ERROR = _error(
    "Any other error, as problem details: `not_found` for a path that does not exist, "
    "`method_not_allowed` (with `Allow`), `too_large`, `bad_request`, `server_error`."
)


_POST_OF_LIST = "$response.body#/posts/0/slug"
_POST_OF_PATH = "$request.path.post"
_FIRST_SERVICE = "$response.body#/services/0/slug"
# How a client goes from one answer to the next request (OpenAPI links): the posts, a post,
# its services, a service's availability or its round requests. Stateful fuzzing follows them.
LINKS: dict[str, dict[str, Any]] = {
    "posts_list": {
        "Post": {"operationId": "post_get", "parameters": {"post": _POST_OF_LIST}},
        "Services": {"operationId": "services_list", "parameters": {"post": _POST_OF_LIST}},
    },
    "post_get": {
        "Services": {"operationId": "services_list", "parameters": {"post": "$response.body#/slug"}}
    },
    "services_list": {
        "Availability": {
            "operationId": "availability_get",
            "parameters": {"post": _POST_OF_PATH, "slug": _FIRST_SERVICE},
        },
        "RoundRequest": {
            "operationId": "round_request_create",
            "parameters": {"post": _POST_OF_PATH, "slug": _FIRST_SERVICE},
        },
    },
    "availability_get": {
        "Booking": {"operationId": "booking_create", "parameters": {"post": _POST_OF_PATH}}
    },
}


def _operation_finished(operation: dict[str, Any]) -> dict[str, Any]:
    """Every operation also describes the errors any path may give, and its links."""
    responses = {**operation["responses"], "default": DEFAULT_ERROR}
    links = LINKS.get(operation.get("operationId", ""))
    if links:
        responses["200"] = {**responses["200"], "links": links}
    return {**operation, "responses": responses}


def _with_default_error(paths: dict[str, Any]) -> dict[str, Any]:
    return {
        path: {method: _operation_finished(operation) for method, operation in operations.items()}
        for path, operations in paths.items()
    }


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ACS Portal API",
            "version": "1",
            "description": "Appointments for American Citizen Services at the posts "
            "(embassies and consulates) this installation serves: list them at `/posts`, "
            "then use a post's resources under `/posts/{post}`. The older paths without a "
            "post answer for the default post and are deprecated. No cookies, no sessions: "
            "every request stands on its own. Every error is RFC 9457 problem details "
            "(`application/problem+json`) with a stable `code`; the older `error` member "
            "repeats it for clients written before.",
        },
        "paths": _with_default_error(PATHS),
        "components": {"schemas": SCHEMAS},
    }
