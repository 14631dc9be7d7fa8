from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AppointmentsConfig(AppConfig):
    name = "acs.appointments"
    verbose_name = _("Appointments")

    def ready(self) -> None:
        # Tell the outbox (core, which must not import this app) how to build our emails.
        from acs.appointments.emails import OUTBOX_KINDS
        from acs.appointments.hold_emails import OUTBOX_KINDS as HOLD_KINDS
        from acs.appointments.round_emails import ROUND_KINDS
        from acs.appointments.waitlist_emails import OUTBOX_KINDS as WAITLIST_KINDS
        from acs.core.outbox.registry import kinds_register

        kinds_register(OUTBOX_KINDS)
        kinds_register(WAITLIST_KINDS)
        kinds_register(ROUND_KINDS)
        kinds_register(HOLD_KINDS)
