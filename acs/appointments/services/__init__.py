"""Every change of state in appointments, one module per area:

- ``booking``: create, cancel, reschedule, reminders (re-exported here);
- ``mail``: the emails they queue in the outbox;
- ``door``: check-in, overrides, served, no-shows;
- ``closures``: unplanned closures that cancel bookings;
- ``capacity``: services, opening rules, and what a change would drop.
"""

from acs.appointments.services.booking import (
    BookingError,
    PersonData,
    booking_cancel,
    booking_create,
    booking_reschedule,
    identity_key,
    normalize_passport,
    reminder_claim,
    reminder_queue,
    reminders_queue,
    services_seed,
)
from acs.appointments.services.mail import booking_email_queue

__all__ = [
    "BookingError",
    "PersonData",
    "booking_cancel",
    "booking_create",
    "booking_email_queue",
    "booking_reschedule",
    "identity_key",
    "normalize_passport",
    "reminder_claim",
    "reminder_queue",
    "reminders_queue",
    "services_seed",
]
