"""How the API answers an error: RFC 9457 problem details, ``application/problem+json``.

Every error under ``/api/`` has this shape, whatever raised it (a view's refusal, a path no
pattern matches, a wrong method, a server error)::

    {"type": "/api/v1/problems/invalid_fields", "title": "One or more fields are wrong.",
     "status": 400, "detail": "Please correct the fields listed.", "code": "invalid_fields",
     "fields": {...}, "error": {"code": "invalid_fields", "message": "…", "fields": {...}}}

``type`` names the kind of problem and resolves to its description
(``GET /api/v1/problems/<code>``); ``code`` repeats its last part, the stable value to branch
on; ``detail`` is for people, in the request's language; extension members (``fields``,
``nearest``, …) depend on the code. ``error`` is the shape the API used before, kept whole
for the clients written against it (deprecated in the OpenAPI document).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.http import JsonResponse

CONTENT_TYPE = "application/problem+json"
TYPE_PREFIX = "/api/v1/problems/"


def problem_response(
    status: int, code: str, detail: str, *, title: str = "", **extra: Any
) -> JsonResponse:
    body = {
        "type": f"{TYPE_PREFIX}{code}",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": str(detail),
        "code": code,
        **extra,
        "error": {"code": code, "message": str(detail), **extra},
    }
    return JsonResponse(body, status=status, content_type=CONTENT_TYPE)
