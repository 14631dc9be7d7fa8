from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AlertsConfig(AppConfig):
    name = "acs.alerts"
    verbose_name = _("Messages")

    def ready(self) -> None:
        from acs.alerts import checks  # noqa: F401 — registers the start-up checks
