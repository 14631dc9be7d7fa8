"""Booking emails: a plain-text body, an HTML alternative with the door's QR code inline, and
the appointment as an ``.ics`` file, all written in the language the citizen booked in, in
the mail kit's layout (``acs.core.mail``), times on the post's clock (``acs.core.clock``).

Workers build these from the outbox's rows (``booking_email_build``, ``closure_email_build``,
registered as ``OUTBOX_KINDS``; docs/mail.md); a request never does. Nothing here changes
state, so building a message twice is harmless.
"""

from __future__ import annotations

import io
from datetime import datetime
from email.mime.image import MIMEImage
from urllib.parse import urlencode

import segno
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import SafeMIMEMultipart, SafeMIMEText
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from acs.appointments.calendar import booking_ics, one_line_address
from acs.appointments.constants import BookingStatus
from acs.appointments.models import Booking, Closure
from acs.appointments.services.closures import priority_expires, priority_token
from acs.appointments.services.mail import BOOKING_EMAIL, CLOSURE_EMAIL
from acs.core import clock
from acs.core.mail.addresses import content_id, message_id, site_url
from acs.core.mail.letters import letter_render
from acs.posts.routing import post_override

KINDS = ("confirmation", "rescheduled", "cancelled", "reminder", "late_refused")
# Kinds for a booking that is over: no QR code (it no longer opens the door).
ENDED_KINDS = ("cancelled", "late_refused")


class BookingEmail(EmailMultiAlternatives):
    """An email whose HTML part carries inline images (``inline_images``).

    Django puts every attachment side by side in multipart/mixed; mail programs only resolve
    ``cid:`` links reliably when the image sits with the HTML in multipart/related:

        mixed ─┬─ alternative ─┬─ text/plain
               │               └─ related ─┬─ text/html
               │                           └─ image/png (Content-ID, inline)
               └─ text/calendar (appointment.ics)
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.inline_images: list[MIMEImage] = []

    def _create_alternatives(self, msg):
        if not self.inline_images:
            return super()._create_alternatives(msg)
        encoding = self.encoding or settings.DEFAULT_CHARSET
        alternative = SafeMIMEMultipart(_subtype=self.alternative_subtype, encoding=encoding)
        if self.body:
            alternative.attach(msg)
        for content, mimetype in self.alternatives:
            part = self._create_mime_attachment(content, mimetype)
            if mimetype == "text/html":
                related = SafeMIMEMultipart(_subtype="related", encoding=encoding)
                related.attach(part)
                for image in self.inline_images:
                    related.attach(image)
                part = related
            alternative.attach(part)
        return alternative


def manage_url(booking: Booking) -> str:
    """The absolute link to manage the booking, in the booking's language."""
    with translation.override(booking.language), post_override(booking.post):
        return site_url(reverse("appointments:manage", kwargs={"token": booking.token}))


def _subject(kind: str, booking: Booking, when: dict[str, str]) -> str:
    values = {"service": booking.service.name, "code": booking.code, "date": when["date"]}
    if kind == "confirmation":
        return _("Appointment confirmed: %(service)s, %(date)s (%(code)s)") % values
    if kind == "rescheduled":
        return _("Appointment changed: %(service)s, %(date)s (%(code)s)") % values
    if kind == "reminder":
        return _("Reminder: your appointment tomorrow, %(date)s (%(code)s)") % values
    if kind == "late_refused":
        return _("Not admitted, please book again: %(service)s (%(code)s)") % values
    return _("Appointment cancelled: %(service)s, %(date)s (%(code)s)") % values


def _intro(kind: str) -> tuple[str, str]:
    """The heading and first sentence of each kind of email."""
    if kind == "confirmation":
        return _("Your appointment is booked"), _(
            "Thank you. Your appointment at the consular section is confirmed."
        )
    if kind == "rescheduled":
        return _("Your appointment has changed"), _(
            "Your appointment has been moved to a new time. The old time is no longer valid."
        )
    if kind == "reminder":
        return _("Your appointment is tomorrow"), _(
            "This is a reminder of your appointment tomorrow at the consular section."
        )
    if kind == "late_refused":
        return _("You could not be admitted"), _(
            "You arrived too late for your appointment, so the consular section could not "
            "admit you. The appointment is closed."
        )
    return _("Your appointment is cancelled"), _(
        "Your appointment has been cancelled. The time is free for someone else."
    )


def qr_png(code: str) -> bytes:
    """The confirmation code as a QR code the door's scanner reads."""
    buffer = io.BytesIO()
    segno.make(code, error="m", micro=False).save(buffer, kind="png", scale=8, border=4)
    return buffer.getvalue()


def _qr_part(code: str, cid: str) -> MIMEImage:
    image = MIMEImage(qr_png(code), "png")
    image.add_header("Content-ID", f"<{cid}>")
    image.add_header("Content-Disposition", "inline", filename="qr-code.png")
    return image


def _ics_part(booking: Booking, url: str, *, cancelled: bool) -> SafeMIMEText:
    content = booking_ics(booking, url, cancelled=cancelled).decode()
    part = SafeMIMEText(content, "calendar", "utf-8")
    part.set_param("method", "CANCEL" if cancelled else "PUBLISH")
    part.set_param("name", "appointment.ics")
    part.add_header("Content-Disposition", "attachment", filename="appointment.ics")
    return part


def _context(booking: Booking, kind: str, when: dict[str, str], url: str) -> dict:
    post = booking.post
    heading, intro = _intro(kind)
    return {
        "kind": kind,
        "heading": heading,
        "intro": intro,
        "booking": booking,
        "code": booking.code,
        "service_name": booking.service.name,
        "duration": booking.service.duration_minutes,
        "when": when,
        "address_lines": [line.strip() for line in post.street_address.splitlines() if line],
        "post_address": one_line_address(booking),
        "people": [person.full_name for person in booking.people.all()],
        "checklist": booking.service.checklist,
        "manage_url": url,
        "book_again_url": site_url(reverse("appointments:start")),
    }


