"""Traveler enrollment: citizens' accounts, their trips and residence, and whom to tell what.

Every record hangs off an ``Enrollee``: one account per email address for the whole
installation, seen from every post's pages. What a post's staff see of it is what falls in
their district (the regions of its trips and residence, ``selectors``). Invariants the
database can enforce live in ``Meta.constraints``; the rules that need "today" or another
table (a trip wholly in the past, a region of another country) live in ``services``.
"""

from __future__ import annotations

import uuid

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from acs.enrollment.constants import (
    Cadence,
    Channel,
    CitizenStatus,
    Language,
    MessageKind,
    PhoneKind,
)
from acs.posts.models import Post, Region

validate_e164 = RegexValidator(
    r"^\+[1-9]\d{6,14}$", _("Enter the number in international form, such as +51987654321.")
)


class Enrollee(models.Model):
    """A citizen's account: separate from staff (``auth.User``), one for every post.

    ``post`` is where the account was opened. It decides only account-level things: the
    clock, layout and retention settings of account emails, idle-account deletion and the
    deletion tally. It does not decide who sees the account: a post's staff see the people
    whose trips or residence fall in its district."""

    post = models.ForeignKey(
        Post,
        on_delete=models.PROTECT,
        related_name="enrollees",
        verbose_name=_("post where the account was opened"),
        help_text=_(
            "Sets the time zone of the account's emails and the rules for idle accounts. "
            "Staff of every post whose district holds one of the person's trips or their "
            "home see the account, whichever post opened it."
        ),
    )
    # Stored lower-cased (services.accounts), so one address is one account everywhere.
    email = models.EmailField(_("email"))
    # A hash from django.contrib.auth.hashers.make_password; never the password itself.
    password = models.CharField(_("password"), max_length=255)
    email_verified_at = models.DateTimeField(_("email verified at"), null=True, blank=True)
    full_name = models.CharField(_("full name"), max_length=150)
    date_of_birth = models.DateField(_("date of birth"))
    status = models.CharField(
        _("status"), max_length=20, choices=CitizenStatus.choices, default=CitizenStatus.CITIZEN
    )
    language = models.CharField(
        _("preferred language"), max_length=5, choices=Language.choices, default=Language.ENGLISH
    )
    passport_number = models.CharField(_("passport number"), max_length=20, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_active_at = models.DateTimeField(_("last active at"), null=True, blank=True)
    # Signing in moves this on, so a one-time sign-in link (signed with it) works once.
    last_sign_in_at = models.DateTimeField(_("last signed in at"), null=True, blank=True)
    # Every session remembers the epoch it began in; "sign out everywhere" and a new password
    # move it on, which ends every other session at its next request.
    session_epoch = models.PositiveIntegerField(default=0)
    # When the "your account will be deleted" email went out (retention of idle accounts).
    inactivity_warned_at = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("enrollee")
        verbose_name_plural = _("enrollees")
        ordering = ["full_name", "id"]
        permissions = [("view_enrollees", _("See enrollees and their contact details"))]
        constraints = [
            models.UniqueConstraint(fields=["email"], name="enrollee_unique_email"),
        ]
        indexes = [
            # selectors.enrollees_to_reach: one probe per person there answers "active and
            # verified?" from the index alone, without reading the row.
            models.Index(
                fields=["id"],
                condition=Q(active=True, email_verified_at__isnull=False),
                name="enrollee_reachable",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name


class Phone(models.Model):
    enrollee = models.ForeignKey(Enrollee, on_delete=models.CASCADE, related_name="phones")
    # The id in the citizen's own links: unguessable, never the sequential primary key.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    number = models.CharField(_("number"), max_length=16, validators=[validate_e164])
    kind = models.CharField(
        _("kind"), max_length=10, choices=PhoneKind.choices, default=PhoneKind.MOBILE
    )
    sms_capable = models.BooleanField(_("can receive text messages"), default=False)

    class Meta:
        verbose_name = _("phone")
        verbose_name_plural = _("phones")
        ordering = ["enrollee", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["enrollee", "number"], name="phone_unique_per_enrollee"
            ),
        ]

    def __str__(self) -> str:
        return self.number


class Trip(models.Model):
    enrollee = models.ForeignKey(Enrollee, on_delete=models.CASCADE, related_name="trips")
    # The id in the citizen's own links: unguessable, never the sequential primary key.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    arrival = models.DateField(_("arrival"))
    departure = models.DateField(_("departure"))
    purpose = models.CharField(_("purpose"), max_length=200, blank=True)
    lodging = models.TextField(_("lodging or local contact"), blank=True)
    ended_early_at = models.DateTimeField(_("ended early at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("trip")
        verbose_name_plural = _("trips")
        ordering = ["arrival", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(departure__gte=F("arrival")), name="trip_departure_not_before_arrival"
            ),
        ]
        indexes = [
            # One person's trips by date (their pages, the overlap check, the staff record)
            # and the purge of trips some days after they end.
            models.Index(fields=["enrollee", "departure", "arrival"]),
            models.Index(fields=["departure"]),
        ]

    def __str__(self) -> str:
        return f"{self.arrival:%Y-%m-%d}–{self.departure:%Y-%m-%d}"


class TripStop(models.Model):
    """One region a trip covers (a trip covers one or more), with an optional city or place."""

    trip = models.ForeignKey(Trip, on_delete=models.CASCADE, related_name="stops")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    place = models.CharField(_("city or place"), max_length=150, blank=True)

    class Meta:
        verbose_name = _("trip stop")
        verbose_name_plural = _("trip stops")
        ordering = ["trip", "id"]
        constraints = [
            models.UniqueConstraint(fields=["trip", "region"], name="trip_stop_unique_region"),
        ]
        indexes = [
            # "Who is in these regions": region first, the trip id in the index for the join.
            models.Index(fields=["region", "trip"], name="trip_stop_region_trip"),
        ]

    def __str__(self) -> str:
        return f"{self.region_id} {self.place}".strip()


class Companion(models.Model):
    """A family or group member on the trip, with their own name and date of birth."""

    trip = models.ForeignKey(Trip, on_delete=models.CASCADE, related_name="companions")
    # The id in the citizen's own links: unguessable, never the sequential primary key.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    full_name = models.CharField(_("full name"), max_length=150)
    date_of_birth = models.DateField(_("date of birth"))

    class Meta:
        verbose_name = _("companion")
        verbose_name_plural = _("companions")
        ordering = ["trip", "id"]

    def __str__(self) -> str:
        return self.full_name


class Residence(models.Model):
    """ "I live here": no end date, re-confirmed once a year; inactive when not re-confirmed."""

    enrollee = models.ForeignKey(Enrollee, on_delete=models.CASCADE, related_name="residences")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    place = models.CharField(_("city or place"), max_length=150, blank=True)
    confirmed_at = models.DateTimeField(_("last confirmed at"))
    # When the yearly "do you still live here?" email went out; cleared by the answer.
    reconfirm_requested_at = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("residence")
        verbose_name_plural = _("residences")
        ordering = ["enrollee", "id"]
        constraints = [
            # One home per enrollee at a time; an inactive one may stay until it is purged.
            models.UniqueConstraint(
                fields=["enrollee"], condition=Q(active=True), name="one_active_residence"
            ),
        ]
        indexes = [
            models.Index(
                fields=["region", "enrollee"],
                condition=Q(active=True),
                name="residence_active_region",
            ),
            models.Index(fields=["active", "confirmed_at"], name="residence_confirmation"),
        ]

    def __str__(self) -> str:
        return f"{self.region_id} {self.place}".strip()


class EmergencyContact(models.Model):
    enrollee = models.ForeignKey(
        Enrollee, on_delete=models.CASCADE, related_name="emergency_contacts"
    )
    # The id in the citizen's own links: unguessable, never the sequential primary key.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=150)
    relation = models.CharField(_("relation"), max_length=60, blank=True)
    phone = models.CharField(_("phone"), max_length=16, blank=True, validators=[validate_e164])
    email = models.EmailField(_("email"), blank=True)

    class Meta:
        verbose_name = _("emergency contact")
        verbose_name_plural = _("emergency contacts")
        ordering = ["enrollee", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(phone="") | ~Q(email=""), name="emergency_contact_reachable"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PrivacyRelease(models.Model):
    """Whom the post may tell about the enrollee; each a separate choice, all off by default
    (the Privacy Act: nothing is released without the person's consent)."""

    enrollee = models.OneToOneField(
        Enrollee, on_delete=models.CASCADE, related_name="privacy_release"
    )
    emergency_contacts = models.BooleanField(_("my emergency contacts"), default=False)
    family = models.BooleanField(_("my family"), default=False)
    representative = models.BooleanField(_("a legal or medical representative"), default=False)
    congress = models.BooleanField(_("members of Congress"), default=False)
    media = models.BooleanField(_("the media"), default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("privacy release")
        verbose_name_plural = _("privacy releases")

    def __str__(self) -> str:
        return f"privacy release of {self.enrollee_id}"


class MessagePreference(models.Model):
    """The enrollee's own choice for one kind of message on one channel.

    No row for a kind means the default (``constants.ON_BY_DEFAULT``); once the enrollee has
    any row for a kind, their rows decide: the kind reaches them if one row is ``enabled``.
    See ``selectors.enrollees_to_reach``.
    """

    enrollee = models.ForeignKey(
        Enrollee, on_delete=models.CASCADE, related_name="message_preferences"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=MessageKind.choices)
    channel = models.CharField(
        _("channel"), max_length=10, choices=Channel.choices, default=Channel.EMAIL
    )
    delivery = models.CharField(
        _("when"), max_length=10, choices=Cadence.choices, default=Cadence.IMMEDIATE
    )
    enabled = models.BooleanField(_("receive"), default=True)

    class Meta:
        verbose_name = _("message preference")
        verbose_name_plural = _("message preferences")
        ordering = ["enrollee", "kind", "channel"]
        constraints = [
            models.UniqueConstraint(
                fields=["enrollee", "kind", "channel"], name="message_preference_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["kind", "enrollee"], include=["enabled"], name="pref_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}/{self.channel}"


class DeletionTally(models.Model):
    """What is left of deleted accounts: a count per post, month and reason, nothing personal."""

    class Reason(models.TextChoices):
        SELF = "self", _("Deleted by the enrollee")
        INACTIVE = "inactive", _("Deleted after a period with nothing active")

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="+")
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    reason = models.CharField(_("reason"), max_length=10, choices=Reason.choices)
    count = models.PositiveIntegerField(_("accounts"), default=0)

    class Meta:
        verbose_name = _("deleted accounts")
        verbose_name_plural = _("deleted accounts")
        constraints = [
            models.UniqueConstraint(
                fields=["post", "month", "reason"], name="deletion_tally_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.reason}: {self.count}"
