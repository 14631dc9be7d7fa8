"""Capacity: a service's seats per slot, duration, horizon, notice and opening rules.

Reducing seats or hours never drops a booking silently. Before saving, ``capacity_misfits``
lists the future active bookings the new settings no longer fit:

- ``hours``: its time is outside every new opening rule of its weekday;
- ``grid``: inside the hours, but no longer a slot start (the duration changed, so slots
  now start at other times and it would overlap two of them);
- ``seats``: its slot holds more people than the new seats per slot.

Those bookings stay booked: the officer must have seen them (``confirmed``) before the change
is saved, and the page lists them so staff can contact or move the people. The audit entry
records before and after, and the codes of the bookings that no longer fit.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from acs.appointments.availability import local_times
from acs.appointments.constants import ACTIVE, AUDIT_SERVICE_CAPACITY_CHANGED
from acs.appointments.models import Booking, OpeningRule, Service
from acs.core.audit import audit_record, diff

_FIELDS = ["seats_per_slot", "duration_minutes", "horizon_days", "min_notice_hours"]
# Fixed English names for the audit log, which is not translated.
_DAY_NAMES = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


@dataclass(frozen=True)
class RuleData:
    """One opening rule as the form gives it: weekday (0 = Monday), from, until (local)."""

    weekday: int
    opens: time
    closes: time


@dataclass(frozen=True)
class Misfit:
    booking: Booking
    reason: str  # "hours", "grid" or "seats"
    message: str


class CapacityError(Exception):
    """A change the rules refuse; ``code`` is stable: ``unconfirmed`` (bookings that no
    longer fit were not shown to the officer: see ``misfits``) or ``rules`` (bad hours)."""

    def __init__(self, code: str, message: str, *, misfits: list[Misfit] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.misfits = misfits or []


@dataclass(frozen=True)
class CapacityResult:
    service: Service
    changed: bool
    misfits: list[Misfit] = field(default_factory=list)


def rules_check(rules: list[RuleData]) -> None:
    """Each rule ends after it starts, and rules of one weekday do not overlap."""
    by_day: dict[int, list[RuleData]] = defaultdict(list)
    for rule in rules:
        if rule.closes <= rule.opens:
            raise CapacityError("rules", _("Each opening rule must end after it starts."))
        by_day[rule.weekday].append(rule)
    for day_rules in by_day.values():
        day_rules.sort(key=lambda rule: rule.opens)
        for earlier, later in pairwise(day_rules):
            if later.opens < earlier.closes:
                raise CapacityError("rules", _("Opening rules of the same weekday overlap."))


def _inside_hours(local: datetime, minutes: int, rules: list[RuleData]) -> bool:
    start = local.replace(tzinfo=None)
    end = start + timedelta(minutes=minutes)
    return any(
        datetime.combine(start.date(), rule.opens) <= start
        and end <= datetime.combine(start.date(), rule.closes)
        for rule in rules
    )


def capacity_misfits(
    *,
    service: Service,
    seats_per_slot: int,
    duration_minutes: int,
    rules: list[RuleData],
    now: datetime | None = None,
) -> list[Misfit]:
    """The future active bookings of ``service`` that the new settings would not fit, by
    time. Reads only; one query."""
    now = now or timezone.now()
    bookings = list(
        Booking.objects.filter(service=service, status__in=ACTIVE, starts_at__gte=now)
        .select_related("post", "service")
        .order_by("starts_at", "pk")
    )
    people: dict[datetime, int] = defaultdict(int)
    for booking in bookings:
        people[booking.starts_at] += booking.people_count
    # The slot starts the new rules make, per local day, as availability makes them.
    trial = copy.copy(service)
    trial.duration_minutes = duration_minutes
    rules_by_day: dict[int, list[RuleData]] = defaultdict(list)
    for rule in rules:
        rules_by_day[rule.weekday].append(rule)
    starts: dict[date, set[datetime]] = {}
    zone = service.post.zone

    misfits = []
    for booking in bookings:
        local = booking.starts_at.astimezone(zone)
        day_rules = rules_by_day.get(local.weekday(), [])
        if local.date() not in starts:
            made = local_times(trial, local.date(), day_rules)
            starts[local.date()] = {start.astimezone(UTC) for start in made}
        if booking.starts_at in starts[local.date()]:
            if people[booking.starts_at] > seats_per_slot:
                message = ngettext(
                    "%(people)d people are booked at this time for %(seats)d place.",
                    "%(people)d people are booked at this time for %(seats)d places.",
                    seats_per_slot,
                )
                values = {"people": people[booking.starts_at], "seats": seats_per_slot}
                misfits.append(Misfit(booking, "seats", message % values))
        elif _inside_hours(local, duration_minutes, day_rules):
            message = _("Not at a start time of the new %(minutes)d-minute slots.")
            misfits.append(Misfit(booking, "grid", message % {"minutes": duration_minutes}))
        else:
            misfits.append(Misfit(booking, "hours", _("Outside the new opening hours.")))
    return misfits


def _rules_text(rules: list[RuleData] | list[OpeningRule]) -> str:
    ordered = sorted(rules, key=lambda rule: (rule.weekday, rule.opens))
    return "; ".join(
        f"{_DAY_NAMES[rule.weekday]} {rule.opens:%H:%M}–{rule.closes:%H:%M}" for rule in ordered
    )


def service_capacity_update(
    *,
    service: Service,
    seats_per_slot: int,
    duration_minutes: int,
    horizon_days: int,
    min_notice_hours: int,
    rules: list[RuleData],
    actor: AbstractBaseUser,
    confirmed: Collection[int] = (),
    now: datetime | None = None,
) -> CapacityResult:
    """Change a service's capacity and opening rules, in one transaction with its audit
    entry (before and after).

    Bookings that the change no longer fits stay booked, but every one of them must be in
    ``confirmed`` (ids the officer was shown): otherwise nothing is saved and
    ``CapacityError("unconfirmed")`` carries the full list. Saving what is already there
    changes nothing and writes no entry.
    """
    now = now or timezone.now()
    rules_check(rules)
    with transaction.atomic(durable=True):
        service = Service.objects.select_for_update().select_related("post").get(pk=service.pk)
        old_rules = list(service.opening_rules.all())
        before = {name: getattr(service, name) for name in _FIELDS}
        before["opening_rules"] = _rules_text(old_rules)
        after = {
            "seats_per_slot": seats_per_slot,
            "duration_minutes": duration_minutes,
            "horizon_days": horizon_days,
            "min_notice_hours": min_notice_hours,
            "opening_rules": _rules_text(rules),
        }
        changes = diff(before, after, [*_FIELDS, "opening_rules"])
        if not changes:
            return CapacityResult(service=service, changed=False)
        misfits = capacity_misfits(
            service=service,
            seats_per_slot=seats_per_slot,
            duration_minutes=duration_minutes,
            rules=rules,
            now=now,
        )
        if any(misfit.booking.pk not in confirmed for misfit in misfits):
            raise CapacityError(
                "unconfirmed",
                _("Some bookings no longer fit. Check them, then confirm the change."),
                misfits=misfits,
            )
        for name in _FIELDS:
            setattr(service, name, after[name])
        service.save(update_fields=_FIELDS)
        if "opening_rules" in changes:
            service.opening_rules.all().delete()
            OpeningRule.objects.bulk_create(
                [
                    OpeningRule(service=service, weekday=r.weekday, opens=r.opens, closes=r.closes)
                    for r in rules
                ]
            )
        if misfits:
            codes = " ".join(misfit.booking.code for misfit in misfits)
            changes["bookings_not_fitting"] = [None, codes]
        audit_record(
            actor=actor,
            action=AUDIT_SERVICE_CAPACITY_CHANGED,
            target=service,
            summary=f"{service}: {', '.join(changes)} changed; {len(misfits)} booking(s) no "
            "longer fit",
            changes=changes,
        )
    return CapacityResult(service=service, changed=True, misfits=misfits)