def booking_message(booking: Booking, kind: str) -> EmailMultiAlternatives:
    """Build (not send) the email of ``kind`` for ``booking`` in the booking's language.

    ``kind`` is one of ``confirmation``, ``rescheduled``, ``cancelled``, ``reminder``,
    ``late_refused`` (the door refused a late arrival: a link to book again, no calendar file,
    since the time has passed).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown booking email kind: {kind!r}")
    cancelled = kind == "cancelled"
    ended = kind in ENDED_KINDS
    with translation.override(booking.language), post_override(booking.post):
        url = manage_url(booking)
        when = clock.when_texts(booking.post, booking.starts_at)
        context = _context(booking, kind, when, url)
        if not ended:
            context["qr_cid"] = content_id("qr")
        subject = _subject(kind, booking, when)
    letter = letter_render(
        post=booking.post,
        language=booking.language,
        template=f"appointments/email/{kind if ended else 'booking'}",
        subject=subject,
        context=context,
    )
    message = letter.email(to=[booking.email], message_id=message_id(), email_class=BookingEmail)
    if not ended:
        message.inline_images.append(_qr_part(booking.code, context["qr_cid"]))
    if kind != "late_refused":
        message.attach(_ics_part(booking, url, cancelled=cancelled))
    return message


# The closure email: one per person, whatever number of their appointments a closure
# cancelled, each with its priority link ----------------------------------------------------

CLOSURE_KIND = "closure_cancelled"


def priority_url(booking: Booking, token: str) -> str:
    """The booking pages of the cancelled booking's service, with the priority token, in the
    booking's language."""
    with translation.override(booking.language), post_override(booking.post):
        path = reverse("appointments:service", kwargs={"service": booking.service.slug})
    return site_url(f"{path}?{urlencode({'priority': token})}")


def _closure_subject(bookings: list[Booking]) -> str:
    if len(bookings) == 1:
        booking = bookings[0]
        return _("Appointment cancelled, the office is closed: %(service)s (%(code)s)") % {
            "service": booking.service.name,
            "code": booking.code,
        }
    return _("%(count)d appointments cancelled, the office is closed") % {"count": len(bookings)}


def closure_cancelled_message(
    *, closure: Closure, bookings: list[Booking], tokens: dict[int, str], expires: datetime
) -> EmailMultiAlternatives:
    """Build (not send) the email telling one person that ``closure`` cancelled
    ``bookings`` (all theirs: one address), with a priority link per booking (``tokens``,
    by booking id, valid until ``expires``). Written in the language of their first booking;
    a calendar cancellation is attached for each appointment.
    """
    first = bookings[0]
    post = first.post
    with translation.override(first.language), post_override(first.post):
        items = [
            {
                "code": booking.code,
                "service_name": booking.service.name,
                "when": clock.when_texts(booking.post, booking.starts_at),
                "priority_url": priority_url(booking, tokens[booking.pk]),
            }
            for booking in bookings
        ]
        context = {
            "kind": CLOSURE_KIND,
            "heading": _("Your appointment is cancelled"),
            "intro": _(
                "We are sorry: the consular section has to close, and your appointment falls "
                "in that time. It is cancelled; you do not need to do anything to cancel it."
            ),
            "booking": first,
            "reason": closure.reason,
            "closed_from": clock.when_text(post, closure.starts_at),
            "closed_until": clock.when_text(post, closure.ends_at),
            "items": items,
            "expires": clock.long_date(clock.local(post, expires)),
            "post_address": one_line_address(first),
        }
        subject = _closure_subject(bookings)
    letter = letter_render(
        post=post,
        language=first.language,
        template=f"appointments/email/{CLOSURE_KIND}",
        subject=subject,
        context=context,
    )
    message = letter.email(to=[first.email], message_id=message_id(), email_class=BookingEmail)
    for booking in bookings:
        message.attach(_ics_part(booking, manage_url(booking), cancelled=True))
    return message


# The outbox's builders (acs/core/outbox/registry.py): from a row's arguments to its email,
# or None when there is nothing to send any more --------------------------------------------


def booking_email_build(*, booking_id: int, kind: str) -> EmailMultiAlternatives | None:
    """The email of ``kind`` for the booking as it is now; none if the booking is gone, nor a
    reminder of an appointment that is no longer booked (cancelled since it was queued)."""
    booking = (
        Booking.objects.select_related("post", "service")
        .prefetch_related("people")
        .filter(pk=booking_id)
        .first()
    )
    if booking is None:
        return None
    if kind == "reminder" and booking.status != BookingStatus.BOOKED:
        return None
    return booking_message(booking, kind)


def closure_email_build(
    *, closure_id: int, booking_ids: list[int]
) -> EmailMultiAlternatives | None:
    """One person's closure email: their bookings the closure cancelled, each with a priority
    link made now (it expires ``PRIORITY_LINK_DAYS`` after it is sent, not queued)."""
    closure = Closure.objects.select_related("post", "service").filter(pk=closure_id).first()
    bookings = list(
        Booking.objects.select_related("post", "service")
        .filter(pk__in=booking_ids, status=BookingStatus.CANCELLED)
        .order_by("starts_at", "pk")
    )
    if closure is None or not bookings:
        return None
    return closure_cancelled_message(
        closure=closure,
        bookings=bookings,
        tokens={booking.pk: priority_token(booking) for booking in bookings},
        expires=priority_expires(),
    )


OUTBOX_KINDS = {BOOKING_EMAIL: booking_email_build, CLOSURE_EMAIL: closure_email_build}
