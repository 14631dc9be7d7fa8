"""Citizen accounts through their pages: sign up, confirm the email, sign in with a password or
an emailed link, reset the password, sign out here or everywhere."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from acs.enrollment import identity
from acs.enrollment.models import Enrollee
from tests.conftest import CheckingClient

PASSWORD = "a long walk to Cusco at dawn"  # noqa: S105 - a test account's password
SIGN_UP = "/en/lima/enroll/sign-up/"
SIGN_IN = "/en/lima/enroll/sign-in/"
HOME = "/en/lima/enroll/account/"


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run on-commit work (the queued emails) when the block ends, as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def sign_up_data(**changes: str) -> dict[str, str]:
    data = {
        "full_name": "  Ana   María Quispe ",
        "date_of_birth_day": "19",
        "date_of_birth_month": "1",
        "date_of_birth_year": "1990",
        "status": "citizen",
        "email": "Ana.Quispe@Example.org",
        "language": "es",
        "password": PASSWORD,
        "password_again": PASSWORD,
    }
    return data | changes


def link_in(message, path_part: str) -> str:
    match = re.search(rf"https?://[^\s]+{path_part}[^\s]+/", message.body)
    assert match, message.body
    return re.sub(r"^https?://[^/]+", "", match.group(0))


def sign_up(client: Client, commit, **changes: str):
    with commit():
        return client.post(SIGN_UP, sign_up_data(**changes))


def test_sign_up_creates_an_unverified_account_and_emails_the_link_in_its_language(
    lima, client, commit
):
    response = sign_up(client, commit)
    assert response.status_code == 302
    assert response["Location"] == "/en/lima/enroll/check-email/"
    person = Enrollee.objects.get()
    assert person.email == "ana.quispe@example.org"
    assert person.full_name == "Ana María Quispe"
    assert person.email_verified_at is None
    assert person.password != PASSWORD and person.password.startswith("md5$")  # hashed
    [message] = mail.outbox
    assert message.to == ["ana.quispe@example.org"]
    # In the language chosen on the form (Spanish), whatever the page's language.
    assert message.subject == "Confirme su correo para terminar la inscripción"
    assert 'lang="es"' in message.alternatives[0][0]
    page = client.get("/en/lima/enroll/check-email/")
    assert "ana.quispe@example.org" in page.content.decode()


def test_account_pages_wait_for_the_verified_email(lima, client, commit):
    sign_up(client, commit)
    assert client.get(HOME)["Location"] == "/en/lima/enroll/check-email/"
    link = link_in(mail.outbox[0], "/verify/")
    response = client.get(link)
    assert response.status_code == 302
    assert Enrollee.objects.get().email_verified_at is not None
    assert client.get(link).status_code == 302  # opening it twice is harmless
    assert client.get("/en/lima/enroll/verify/not-a-token/").status_code == 404


def test_the_verification_email_can_be_sent_again(lima, client, commit):
    sign_up(client, commit)
    with commit():
        client.post("/en/lima/enroll/check-email/")
    assert len(mail.outbox) == 2
    assert link_in(mail.outbox[1], "/verify/")


def test_signing_up_twice_reveals_nothing_and_tells_the_owner(lima, client, commit):
    sign_up(client, commit)
    mail.outbox.clear()
    stranger = CheckingClient()
    response = sign_up(
        stranger,
        commit,
        full_name="Someone Else",
        password="another long one 123",
        password_again="another long one 123",
    )
    assert (
        response["Location"] == "/en/lima/enroll/check-email/"
    )  # the same answer as a new address
    assert Enrollee.objects.count() == 1
    assert Enrollee.objects.get().full_name == "Ana María Quispe"  # nothing changed
    [message] = mail.outbox
    assert message.to == ["ana.quispe@example.org"]
    assert "/enroll/sign-in/" in message.body
    assert stranger.get(HOME)["Location"].startswith(SIGN_IN)  # and no session for the stranger


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"full_name": ""}, "full_name", "Enter your full name."),
        ({"email": "not-an-address"}, "email", "Enter an email address like name@example.com."),
        ({"password_again": "something else entirely"}, "password_again", "not the same"),
        ({"password": "short", "password_again": "short"}, "password", "too short"),
        (
            {"date_of_birth_day": "31", "date_of_birth_month": "2"},
            "date_of_birth",
            "does not exist",
        ),
        ({"status": ""}, "status", "Choose whether"),
    ],
)
def test_bad_sign_up_answers_get_a_plain_message_and_save_nothing(
    lima, client, commit, changes, field, message
):
    response = sign_up(client, commit, **changes)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert f'id="id_{field}-error"' in response.content.decode()
    assert not Enrollee.objects.exists()
    assert not mail.outbox
    assert PASSWORD not in response.content.decode()  # a password is never echoed back


@pytest.fixture
def verified(lima, client, commit) -> Enrollee:
    sign_up(client, commit, language="en")
    client.get(link_in(mail.outbox[0], "/verify/"))
    client.post("/en/lima/enroll/sign-out/")
    mail.outbox.clear()
    return Enrollee.objects.get()


def test_sign_in_with_the_password(verified, client):
    response = client.post(SIGN_IN, {"email": "ANA.QUISPE@example.org", "password": PASSWORD})
    assert response["Location"] == HOME
    verified.refresh_from_db()
    assert verified.last_sign_in_at is not None


def test_a_wrong_password_or_an_unknown_email_gets_the_same_answer(verified, client):
    wrong = client.post(SIGN_IN, {"email": "ana.quispe@example.org", "password": "nope nope nope"})
    unknown = client.post(SIGN_IN, {"email": "nobody@example.org", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 400
    text = "That email and password do not match an account."
    assert text in wrong.content.decode() and text in unknown.content.decode()
    assert client.get(HOME).status_code == 302


def test_sign_in_returns_to_the_page_asked_for_but_never_to_another_site(verified, client):
    page = client.get(HOME)
    assert page["Location"] == f"{SIGN_IN}?next=/en/lima/enroll/account/"
    data = {"email": "ana.quispe@example.org", "password": PASSWORD}
    assert client.post(f"{SIGN_IN}?next=/en/lima/enroll/account/security/", data)["Location"] == (
        "/en/lima/enroll/account/security/"
    )
    client.post("/en/lima/enroll/sign-out/")
    assert client.post(f"{SIGN_IN}?next=https://evil.example/", data)["Location"] == HOME


def test_sign_in_attempts_are_limited(verified, client, settings):
    settings.ACS_ACCOUNT_RATE_PER_EMAIL = 3
    data = {"email": "ana.quispe@example.org", "password": "wrong wrong wrong"}
    for _attempt in range(3):
        assert client.post(SIGN_IN, data).status_code == 400
    blocked = client.post(SIGN_IN, data | {"password": PASSWORD})
    assert blocked.status_code == 429
    assert client.get(HOME).status_code == 302  # not signed in


def test_the_emailed_sign_in_link_works_once_and_only_by_its_button(verified, client, commit):
    with commit():
        response = client.post("/en/lima/enroll/sign-in/link/", {"email": "ana.quispe@example.org"})
    assert "If <strong>ana.quispe@example.org</strong> has an account" in response.content.decode()
    link = link_in(mail.outbox[0], "/sign-in/link/")
    page = client.get(link)  # what a mail scanner does: it must not sign in
    assert page.status_code == 200
    assert client.get(HOME).status_code == 302
    assert client.post(link)["Location"] == HOME
    assert client.get(HOME).status_code == 200
    other = CheckingClient()
    assert other.post(link).status_code == 404  # spent
    assert other.get(HOME).status_code == 302


def test_a_sign_in_link_for_an_unknown_address_sends_nothing_and_says_the_same(
    lima, client, commit
):
    with commit():
        response = client.post("/en/lima/enroll/sign-in/link/", {"email": "nobody@example.org"})
    assert response.status_code == 200
    assert "has an account, we sent it a link" in response.content.decode()
    assert not mail.outbox


def test_password_reset_changes_the_password_and_ends_other_sessions(verified, commit):
    phone = CheckingClient()
    phone.post(SIGN_IN, {"email": "ana.quispe@example.org", "password": PASSWORD})
    assert phone.get(HOME).status_code == 200
    laptop = CheckingClient()
    with commit():
        laptop.post("/en/lima/enroll/password/forgot/", {"email": "ana.quispe@example.org"})
    link = link_in(mail.outbox[0], "/password/reset/")
    new = "a brand new passphrase for Lima"
    refused = laptop.post(link, {"password": new, "password_again": "different"})
    assert refused.status_code == 400
    with commit():
        response = laptop.post(link, {"password": new, "password_again": new})
    assert response["Location"] == HOME
    assert laptop.get(HOME).status_code == 200
    assert phone.get(HOME).status_code == 302  # signed out by the change
    assert laptop.post(link, {"password": PASSWORD, "password_again": PASSWORD}).status_code == 404
    assert mail.outbox[-1].subject == "Your password was changed"
    assert laptop.post("/en/lima/enroll/sign-out/").status_code == 302
    assert (
        laptop.post(SIGN_IN, {"email": "ana.quispe@example.org", "password": new})["Location"]
        == HOME
    )


def test_sign_out_everywhere_ends_every_session(verified):
    devices = [CheckingClient() for _ in range(3)]
    for device in devices:
        device.post(SIGN_IN, {"email": "ana.quispe@example.org", "password": PASSWORD})
        assert device.get(HOME).status_code == 200
    response = devices[0].post("/en/lima/enroll/account/sign-out-everywhere/", {"keep_this": "1"})
    assert response["Location"] == "/en/lima/enroll/account/security/"
    assert devices[0].get(HOME).status_code == 200
    assert devices[1].get(HOME).status_code == 302
    devices[2].post(SIGN_IN, {"email": "ana.quispe@example.org", "password": PASSWORD})
    devices[2].post("/en/lima/enroll/account/sign-out-everywhere/")
    assert devices[2].get(HOME).status_code == 302
    assert devices[0].get(HOME).status_code == 302


def test_changing_the_password_needs_the_current_one(verified, client, commit):
    client.post(SIGN_IN, {"email": "ana.quispe@example.org", "password": PASSWORD})
    new = "rain over the Andes tonight"
    wrong = client.post(
        "/en/lima/enroll/account/password/",
        {"current_password": "guess guess guess", "password": new, "password_again": new},
    )
    assert wrong.status_code == 400
    assert "That is not your current password." in wrong.content.decode()
    with commit():
        ok = client.post(
            "/en/lima/enroll/account/password/",
            {"current_password": PASSWORD, "password": new, "password_again": new},
        )
    assert ok["Location"] == "/en/lima/enroll/account/security/"
    assert client.get(HOME).status_code == 200  # this session stays
    verified.refresh_from_db()
    assert identity.PasswordProvider.authenticate(email=verified.email, password=new)


def test_a_staff_session_and_a_citizen_session_do_not_mix(verified, client):
    from django.contrib.auth import get_user

    client.post(SIGN_IN, {"email": "ana.quispe@example.org", "password": PASSWORD})
    request = type("R", (), {"session": client.session})()
    assert not get_user(request).is_authenticated  # no staff user came with the citizen


def test_sign_in_links_and_forms_work_in_spanish(lima, client, commit):
    page = client.get("/es/lima/enroll/sign-in/")
    assert page.status_code == 200
    assert 'lang="es"' in page.content.decode()


def test_wrong_passwords_from_elsewhere_never_lock_the_owner_out(verified, settings):
    """Issue 14: an attacker typing wrong passwords against a citizen's email uses up only
    their own allowance; the owner, from their own address, signs in with the password, and
    can still ask for the emailed link."""
    settings.ACS_ACCOUNT_RATE_PER_EMAIL = 3
    attacker = CheckingClient(REMOTE_ADDR="203.0.113.9")
    data = {"email": "ana.quispe@example.org", "password": "wrong wrong wrong"}
    for _attempt in range(3):
        assert attacker.post(SIGN_IN, data).status_code == 400
    assert attacker.post(SIGN_IN, data).status_code == 429
    for _attempt in range(3):
        attacker.post("/en/lima/enroll/sign-in/link/", {"email": "ana.quispe@example.org"})
    assert (
        attacker.post(
            "/en/lima/enroll/sign-in/link/", {"email": "ana.quispe@example.org"}
        ).status_code
        == 429
    )
    owner = CheckingClient(REMOTE_ADDR="198.51.100.20")
    link = owner.post("/en/lima/enroll/sign-in/link/", {"email": "ana.quispe@example.org"})
    assert link.status_code == 200
    assert owner.post(SIGN_IN, data | {"password": PASSWORD})["Location"] == HOME


def test_an_ipv6_network_counts_as_one_client(verified, settings):
    """A bot with a /64 has millions of addresses; they share one allowance."""
    settings.ACS_ACCOUNT_RATE_PER_ADDRESS = 2
    data = {"email": "someone@example.org", "password": "wrong wrong wrong"}
    for host in ("2001:db8:1:2::1", "2001:db8:1:2::abcd"):
        assert CheckingClient(REMOTE_ADDR=host).post(SIGN_IN, data).status_code == 400
    assert CheckingClient(REMOTE_ADDR="2001:db8:1:2:ffff::9").post(SIGN_IN, data).status_code == 429
    # Another /64 is another client.
    assert CheckingClient(REMOTE_ADDR="2001:db8:1:3::1").post(SIGN_IN, data).status_code == 400
