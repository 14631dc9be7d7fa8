"""Posts: the embassies and consulates that own every other record."""

from __future__ import annotations

import gettext
import re
import zoneinfo
from functools import cache

import pycountry
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from acs.core.i18n import current_language, localized
from acs.posts.phones import DialForms, dial_forms, validate_phone


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("“%(zone)s” is not an IANA time zone."), params={"zone": value})


# A DNS host name: labels of letters, digits and inner hyphens, at least one dot.
_HOST_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def host_names_split(value: str) -> list[str]:
    """The host names in a post's ``host_names`` text (commas or lines between them),
    lower-cased, in order, without blanks."""
    return [name.strip().lower() for name in re.split(r"[,\s]+", value or "") if name.strip()]


def validate_host_names(value: str) -> None:
    wrong = [name for name in host_names_split(value) if not _HOST_NAME.match(name)]
    if wrong:
        raise ValidationError(
            _("“%(names)s” is not a host name, such as pe.usembassy.example."),
            params={"names": ", ".join(wrong)},
        )


@cache
def _country_names(language: str) -> gettext.NullTranslations:
    return gettext.translation(
        "iso3166-1", pycountry.LOCALES_DIR, languages=[language], fallback=True
    )


def country_name(code: str) -> str:
    """The common name of the country with this ISO 3166-1 alpha-2 code in the reader's
    language (pycountry's lists), or the code itself when it names none."""
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return code
    name = getattr(country, "common_name", country.name)
    return _country_names(current_language()).gettext(name)


# First path segments the site already answers under /<lang>/ (acs/urls.py): a post with one
# of these short names would hide it.
RESERVED_SLUGS = frozenset({"appointments", "enroll", "messages", "m", "staff", "api", "static"})


class Post(models.Model):
    """An embassy or consulate. Every later record belongs to one."""

    slug = models.SlugField(_("short name"), unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_es = models.CharField(_("name in Spanish"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=100)
    country_code = models.CharField(
        _("country"), max_length=2, help_text=_("ISO 3166-1 alpha-2 code, such as PE.")
    )
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        validators=[validate_time_zone],
        help_text=_("IANA name, such as America/Lima."),
    )
    street_address = models.TextField(_("street address"))
    main_phone = models.CharField(
        _("main phone"),
        max_length=40,
        validators=[validate_phone],
        help_text=_("In international form, such as +51 1 618 2000."),
    )
    emergency_phone = models.CharField(
        _("emergency hotline"),
        max_length=40,
        validators=[validate_phone],
        help_text=_("In international form, such as +51 1 618 2000."),
    )
    public_email = models.EmailField(_("public email"), blank=True)
    opening_hours = models.CharField(_("opening hours"), max_length=200, blank=True)
    opening_hours_es = models.CharField(_("opening hours in Spanish"), max_length=200, blank=True)
    late_limit_minutes = models.PositiveSmallIntegerField(
        _("lateness limit (minutes)"),
        default=15,
        help_text=_("Someone later than this after their appointment time is not admitted."),
    )
    early_window_minutes = models.PositiveSmallIntegerField(
        _("early arrival window (minutes)"),
        default=30,
        help_text=_("Someone earlier than this before their appointment is asked to come back."),
    )
    trip_retention_days = models.PositiveSmallIntegerField(
        _("keep trips for (days after they end)"),
        default=30,
        help_text=_(
            "Enrolled trips and their companions are deleted this many days after the trip ends."
        ),
    )
    idle_account_days = models.PositiveSmallIntegerField(
        _("delete idle enrollment accounts after (days)"),
        default=365,
        help_text=_(
            "An account with no current trip or residence and no sign-in for this long is "
            "deleted, after a warning email."
        ),
    )
    idle_account_warning_days = models.PositiveSmallIntegerField(
        _("warn before deleting an idle account (days)"),
        default=30,
        help_text=_(
            "How long the warning email gives the enrollee to sign in and keep the account."
        ),
    )
    # On a request to one of these hosts the short URLs (/<lang>/appointments/…) serve this
    # post, so an embassy keeps its own address (acs/posts/routing.py).
    host_names = models.TextField(
        _("host names"),
        blank=True,
        validators=[validate_host_names],
        help_text=_(
            "Addresses that show this post's pages without its short name in the path, one "
            "per line or separated by commas, such as pe.usembassy.example."
        ),
    )
    # The public pages' cache key and Last-Modified read it (acs/core/pagecache.py): a change
    # to the post's name, address or phones shows on every page at once.
    updated_at = models.DateTimeField(_("last changed"), auto_now=True)

    class Meta:
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """A short name must not hide a section's old address (``/en/appointments/`` sends
        today's links to the default post), and a host name serves one post: refuse one that
        another post already lists."""
        if self.slug in RESERVED_SLUGS:
            raise ValidationError(
                {
                    "slug": _("“%(slug)s” is a section of the site; choose another short name.")
                    % {"slug": self.slug}
                }
            )
        mine = set(host_names_split(self.host_names))
        if not mine:
            return
        others = Post.objects.exclude(pk=self.pk).exclude(host_names="")
        taken = sorted(
            name for other in others for name in host_names_split(other.host_names) if name in mine
        )
        if taken:
            raise ValidationError(
                {
                    "host_names": _("“%(names)s” already serves another post.")
                    % {"names": ", ".join(taken)}
                }
            )

    @property
    def display_name(self) -> str:
        return localized(self, "name")

    @property
    def country_name(self) -> str:
        """The country's common name in the reader's language (from pycountry's ISO lists)."""
        return country_name(self.country_code)

    @property
    def display_hours(self) -> str:
        return localized(self, "opening_hours")

    @property
    def hotline(self) -> DialForms:
        return dial_forms(self.emergency_phone)

    @property
    def main_line(self) -> DialForms:
        return dial_forms(self.main_phone)

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class Region(models.Model):
    """A first-level subdivision of a country (ISO 3166-2) in one post's consular district.

    Each region belongs to exactly one post: a country with an embassy and consulates splits
    its regions among them. Trips, residences and messages point at regions, so moving a
    region to another post's district moves what that post's staff see with it."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="regions")
    code = models.CharField(_("ISO 3166-2 code"), max_length=10)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=60, blank=True)

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["code"], name="region_unique_code"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def country_code(self) -> str:
        """ISO 3166-1 alpha-2: an ISO 3166-2 code begins with its country's."""
        return self.code.split("-", 1)[0]

    @property
    def country_name(self) -> str:
        return country_name(self.country_code)
