"""The email of a booking made without JavaScript: the time is held for you, confirm it here.

Built by a worker from the outbox's row (``email_hold_email_build``, registered in
``AppointmentsConfig.ready``), in the booker's language, in the mail kit's layout. The
booking the link makes gets the ordinary booking emails (``emails``).
"""

from __future__ import annotations

from django.core.mail import EmailMultiAlternatives
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from acs.appointments.constants import HoldStatus
from acs.appointments.models import EmailHold
from acs.appointments.services.mail import EMAIL_HOLD_EMAIL
from acs.core import clock
from acs.core.mail.addresses import message_id, site_url
from acs.core.mail.letters import letter_render
from acs.posts.routing import post_override


def _context(held: EmailHold) -> dict:
    post, hold = held.post, held.hold
    service = held.service.name
    until = clock.when_text(post, hold.expires_at)
    return {
        "subject": _("Confirm your appointment: %(service)s") % {"service": service},
        "heading": _("Confirm your appointment"),
        "intro": _(
            "We are holding this time for you until %(until)s. It is booked only when you "
            "confirm it with the button below; if you do not, the time is freed for someone "
            "else. If you did not ask for this, ignore this email."
        )
        % {"until": until},
        "button": _("Confirm my appointment"),
        "url": site_url(reverse("appointments:email_hold", kwargs={"token": hold.token})),
        "service_name": service,
        "when": clock.when_texts(post, hold.starts_at),
        "people": [person.full_name for person in held.people.all()],
    }


def email_hold_message(held: EmailHold) -> EmailMultiAlternatives:
    """Build (not send) the email with the confirmation link, in the booker's language."""
    with translation.override(held.language), post_override(held.post):
        context = _context(held)
    letter = letter_render(
        post=held.post,
        language=held.language,
        template="appointments/email/hold",
        subject=context["subject"],
        context=context,
    )
    return letter.email(to=[held.email], message_id=message_id())


def email_hold_email_build(*, email_hold_id: int) -> EmailMultiAlternatives | None:
    """The email as things are now: none once the hold is confirmed or has ended (a link
    that no longer works is not worth sending)."""
    held = (
        EmailHold.objects.select_related("post", "service", "hold")
        .prefetch_related("people")
        .filter(pk=email_hold_id)
        .first()
    )
    if held is None or held.hold.status != HoldStatus.HELD:
        return None
    return email_hold_message(held)


OUTBOX_KINDS = {EMAIL_HOLD_EMAIL: email_hold_email_build}
