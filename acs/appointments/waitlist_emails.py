"""The waitlist's emails: confirm the request, a seat is held for you, the offer ended.

Built by a worker from the outbox's row (``waitlist_email_build``, registered in
``AppointmentsConfig.ready``), in the entry's language, in the mail kit's one layout; the
request that caused them never renders nor sends mail. Building twice changes nothing.
The booking made by a claim gets the ordinary booking emails (``emails``).
"""

from __future__ import annotations

from django.core.mail import EmailMultiAlternatives
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from acs.appointments.constants import HoldStatus, WaitlistStatus
from acs.appointments.models import SeatHold, WaitlistEntry
from acs.appointments.services.mail import WAITLIST_EMAIL
from acs.appointments.services.waitlist import CONFIRM_DAYS
from acs.core import clock
from acs.core.mail.addresses import message_id, site_url
from acs.core.mail.letters import letter_render
from acs.posts.routing import post_override

KINDS = ("confirm", "offer", "lapsed")


def _url(name: str, **kwargs: str) -> str:
    return site_url(reverse(f"appointments:{name}", kwargs=kwargs))


def _words(kind: str, service: str, values: dict[str, str]) -> tuple[str, str, str, str]:
    """Subject, heading, first paragraph and button of each kind."""
    if kind == "confirm":
        return (
            _("Confirm your place on the waitlist: %(service)s") % {"service": service},
            _("Confirm your place on the waitlist"),
            _(
                "You asked us to tell you when a seat opens for %(service)s. Your request "
                "counts only once you confirm it with the button below; the link works for "
                "%(days)d days. If you did not ask for this, ignore this email."
            )
            % {"service": service, "days": CONFIRM_DAYS},
            _("Confirm my place"),
        )
    if kind == "offer":
        return (
            _("A seat is free for you: %(service)s, %(date)s") % {"service": service, **values},
            _("A seat is free for you"),
            _(
                "A seat opened on a day you chose, and we are holding it for you until "
                "%(until)s. Nobody else can book it until then. If you do not book it by "
                "then, it goes to the next person waiting and your place on the waitlist ends."
            )
            % values,
            _("Book this time"),
        )
    return (
        _("Your waitlist offer has ended: %(service)s") % {"service": service},
        _("Your waitlist offer has ended"),
        _(
            "The seat we held for you was not booked in time, so it went to the next person "
            "waiting, and your place on the waitlist has ended. You can ask again at any time."
        ),
        _("Join the waitlist again"),
    )


def _context(entry: WaitlistEntry, kind: str, hold: SeatHold | None) -> dict:
    post, service = entry.post, entry.service
    values: dict[str, str] = {}
    when = None
    if hold is not None:
        when = clock.when_texts(post, hold.starts_at)
        values = {"date": when["date"], "until": clock.when_text(post, hold.expires_at)}
    subject, heading, intro, button = _words(kind, service.name, values)
    if kind == "confirm":
        url = _url("waitlist_entry", token=entry.token)
    elif kind == "offer" and hold is not None:
        url = _url("waitlist_offer", token=hold.token)
    else:
        url = _url("waitlist", service=service.slug)
    return {
        "kind": kind,
        "subject": subject,
        "heading": heading,
        "intro": intro,
        "button": button,
        "url": url,
        "service_name": service.name,
        "when": when,
        "days": [clock.long_date(day.day) for day in entry.days.all()],
        "people": [person.full_name for person in entry.people.all()],
        "leave_url": _url("waitlist_entry", token=entry.token) if kind == "offer" else "",
    }


def waitlist_message(
    entry: WaitlistEntry, kind: str, hold: SeatHold | None = None
) -> EmailMultiAlternatives:
    """Build (not send) the waitlist email of ``kind`` for ``entry`` in its language."""
    if kind not in KINDS:
        raise ValueError(f"unknown waitlist email kind: {kind!r}")
    with translation.override(entry.language), post_override(entry.post):
        context = _context(entry, kind, hold)
    letter = letter_render(
        post=entry.post,
        language=entry.language,
        template="appointments/email/waitlist",
        subject=context["subject"],
        context=context,
    )
    return letter.email(to=[entry.email], message_id=message_id())


def waitlist_email_build(
    *, entry_id: int, kind: str, hold_id: int | None = None
) -> EmailMultiAlternatives | None:
    """The email as things are now: none for an entry that is gone, a confirmation request
    for an entry no longer unconfirmed, or an offer no longer held."""
    entry = (
        WaitlistEntry.objects.select_related("post", "service")
        .prefetch_related("days", "people")
        .filter(pk=entry_id)
        .first()
    )
    if entry is None:
        return None
    hold = SeatHold.objects.filter(pk=hold_id, entry=entry).first() if hold_id else None
    if kind == "confirm" and entry.status != WaitlistStatus.UNCONFIRMED:
        return None
    if kind == "offer" and (hold is None or hold.status != HoldStatus.HELD):
        return None
    return waitlist_message(entry, kind, hold)


OUTBOX_KINDS = {WAITLIST_EMAIL: waitlist_email_build}
