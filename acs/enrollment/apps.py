from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EnrollmentConfig(AppConfig):
    name = "acs.enrollment"
    verbose_name = _("Enrollment")

    def ready(self) -> None:
        # Tell the outbox (core, which must not import this app) how to build our emails.
        from acs.core.outbox.registry import kinds_register
        from acs.enrollment.emails import OUTBOX_KINDS

        kinds_register(OUTBOX_KINDS)
