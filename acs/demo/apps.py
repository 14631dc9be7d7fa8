from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """An app only so that Django finds its management commands (``post_seed``,
    ``demo_seed``); it has no models."""

    name = "acs.demo"
    verbose_name = _("Demo and shipped data")
