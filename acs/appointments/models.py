"""Consular services, their opening rules and closures, and the bookings that fill them."""

from __future__ import annotations

import datetime
import secrets

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from acs.appointments.constants import (
    ACTIVE,
    WAITLIST_ACTIVE,
    BookingStatus,
    HoldStatus,
    ReleaseMode,
    RequestStatus,
    RoundState,
    WaitlistStatus,
)
from acs.core.i18n import localized
from acs.posts.models import Post


class Service(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="services")
    slug = models.SlugField(_("address"))
    order = models.PositiveSmallIntegerField(_("order"), default=100)
    active = models.BooleanField(_("open for booking"), default=True)
    name_en = models.CharField(_("name (English)"), max_length=120)
    name_es = models.CharField(_("name (Spanish)"), max_length=120)
    description_en = models.TextField(_("description (English)"), blank=True)
    description_es = models.TextField(_("description (Spanish)"), blank=True)
    checklist_en = models.TextField(
        _("what to bring (English)"), blank=True, help_text=_("One item per line, in order.")
    )
    checklist_es = models.TextField(
        _("what to bring (Spanish)"), blank=True, help_text=_("One item per line, in order.")
    )
    duration_minutes = models.PositiveSmallIntegerField(
        _("duration (minutes)"), default=15, validators=[MinValueValidator(5)]
    )
    seats_per_slot = models.PositiveSmallIntegerField(
        _("people per time slot"),
        default=1,
        validators=[MinValueValidator(1)],
        help_text=_("How many people the windows can serve at the same time."),
    )
    max_people = models.PositiveSmallIntegerField(
        _("most people in one booking"),
        default=4,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
    )
    horizon_days = models.PositiveSmallIntegerField(
        _("bookable days ahead"), default=60, validators=[MinValueValidator(1)]
    )
    min_notice_hours = models.PositiveSmallIntegerField(_("minimum notice (hours)"), default=24)
    requires_benefits_ack = models.BooleanField(
        _("requires reading the federal benefits information"), default=False
    )

    # Request rounds (docs/release-rounds.md): on the schedule below a request window
    # opens for the slots of a week ahead; at its close a draw allocates them.
    release_mode = models.CharField(
        _("how appointments are given"),
        max_length=20,
        choices=ReleaseMode.choices,
        default=ReleaseMode.FIRST_COME,
    )
    round_weekday = models.PositiveSmallIntegerField(
        _("round opens on (weekday)"),
        default=0,
        validators=[MaxValueValidator(6)],
        help_text=_("0 is Monday, 6 is Sunday, on the post's calendar."),
    )
    round_opens = models.TimeField(_("round opens at (post's time)"), default=datetime.time(9, 0))
    round_weeks_ahead = models.PositiveSmallIntegerField(
        _("weeks ahead"),
        default=3,
        validators=[MaxValueValidator(26)],
        help_text=_(
            "A round opened this week gives out the slots of the week this many weeks later."
        ),
    )
    round_window_hours = models.PositiveSmallIntegerField(
        _("request window (hours)"),
        default=48,
        # Shorter than a week, so that a service never has two windows open at once.
        validators=[MinValueValidator(1), MaxValueValidator(167)],
    )

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["post", "order", "slug"]
        constraints = [
            models.UniqueConstraint(fields=["post", "slug"], name="service_unique_slug_per_post"),
        ]

    def __str__(self) -> str:
        return self.name_en

    @property
    def name(self) -> str:
        return localized(self, "name")

    @property
    def by_request(self) -> bool:
        """Whether its seats are given by request rounds, not first come."""
        return self.release_mode == ReleaseMode.ROUNDS

    @property
    def description(self) -> str:
        return localized(self, "description")

    @property
    def checklist(self) -> list[str]:
        return [line.strip() for line in localized(self, "checklist").splitlines() if line.strip()]


