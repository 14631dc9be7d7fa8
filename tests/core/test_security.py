"""The security baseline: headers on every page, a clean deploy check with production settings."""

import os
import subprocess
import sys

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db

PRODUCTION_ENV = {
    "DEBUG": "false",
    "HTTPS": "true",
    "SECRET_KEY": "x" * 20 + "production-like-secret-for-the-deploy-check-" + "y" * 20,
    "ALLOWED_HOSTS": "acs.example.gov",
}


def run_manage(*args, env_extra, tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        # The browser tests allow Django in an event loop; a deployment never does.
        if key not in {"DEBUG", "HTTPS", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    env.update(env_extra)
    env["ACS_VAR_DIR"] = str(tmp_path)
    return subprocess.run(  # noqa: S603 — our own manage.py with fixed arguments
        [sys.executable, "manage.py", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING", env_extra=PRODUCTION_ENV, tmp_path=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_complains_about_the_demo_settings(tmp_path):
    demo = {"DEBUG": "true"}
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING", env_extra=demo, tmp_path=tmp_path
    )
    assert result.returncode != 0


def test_production_without_a_secret_key_refuses_to_start(tmp_path):
    env = {**PRODUCTION_ENV, "SECRET_KEY": ""}
    result = run_manage("check", env_extra=env, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_public_pages_carry_the_security_headers(client, lima):
    response = client.get("/en/lima/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_forms_are_csrf_protected(lima):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/en/lima/overseas-taxpayers/", {"filing_status": "single"})
    assert response.status_code == 403
    html = response.content.decode()
    assert 'class="usa-banner"' in html  # the styled 403 page


def test_403_page_in_spanish(lima):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/es/lima/overseas-taxpayers/", {})
    html = response.content.decode()
    assert response.status_code == 403
    assert '<html lang="es">' in html
    assert "no puede abrir esta página" in html


@pytest.mark.parametrize(
    ("language", "heading"),
    [
        ("en", "Something went wrong on our side"),
        ("es", "Algo salió mal de nuestra parte"),
    ],
)
def test_500_page_is_styled_in_both_languages(lima, language, heading):
    from django.test import Client
    from django.utils import translation

    client = Client(raise_request_exception=False)
    with override_settings(ROOT_URLCONF="tests.core.error_urls"), translation.override(language):
        response = client.get(f"/{language}/boom/")
    assert response.status_code == 500
    html = response.content.decode()
    assert heading in html
    assert 'class="usa-banner"' in html


def test_the_policy_built_once_is_the_stock_one_and_a_nonce_still_reaches_the_header(rf, settings):
    """acs.core.csp keeps the header of plain responses per process: the same text as
    django-csp builds, a new one when the settings change, and a response whose view used a
    nonce goes through django-csp and carries it."""
    from csp.constants import NONCE, SELF
    from csp.utils import build_policy
    from django.http import HttpResponse

    from acs.core.csp import CSPMiddleware

    plain = CSPMiddleware(lambda request: HttpResponse("plain"))
    assert plain(rf.get("/en/"))["Content-Security-Policy"] == build_policy()

    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"script-src": [SELF, NONCE]}}
    assert plain(rf.get("/en/"))["Content-Security-Policy"] == build_policy()

    def uses_nonce(request):
        return HttpResponse(f"<script nonce='{request.csp_nonce}'></script>")

    response = CSPMiddleware(uses_nonce)(rf.get("/en/"))
    nonce = response.content.decode().split("nonce='")[1].split("'")[0]
    assert f"script-src 'self' 'nonce-{nonce}'" in response["Content-Security-Policy"]
