"""Booking emails (to be completed): text + HTML in the booking's language, QR, .ics."""

from django.core.mail import EmailMultiAlternatives

from acs.appointments.models import Booking


def booking_message(booking: Booking, kind: str) -> EmailMultiAlternatives:
    raise NotImplementedError(kind)
