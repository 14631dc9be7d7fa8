"""django-csp's middleware, with the header that every plain response gets built once.

The stock middleware builds the policy twice per response (the policy and the report-only
one), from the settings, whatever the response: at a round's busiest moment that was about a
twentieth of a request's CPU. A response that uses no nonce and no per-view override
(``csp_update`` and the like) always gets the same text, so it is kept per process, keyed by
the settings it came from (a test that changes them gets a new one). Everything else goes
through the stock code unchanged.
"""

from __future__ import annotations

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as StockCSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

_OVERRIDES = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_exempt",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
    "_csp_exempt_ro",
)
_built: dict[str, tuple[str, str]] = {}


def _plain_headers() -> tuple[str, str]:
    policy = getattr(settings, "CONTENT_SECURITY_POLICY", None)
    report_only = getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None)
    key = repr((policy, report_only))
    if key not in _built:
        _built[key] = (build_policy(), build_policy(report_only=True))
    return _built[key]


def _excluded(request: HttpRequest, name: str) -> bool:
    prefixes = (getattr(settings, name, None) or {}).get("EXCLUDE_URL_PREFIXES") or ()
    return request.path_info.startswith(tuple(prefixes))


class CSPMiddleware(StockCSPMiddleware):
    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        plain = getattr(request, "_csp_nonce", None) is None and not any(
            hasattr(response, name) for name in _OVERRIDES
        )
        if not plain or (settings.DEBUG and response.status_code in (404, 500)):
            return super().process_response(request, response)
        policy, report_only = _plain_headers()
        if policy and HEADER not in response and not _excluded(request, "CONTENT_SECURITY_POLICY"):
            response[HEADER] = policy
        if (
            report_only
            and HEADER_REPORT_ONLY not in response
            and not _excluded(request, "CONTENT_SECURITY_POLICY_REPORT_ONLY")
        ):
            response[HEADER_REPORT_ONLY] = report_only
        # As the stock middleware: a nonce asked for after the header is written is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response
