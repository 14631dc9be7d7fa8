"""The mail kit (acs/core/mail): every email the product sends — a booking's, an enrollee's, a
message's — has one layout, links to one site and Message-IDs under one domain.

Built through the apps' own builders, in both languages; the source checks at the end only
back that up (nobody grows a copy of the kit again)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils import translation

from acs.alerts.letters import message_preview
from acs.alerts.services import message_draft_create
from acs.alerts.services import outbox as message_outbox
from acs.appointments import services as appointments
from acs.appointments.emails import booking_message
from acs.core.clock import zone_text
from acs.core.mail.addresses import mail_domain, message_id, message_id_for, site_url
from acs.core.mail.letters import letter_render
from acs.core.models import OutgoingEmail
from acs.core.outbox import services as mail_outbox
from acs.enrollment.emails import enrollee_message
from tests.alerts.conftest import DRAFTER, message_fields
from tests.appointments.factories import make_service, person
from tests.enrollment import factories as enrollment
from tests.staff.conftest import permissions_give

SITE = "https://consular.example.net"
FROM = "ACS Lima <acs@mail.example.net>"
QUESTIONS = "acs-lima@example.gov"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
LIMA_0900 = datetime(2026, 12, 15, 14, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _site(settings):
    settings.ACS_SITE_URL = f"{SITE}/"  # a trailing slash, as an operator may write it
    settings.DEFAULT_FROM_EMAIL = FROM


@pytest.fixture
def post(lima):
    lima.public_email = QUESTIONS
    lima.save(update_fields=["public_email"])
    return lima


def _booking_email(post, language):
    booking = appointments.booking_create(
        service=make_service(post=post),
        starts_at=LIMA_0900,
        people=[person(1)],
        email="ana@example.org",
        phone="+51 999 123 456",
        language=language,
        now=NOW,
    )
    return booking_message(booking, "confirmation")


def _enrollee_email(post, language):
    return enrollee_message(enrollment.enrollee(post, language=language), "verify")


def _message_email(post, language):
    writer = User.objects.create_user(username=f"writer-{language}")
    permissions_give(writer, DRAFTER)
    writer = User.objects.get(pk=writer.pk)
    message = message_draft_create(post=post, actor=writer, **message_fields(post))
    return message_preview(message=message, language=language)


BUILDERS = {
    "appointments": _booking_email,
    "enrollment": _enrollee_email,
    "messages": _message_email,
}


def _html(email) -> str:
    [(html, mimetype)] = email.alternatives
    assert mimetype == "text/html"
    return html


def _between(html: str, start: str, end: str) -> str:
    return html[html.index(start) : html.index(end, html.index(start))]


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "es"])
def test_the_three_apps_emails_share_one_layout(post, language):
    emails = {app: build(post, language) for app, build in BUILDERS.items()}
    htmls = {app: _html(email) for app, email in emails.items()}

    # The same page up to the heading (the post's name in the head), the same hotline box
    # after the body, the same foot: the post's name and where to write.
    with translation.override(language):
        name = post.display_name
        zone = zone_text(post)  # "Lima time (UTC−05:00)": Lima keeps one offset all year
    # Times are written by the post's clock, as the pages write them.
    for app in ("appointments", "messages"):
        assert zone in emails[app].body and zone in htmls[app], app
    heads = {_between(html, "<!DOCTYPE", "<title>") for html in htmls.values()}
    assert len(heads) == 1 and f'<html lang="{language}">' in heads.pop()
    for html in htmls.values():
        assert name in _between(html, 'class="acs-email-head"', "</div>")
    hotlines = {_between(html, 'class="acs-email-hotline"', "</div>") for html in htmls.values()}
    assert len(hotlines) == 1 and post.hotline.international in hotlines.pop()
    for html in htmls.values():
        foot = html[html.index('class="acs-email-foot"') :]
        assert name in foot
        assert f'<a href="mailto:{QUESTIONS}"' in foot

    # The plain text ends the same way: the hotline, then the signature.
    hotline_line = emails["enrollment"].body.split("\n--\n")[0].splitlines()[-1]
    assert post.hotline.international in hotline_line
    for email in emails.values():
        body, signature = email.body.split("\n--\n")
        assert body.endswith(f"\n{hotline_line}\n")
        lines = signature.strip().splitlines()
        assert name in lines and lines[-1].endswith(f": {QUESTIONS}")
        # Every email is an automatic one, and replies go to the post.
        assert email.extra_headers["Auto-Submitted"] == "auto-generated"
        assert email.reply_to == [QUESTIONS]


@pytest.mark.django_db
def test_links_and_message_ids_come_from_the_site_and_the_sender(post):
    emails = {app: build(post, "es") for app, build in BUILDERS.items()}
    for app, email in emails.items():
        links = re.findall(r"https?://[^\s\"<>]+", email.body + _html(email))
        assert links, app
        assert all(link.startswith(f"{SITE}/es/") for link in links), (app, links)
        assert email.extra_headers["Message-ID"].endswith("@mail.example.net>"), app
    # The outbox's rows (the booking's confirmation) name themselves the same way.
    ids = list(OutgoingEmail.objects.values_list("message_id", flat=True))
    assert ids and all(id_.endswith("@mail.example.net>") for id_ in ids)


def test_site_url_and_mail_domain(settings):
    assert site_url("/en/lima/appointments/") == f"{SITE}/en/lima/appointments/"
    assert mail_domain() == "mail.example.net"
    settings.DEFAULT_FROM_EMAIL = ""  # no address at all: still a valid Message-ID
    assert message_id().endswith("@acs-portal.invalid>")


def test_a_tokens_message_id_is_the_same_for_life_and_hides_the_token():
    token = uuid.uuid4()
    made = message_id_for(token)
    assert made == message_id_for(str(token)) == message_id_for(token, domain="mail.example.net")
    assert made != message_id_for(uuid.uuid4())
    assert re.fullmatch(r"<[0-9a-f]{32}@mail\.example\.net>", made)
    assert token.hex not in made and str(token) not in made
    assert message_id() != message_id()


@pytest.mark.django_db
def test_a_letter_is_written_in_the_recipients_language_whatever_is_active(post):
    letter = letter_render(
        post=post,
        language="es",
        template="enrollment/email/note",
        subject="Asunto",
        context={"note": {"heading": "Hola", "paragraphs": ["Uno."]}, "heading": "Hola"},
    )
    assert letter.language == "es" and letter.reply_to == (QUESTIONS,)
    assert '<html lang="es">' in letter.html
    assert "¿Emergencia" in letter.text  # the layout's own words, in Spanish
    email = letter.email(to=["a@example.org"], message_id="<x@example.gov>", headers={"X-A": "1"})
    assert email.extra_headers == {
        "Message-ID": "<x@example.gov>",
        "Auto-Submitted": "auto-generated",
        "X-A": "1",
    }


def test_both_outboxes_wait_by_one_curve(settings):
    """Emails to one person and messages to many retry by the same rule; only the settings
    (how long, how often) are each outbox's own."""
    settings.ACS_MAIL_RETRY_BASE = settings.ACS_DELIVERY_RETRY_BASE = 30
    settings.ACS_MAIL_RETRY_CAP = settings.ACS_DELIVERY_RETRY_CAP = 900
    delays = [mail_outbox.retry_delay(n).total_seconds() for n in range(1, 9)]
    assert delays == [30, 60, 120, 240, 480, 900, 900, 900]
    assert [message_outbox.retry_delay(n).total_seconds() for n in range(1, 9)] == delays


