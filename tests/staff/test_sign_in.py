"""Staff reach the back office only with a password and a TOTP code; repeated failures lock."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django_otp.oath import totp

from acs.staff.services import staff_user_create

pytestmark = pytest.mark.django_db

LOGIN = "/staff/admin/login/"


@pytest.fixture
def officer():
    return staff_user_create(username="officer", email="o@example.org", superuser=True)


def current_code(creds):
    device = creds.user.totpdevice_set.get()
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def sign_in(client, creds, code):
    data = {"username": creds.user.username, "password": creds.password, "next": "/staff/admin/"}
    if code is not None:
        data["otp_token"] = code
    return client.post(LOGIN, data)


def test_password_and_current_code_open_the_back_office(client, officer):
    response = sign_in(client, officer, current_code(officer))
    assert response.status_code == 302
    assert response["Location"] == "/staff/admin/"
    index = client.get("/staff/admin/")
    assert index.status_code == 200
    assert "ACS Portal — staff" in index.content.decode()


def test_missing_second_factor_is_refused(client, officer):
    response = sign_in(client, officer, None)
    assert response.status_code == 200
    assert "Please enter your OTP token" in response.content.decode()
    assert client.get("/staff/admin/").status_code == 302


def test_wrong_second_factor_is_refused(client, officer):
    good = current_code(officer)
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    response = sign_in(client, officer, wrong)
    assert response.status_code == 200
    assert "Invalid token" in response.content.decode()
    assert client.get("/staff/admin/").status_code == 302


def test_wrong_password_is_refused(client, officer):
    response = client.post(
        LOGIN, {"username": "officer", "password": "not-it", "otp_token": current_code(officer)}
    )
    assert response.status_code == 200
    assert client.get("/staff/admin/").status_code == 302


def test_staff_without_a_device_cannot_get_in(client, officer):
    officer.user.totpdevice_set.all().delete()
    response = sign_in(client, officer, "123456")
    assert response.status_code == 200
    assert client.get("/staff/admin/").status_code == 302


def test_repeated_failures_lock_the_account_out(client, officer, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(LOGIN, {"username": "officer", "password": "wrong", "otp_token": "000000"})
    # Even the right password and code are refused now.
    response = sign_in(client, officer, current_code(officer))
    assert response.status_code == 429
    assert "locked" in response.content.decode()
    assert client.get("/staff/admin/").status_code == 302


def staff_urls():
    """Every URL pattern under /staff/, with sample arguments filled in."""

    def walk(patterns, prefix):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                yield prefix + str(entry.pattern)

    found = set()
    for route in walk(get_resolver().url_patterns, "/"):
        if not route.startswith("/staff/"):
            continue
        path = re.sub(r"\(\?P<app_label>([^|)]+)[^)]*\)", r"\1", route)  # first app
        path = re.sub(r"\(\?P<\w+>[^)]*\)", "sample", path)  # other regex groups
        path = re.sub(r"<(?:\w+:)?\w+>", "1", path)  # converters
        found.add(path.replace("^", "").replace("$", "").replace("\\Z", ""))
    return sorted(found)


OPEN_WITHOUT_SIGN_IN = {"/staff/admin/login/", "/staff/admin/logout/"}


def test_url_walk_finds_the_back_office():
    urls = staff_urls()
    assert "/staff/" in urls
    assert "/staff/admin/posts/post/" in urls
    assert len(urls) > 20


@pytest.mark.parametrize("path", [u for u in staff_urls() if u not in OPEN_WITHOUT_SIGN_IN])
def test_every_staff_url_needs_sign_in_and_second_factor(client, officer, path):
    # Anonymous: sent to sign in.
    anonymous = client.get(path)
    assert anonymous.status_code == 302, path
    assert "/staff/admin/login/" in anonymous["Location"]
    # Signed in with the password only (no verified device): still not in.
    client.force_login(officer.user)
    half = client.get(path)
    assert half.status_code in (302, 404), path
    if half.status_code == 302:
        assert "/staff/admin/login/" in half["Location"]
