"""Private pages are never stored by a cache, staff sessions end when idle, and a production
configuration (``HTTPS=true``) sends secure cookies, HSTS and the https redirect (issue 14,
item 4)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import URLResolver, get_resolver

from acs.posts.routing import urlconf

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def _walk(patterns, prefix="/", namespaces=()):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = (*namespaces, entry.namespace) if entry.namespace else namespaces
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        else:
            yield prefix + str(entry.pattern), namespaces, tuple(entry.pattern.regex.groupindex)


SAMPLES = {"token": "x" * 20, "trip": "00000000-0000-4000-8000-000000000000"}


def _path(route: str, params: tuple[str, ...]) -> str | None:
    """A concrete path for ``route`` (a Django ``path()`` pattern), or None for a regex."""
    if "^" in route or "(?P" in route:
        return None
    for name in params:
        sample = SAMPLES.get(name, "1")
        if name.endswith("token") or name in ("contact", "public_id"):
            sample = SAMPLES["trip"] if "uuid" in route else SAMPLES["token"]
        for kind in ("str", "int", "slug", "uuid", "path"):
            route = route.replace(f"<{kind}:{name}>", sample)
    return route.replace("<lang>", "en")


def private_paths(lima) -> list[str]:
    """Every staff, account and personal-link route of Lima's URLconf, made concrete."""
    found = []
    with_lang = lambda route: route.replace("^", "")  # noqa: E731
    for route, namespaces, params in _walk(get_resolver(urlconf(lima.slug)).url_patterns):
        private = (
            route.startswith("/staff/")
            or {"staff", "posts", "admin", "enrollment"} & set(namespaces)
            or any(name.endswith("token") for name in params)
        )
        path = _path(with_lang(route), params) if private else None
        if path and not route.startswith("/staff/admin/"):
            found.append(path)
    return sorted(set(found))


def test_every_private_page_is_sent_with_no_store(lima):
    client = Client()  # the plain client: a refusal may have no page to check
    paths = private_paths(lima)
    # The walk found the three kinds: staff pages, account pages, personal links.
    assert any(p.startswith("/staff/") for p in paths)
    assert any("/enroll/account/" in p for p in paths)
    assert any("/appointments/manage/" in p for p in paths) and any("/m/" in p for p in paths)
    for path in paths:
        response = client.get(path)
        assert "no-store" in response.get("Cache-Control", ""), (path, response.status_code)
    for path in ("/staff/admin/login/", "/staff/admin/"):
        assert "no-store" in client.get(path).get("Cache-Control", ""), path


def test_public_pages_stay_cacheable(client, lima):
    for path in ("/en/lima/", "/en/lima/messages/", "/en/lima/appointments/"):
        response = client.get(path)
        assert response.status_code == 200
        assert "no-store" not in response.get("Cache-Control", ""), path


PROBE = r"""
import json, django
django.setup()
from django.conf import settings
from django.core.management import call_command
from django.test import Client, override_settings
# Production's hashed names (collectstatic must accept every vendored file), without the
# compression, which only costs time here.
hashed = {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"}
override_settings(STORAGES={**settings.STORAGES, "staticfiles": hashed}).enable()
call_command("collectstatic", "--noinput", verbosity=0)
client = Client()
plain = client.get("/en/")
secure = client.get("/staff/admin/login/", secure=True)
cookie = secure.cookies.get(settings.CSRF_COOKIE_NAME)
print(json.dumps({
    "redirect": [plain.status_code, plain.get("Location", "")],
    "hsts": secure.get("Strict-Transport-Security", ""),
    "csrf_secure": bool(cookie and cookie["secure"]),
    "session_secure": settings.SESSION_COOKIE_SECURE,
    "csrf_httponly": bool(cookie and cookie["httponly"]),
}))
"""


def test_production_settings_send_secure_cookies_hsts_and_redirect_to_https(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "acs.settings",
        "HTTPS": "true",
        "SECRET_KEY": "a-test-key-that-is-long-enough-for-the-deploy-check-0123456789",
        "ALLOWED_HOSTS": "testserver",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'probe.sqlite3'}",
        "ACS_VAR_DIR": str(tmp_path),
    }
    env.pop("DJANGO_TEST_PROCESSES", None)
    result = subprocess.run(  # noqa: S603 — this interpreter, running the script above
        [sys.executable, "-c", PROBE],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["redirect"] == [301, "https://testserver/en/"]
    assert found["hsts"].startswith("max-age=31536000") and "includeSubDomains" in found["hsts"]
    assert found["csrf_secure"] and found["csrf_httponly"] and found["session_secure"]
