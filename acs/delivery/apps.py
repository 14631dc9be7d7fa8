from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeliveryConfig(AppConfig):
    name = "acs.delivery"
    verbose_name = _("Delivery")

    def ready(self) -> None:
        from acs.delivery import checks  # noqa: F401 — registers the start-up checks