class OpeningRule(models.Model):
    """On this weekday, from–to in the post's local time, the service takes appointments."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="opening_rules")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    opens = models.TimeField(_("from"))
    closes = models.TimeField(_("until"))

    class Meta:
        verbose_name = _("opening rule")
        verbose_name_plural = _("opening rules")
        ordering = ["service", "weekday", "opens"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closes__gt=models.F("opens")), name="opening_rule_closes_after_opens"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"


class Closure(models.Model):
    """The unit (or one service) is closed for a range of time, with a public reason."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="closures")
    service = models.ForeignKey(
        Service,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="closures",
        help_text=_("Leave empty to close the whole unit."),
    )
    starts_at = models.DateTimeField(_("closed from"))
    ends_at = models.DateTimeField(_("closed until"))
    reason_en = models.CharField(_("public reason (English)"), max_length=200)
    reason_es = models.CharField(_("public reason (Spanish)"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The public pages' cache key reads it (acs/core/pagecache.py): a reason corrected in the
    # admin shows on the home page at once.
    updated_at = models.DateTimeField(_("last changed"), auto_now=True)

    class Meta:
        verbose_name = _("closure")
        verbose_name_plural = _("closures")
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="closure_ends_after_start"
            ),
        ]
        indexes = [models.Index(fields=["post", "ends_at"])]

    def __str__(self) -> str:
        return f"{self.starts_at:%Y-%m-%d %H:%M}–{self.ends_at:%Y-%m-%d %H:%M} {self.reason_en}"

    @property
    def reason(self) -> str:
        return localized(self, "reason")


def new_token() -> str:
    """192 random bits for the links a citizen receives."""
    return secrets.token_urlsafe(24)


# Crockford's base32 less the look-alikes: no I, L, O, U, 0 or 1 to misread over the phone.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


class Booking(models.Model):
    post = models.ForeignKey(Post, on_delete=models.PROTECT, related_name="bookings")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="bookings")
    starts_at = models.DateTimeField(_("starts at"))
    people_count = models.PositiveSmallIntegerField(_("people"))
    status = models.CharField(
        _("status"), max_length=20, choices=BookingStatus.choices, default=BookingStatus.BOOKED
    )
    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    code = models.CharField(_("confirmation code"), max_length=9, unique=True, default=new_code)
    email = models.EmailField(_("email"))
    phone = models.CharField(_("phone"), max_length=40)
    language = models.CharField(_("language"), max_length=5, default="en")
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # Set by the door (``services.door``): when the person was admitted (the day's queue is
    # ordered by it) and when an officer marked them served.
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    served_at = models.DateTimeField(_("served at"), null=True, blank=True)
    cancelled_late = models.BooleanField(_("cancelled within 24 hours"), default=False)
    reschedule_count = models.PositiveSmallIntegerField(default=0)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    # A cancelled booking's priority link (services.closures) is spent by the booking it
    # made: the mark lives with what the link unlocks, so a forwarded email unlocks nothing.
    priority_used_at = models.DateTimeField(_("priority link used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("booking")
        verbose_name_plural = _("bookings")
        ordering = ["starts_at"]
        permissions = [
            ("view_day", _("See the day's appointments")),
            ("perform_checkin", _("Check people in at the door")),
            ("override_checkin", _("Admit someone the rules refuse, with a written reason")),
            ("mark_served", _("Mark people served")),
            ("close_unit", _("Close the unit or a service and cancel its bookings")),
            ("manage_capacity", _("Change services, opening hours and closures")),
            ("view_figures", _("See the post's figures")),
        ]
        indexes = [
            models.Index(fields=["service", "starts_at", "status"]),
            models.Index(fields=["post", "starts_at"]),
            # The seat count, under the lock and for availability: an index-only scan on
            # PostgreSQL (``include`` is ignored elsewhere).
            models.Index(
                fields=["service", "starts_at"],
                include=["people_count"],
                condition=Q(status__in=sorted(ACTIVE)),
                name="booking_active_seats",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE

    @property
    def local_start(self):
        return self.starts_at.astimezone(self.post.zone)


class PersonRecord(models.Model):
    """A person as a booking, a waitlist entry and a round request name them: the identity
    the one-per-service rules compare (``identity_key``, from services.booking)."""

    full_name = models.CharField(_("full name"), max_length=150)
    date_of_birth = models.DateField(_("date of birth"))
    passport_number = models.CharField(_("passport number"), max_length=20, blank=True)
    identity_key = models.CharField(max_length=64)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.full_name


class BookingPerson(PersonRecord):
    """One person covered by a booking. ``identity_key`` enforces one active booking per
    person per service, whatever booking they are in."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="people")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        ordering = ["booking", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "identity_key"],
                condition=Q(active=True),
                name="one_active_booking_per_person_per_service",
            ),
        ]


class SlotLock(models.Model):
    """One row per (service, start) that a booking has touched: the row a booker locks before
    counting seats, so two bookers of the same slot queue up while other slots go on."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    starts_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["service", "starts_at"], name="slot_lock_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.service_id} {self.starts_at:%Y-%m-%d %H:%M}"


# The waitlist of first-come services ---------------------------------------------------------


class WaitlistEntry(models.Model):
    """ "Tell me when a seat opens": some people, the days they can come, and an email.

    It counts (joins the queue, in ``confirmed_at`` order) only once the emailed link is
    confirmed. ``token`` is the link to confirm, see and leave it."""

    post = models.ForeignKey(Post, on_delete=models.PROTECT, related_name="+")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="waitlist")
    people_count = models.PositiveSmallIntegerField(_("people"))
    email = models.EmailField(_("email"))
    phone = models.CharField(_("phone"), max_length=40)
    language = models.CharField(_("language"), max_length=5, default="en")
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=WaitlistStatus.choices,
        default=WaitlistStatus.UNCONFIRMED,
    )
    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    # Set by the service (its ``now``): the confirmation link's age is counted from it.
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    booking = models.ForeignKey(
        Booking, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("waitlist entry")
        verbose_name_plural = _("waitlist entries")
        ordering = ["confirmed_at", "pk"]
        indexes = [models.Index(fields=["service", "status", "confirmed_at"])]

    def __str__(self) -> str:
        return f"{self.service_id} {self.email} {self.status}"

    @property
    def is_active(self) -> bool:
        return self.status in WAITLIST_ACTIVE


class WaitlistDay(models.Model):
    """One local date (the post's calendar) an entry can come on."""

    entry = models.ForeignKey(WaitlistEntry, on_delete=models.CASCADE, related_name="days")
    day = models.DateField(_("day"))

    class Meta:
        ordering = ["entry", "day"]
        constraints = [
            models.UniqueConstraint(fields=["entry", "day"], name="waitlist_day_unique"),
        ]
        indexes = [models.Index(fields=["day"])]

    def __str__(self) -> str:
        return f"{self.entry_id} {self.day}"


class WaitlistPerson(PersonRecord):
    """One person of an entry; ``active`` while the entry waits or holds an offer, so that a
    person is on a service's waitlist once (the same ``identity_key`` as a booking's)."""

    entry = models.ForeignKey(WaitlistEntry, on_delete=models.CASCADE, related_name="people")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    active = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("person on the waitlist")
        verbose_name_plural = _("people on the waitlist")
        ordering = ["entry", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "identity_key"],
                condition=Q(active=True),
                name="one_waitlist_entry_per_person_per_service",
            ),
        ]