# The source backs it up: one home for each piece -------------------------------------------

ACS = Path(__file__).resolve().parents[2] / "acs"
KIT = ACS / "core" / "mail" / "addresses.py"


def _sources() -> dict[Path, str]:
    return {path: path.read_text() for path in ACS.rglob("*.py")}


def test_site_address_mail_domain_and_message_ids_have_one_home():
    sources = _sources()
    for pattern in (r"def site_url\b", r"def mail_domain\b", r"\bmake_msgid\b", r"acs-message-id"):
        homes = [path for path, text in sources.items() if re.search(pattern, text)]
        assert homes == [KIT], pattern
    # Links are made from ACS_SITE_URL by site_url only. (CAP identifiers name the host.)
    readers = {path.relative_to(ACS) for path, text in sources.items() if "ACS_SITE_URL" in text}
    assert readers == {Path("settings.py"), KIT.relative_to(ACS), Path("alerts/cap.py")}


def test_every_email_template_extends_the_one_layout():
    layouts = sorted(ACS.rglob("templates/*/email/_layout.*"))
    assert [path.relative_to(ACS) for path in layouts] == [
        Path("core/templates/core/email/_layout.html"),
        Path("core/templates/core/email/_layout.txt"),
    ]
    for path in ACS.rglob("templates/**/email/*"):
        if path.name.startswith("_") or path.suffix not in {".html", ".txt"}:
            continue
        suffix = path.suffix
        assert path.read_text().startswith(f'{{% extends "core/email/_layout{suffix}" %}}'), path
