"""Vocabularies of traveler enrollment, in one place."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CitizenStatus(models.TextChoices):
    CITIZEN = "citizen", _("U.S. citizen")
    NATIONAL = "national", _("U.S. national")
    FAMILY = "family", _("Accompanying non-citizen family member")


class Language(models.TextChoices):
    ENGLISH = "en", _("English")
    SPANISH = "es", _("Spanish")


class PhoneKind(models.TextChoices):
    MOBILE = "mobile", _("Mobile")
    HOME = "home", _("Home")


class MessageKind(models.TextChoices):
    EMERGENCY = "emergency", _("Emergency")
    SECURITY = "security", _("Security")
    DEMONSTRATION = "demonstration", _("Demonstration")
    HEALTH = "health", _("Health")
    WEATHER = "weather", _("Weather")
    CITIZENS = "citizens", _("Messages for U.S. citizens")


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("Text message (SMS)")


class Cadence(models.TextChoices):
    IMMEDIATE = "immediate", _("At once")
    DIGEST = "digest", _("Daily digest")


# Kinds an enrollee receives until they say otherwise: a post must be able to reach everyone
# it knows is in danger. The other kinds are sent only to those who asked for them. How a
# ``MessagePreference`` row changes this is explained in ``selectors.enrollees_to_reach``.
ON_BY_DEFAULT = frozenset({MessageKind.EMERGENCY, MessageKind.SECURITY})

# Whom the post may tell about an enrollee (``PrivacyRelease``): each a separate yes or no.
PRIVACY_FIELDS = ("emergency_contacts", "family", "representative", "congress", "media")