class SeatHold(models.Model):
    """Seats of one slot offered to one waitlist entry (or held for a booking waiting for its
    emailed link, ``EmailHold``) until ``expires_at``. While ``held``
    they count as taken for everyone else (``availability``, ``booking_create``), so a seat
    is never both free and offered, nor offered to two entries."""

    # Empty for the seats of a booking made without JavaScript (``EmailHold``), held until the
    # link emailed to the booker is followed.
    entry = models.ForeignKey(
        WaitlistEntry, on_delete=models.CASCADE, null=True, blank=True, related_name="holds"
    )
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    starts_at = models.DateTimeField(_("starts at"))
    people_count = models.PositiveSmallIntegerField(_("people"))
    status = models.CharField(
        _("status"), max_length=20, choices=HoldStatus.choices, default=HoldStatus.HELD
    )
    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("offer ends at"))
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("seat offered from the waitlist")
        verbose_name_plural = _("seats offered from the waitlist")
        ordering = ["created_at", "pk"]
        constraints = [
            # One offer at a time per entry: two freed seats never go to the same people.
            models.UniqueConstraint(
                fields=["entry"],
                condition=Q(status=HoldStatus.HELD),
                name="one_held_offer_per_waitlist_entry",
            ),
        ]
        indexes = [
            models.Index(
                fields=["service", "starts_at"],
                condition=Q(status=HoldStatus.HELD),
                name="seat_hold_held",
            ),
            models.Index(fields=["status", "expires_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.entry_id} {self.starts_at:%Y-%m-%d %H:%M} {self.status}"


class EmailHold(models.Model):
    """A booking asked for without JavaScript (the proof of work could not run): its seats
    are held by ``hold`` for a few minutes, and it is booked only when the booker follows
    the link emailed to them (``hold.token``). What the booking will be is kept here."""

    hold = models.OneToOneField(SeatHold, on_delete=models.CASCADE, related_name="email_hold")
    post = models.ForeignKey(Post, on_delete=models.PROTECT, related_name="+")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    email = models.EmailField(_("email"))
    phone = models.CharField(_("phone"), max_length=40)
    language = models.CharField(_("language"), max_length=5, default="en")
    # A closure's priority link the booking was started with: spent when it is booked.
    priority_token = models.CharField(max_length=64, blank=True)
    booking = models.ForeignKey(
        Booking, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("booking waiting for its email")
        verbose_name_plural = _("bookings waiting for their email")

    def __str__(self) -> str:
        return f"{self.service_id} {self.email} hold {self.hold_id}"


class EmailHoldPerson(PersonRecord):
    """One person of a held booking; ``active`` while the seat is held, so that a person
    holds at most one seat of a service at a time (the same ``identity_key`` as a
    booking's)."""

    email_hold = models.ForeignKey(EmailHold, on_delete=models.CASCADE, related_name="people")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("person in a held booking")
        verbose_name_plural = _("people in held bookings")
        ordering = ["email_hold", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "identity_key"],
                condition=Q(active=True),
                name="one_email_hold_per_person_per_service",
            ),
        ]


def new_reference() -> str:
    """128 random bits: a request's reference, from which its id in the published draw is
    derived (``draw.pseudonym``)."""
    return secrets.token_hex(16)


class Round(models.Model):
    """One request round of a service: a window for requests, then one draw.

    ``seed`` stays secret until the draw; its SHA-256 (``commitment``) is public from the
    window's opening, so the post cannot choose the seed once it has seen the requests.
    """

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="rounds")
    post = models.ForeignKey(Post, on_delete=models.PROTECT, related_name="rounds")
    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    opens_at = models.DateTimeField(_("requests from"))
    closes_at = models.DateTimeField(_("requests until"))
    first_day = models.DateField(_("first day offered"))
    last_day = models.DateField(_("last day offered"))
    state = models.CharField(
        _("state"), max_length=20, choices=RoundState.choices, default=RoundState.OPEN
    )
    seed = models.CharField(max_length=64, editable=False)
    commitment = models.CharField(_("commitment (SHA-256 of the seed)"), max_length=64)
    drawn_at = models.DateTimeField(_("drawn at"), null=True, blank=True)
    # Figures of the draw, kept for the staff's demand-and-supply table.
    requests_count = models.PositiveIntegerField(_("requests"), default=0)
    people_count = models.PositiveIntegerField(_("people"), default=0)
    seats_count = models.PositiveIntegerField(_("seats"), default=0)
    served_requests = models.PositiveIntegerField(_("requests served"), default=0)
    served_people = models.PositiveIntegerField(_("people served"), default=0)
    # What the round page and its JSON publish once drawn (``draw.published_check`` reads it).
    published = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("request round")
        verbose_name_plural = _("request rounds")
        ordering = ["-opens_at"]
        constraints = [
            models.UniqueConstraint(fields=["service", "opens_at"], name="round_once_per_opening"),
            models.CheckConstraint(
                condition=Q(closes_at__gt=models.F("opens_at")), name="round_closes_after_opens"
            ),
        ]
        indexes = [models.Index(fields=["state", "closes_at"])]

    def __str__(self) -> str:
        return f"{self.service_id} {self.opens_at:%Y-%m-%d %H:%M}"


class RoundRequest(models.Model):
    """A citizen's request in a round: who, how to reach them, which times they accept."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="requests")
    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    reference = models.CharField(max_length=32, unique=True, default=new_reference)
    email = models.EmailField(_("email"))
    phone = models.CharField(_("phone"), max_length=40)
    language = models.CharField(_("language"), max_length=5, default="en")
    people_count = models.PositiveSmallIntegerField(_("people"))
    # Ranked: ``["2027-02-01/am", "2027-02-03/any"]`` (``draw.choice_parse``).
    choices = models.JSONField(_("acceptable times, best first"), default=list)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=RequestStatus.choices,
        default=RequestStatus.UNCONFIRMED,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    starts_at = models.DateTimeField(_("time drawn"), null=True, blank=True)
    booking = models.ForeignKey(
        Booking, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("round request")
        verbose_name_plural = _("round requests")
        ordering = ["round", "id"]
        indexes = [models.Index(fields=["round", "status"])]

    def __str__(self) -> str:
        return self.reference


class RoundRequestPerson(PersonRecord):
    """One person of a request. Active once the request is confirmed; the partial unique
    index keeps each person in one confirmed request per round."""

    request = models.ForeignKey(RoundRequest, on_delete=models.CASCADE, related_name="people")
    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="+")
    active = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        ordering = ["request", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["round", "identity_key"],
                condition=Q(active=True),
                name="one_request_per_person_per_round",
            ),
        ]
        indexes = [models.Index(fields=["round", "identity_key"])]
