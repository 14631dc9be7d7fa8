"""Trips, their stops and companions, and the residence. Each service is keyword-only and owns
one transaction; a refusal is a ``ValidationError`` with a plain message (and a stable
``code``) and saves nothing."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from acs.core import clock
from acs.enrollment.models import Companion, Enrollee, Residence, Trip, TripStop
from acs.enrollment.services.accounts import enrollee_touch
from acs.posts.models import Post, Region

# A companion as the trip form gives it back: its public id (None for a new one), full name
# and date of birth.
CompanionData = tuple[uuid.UUID | None, str, date]


def _regions_check(regions: Sequence[Region]) -> None:
    """A trip or home may be in any region the installation knows (one account serves every
    post), so only the list itself is checked: at least one, each once. A region that does not
    exist cannot be given: callers hold ``Region`` rows the forms found by id."""
    if not regions:
        raise ValidationError(_("Choose at least one region."), code="no_region")
    if any(region.pk is None for region in regions):
        raise ValidationError(_("Choose a region from the list."), code="unknown_region")
    if len({region.pk for region in regions}) != len(regions):
        raise ValidationError(_("Choose each region only once."), code="duplicate_region")


def _check_dates(post: Post, arrival: date, departure: date) -> None:
    if departure < arrival:
        raise ValidationError(
            _("The departure date cannot be before the arrival date."), code="departure_first"
        )
    if departure < clock.today(post):
        raise ValidationError(
            _("This trip is already over. Enroll trips you are on or will take."),
            code="past_trip",
        )


def _check_companions(companions: Sequence[tuple[str, date]], post: Post) -> None:
    for name, born in companions:
        if not name.strip():
            raise ValidationError(_("Enter the full name of each companion."), code="companion")
        if born > clock.today(post):
            raise ValidationError(
                _("A date of birth cannot be in the future."), code="companion_born"
            )


def _refuse_overlap(
    enrollee: Enrollee, arrival: date, departure: date, *, exclude: Trip | None = None
) -> None:
    """One trip per day: a trip that shares a day (both ends count, as everywhere else) with
    another trip of the enrollee is a duplicate, unless that one was ended early. Run it
    after ``enrollee_touch``, which serializes one person's writes."""
    clashing = Trip.objects.filter(
        enrollee=enrollee,
        ended_early_at__isnull=True,
        arrival__lte=departure,
        departure__gte=arrival,
    )
    if exclude is not None:
        clashing = clashing.exclude(pk=exclude.pk)
    other = clashing.order_by("arrival", "id").first()
    if other is not None:
        raise ValidationError(
            _(
                "You already have a trip from %(arrival)s to %(departure)s. Change the dates, "
                "or change that trip instead."
            )
            % {
                "arrival": date_format(other.arrival, "DATE_FORMAT"),
                "departure": date_format(other.departure, "DATE_FORMAT"),
            },
            code="overlap",
        )


def trip_add(
    *,
    enrollee: Enrollee,
    arrival: date,
    departure: date,
    stops: Sequence[tuple[Region, str]],
    purpose: str = "",
    lodging: str = "",
    companions: Sequence[tuple[str, date]] = (),
) -> Trip:
    """A trip of ``enrollee`` through one or more regions, of any country (a trip may cross
    borders; each post's staff see the stops in its district).

    ``stops`` are (region, city or place) pairs; ``companions`` (full name, date of birth).
    Refused: departure before arrival, a trip that ended before today (on the clock of the
    post that opened the account), no region or one region twice, a trip that shares a day
    with another of the enrollee's trips that was not ended early.
    """
    post = enrollee.post
    _check_dates(post, arrival, departure)
    _regions_check([region for region, _place in stops])
    _check_companions(companions, post)
    with transaction.atomic(durable=True):
        enrollee_touch(enrollee=enrollee)
        _refuse_overlap(enrollee, arrival, departure)
        trip = Trip.objects.create(
            enrollee=enrollee,
            arrival=arrival,
            departure=departure,
            purpose=purpose.strip(),
            lodging=lodging.strip(),
        )
        TripStop.objects.bulk_create(
            TripStop(trip=trip, region=region, place=place.strip()) for region, place in stops
        )
        Companion.objects.bulk_create(
            Companion(trip=trip, full_name=name.strip(), date_of_birth=born)
            for name, born in companions
        )
    return trip


def _stops_replace(trip: Trip, stops: Sequence[tuple[Region, str]]) -> None:
    """The trip's stops become ``stops``: kept regions keep their row, others go or come."""
    wanted = {region.pk: (region, place.strip()) for region, place in stops}
    kept = {stop.region_id: stop for stop in trip.stops.all()}
    TripStop.objects.filter(trip=trip).exclude(region_id__in=wanted).delete()
    for region_id, (region, place) in wanted.items():
        stop = kept.get(region_id)
        if stop is None:
            TripStop.objects.create(trip=trip, region=region, place=place)
        elif stop.place != place:
            stop.place = place
            stop.save(update_fields=["place"])


def _companions_replace(trip: Trip, companions: Sequence[CompanionData]) -> None:
    """The trip's companions become ``companions``: listed ids are updated, ``None`` ids are
    added, the others removed. An id that is not one of this trip's is refused."""
    existing = {companion.public_id: companion for companion in trip.companions.all()}
    listed = {public_id for public_id, _name, _born in companions if public_id is not None}
    if listed - existing.keys():
        raise ValidationError(
            _("Someone in the list of companions was changed elsewhere. Please try again."),
            code="unknown_companion",
        )
    Companion.objects.filter(trip=trip).exclude(public_id__in=listed).delete()
    for public_id, name, born in companions:
        companion = existing.get(public_id) if public_id else None
        if companion is None:
            Companion.objects.create(trip=trip, full_name=name.strip(), date_of_birth=born)
        elif (companion.full_name, companion.date_of_birth) != (name.strip(), born):
            companion.full_name, companion.date_of_birth = name.strip(), born
            companion.save(update_fields=["full_name", "date_of_birth"])


def trip_update(
    *,
    trip: Trip,
    arrival: date,
    departure: date,
    stops: Sequence[tuple[Region, str]],
    purpose: str = "",
    lodging: str = "",
    companions: Sequence[CompanionData] = (),
) -> Trip:
    """Change a trip: everything it says is replaced by what is given. ``companions`` is the
    whole new list (an entry with a public id changes that companion; missing ones are
    removed). Refused like ``trip_add``, and for a trip that was ended early."""
    enrollee = trip.enrollee
    post = enrollee.post
    if trip.ended_early_at is not None:
        raise ValidationError(
            _("This trip has ended, so it cannot be changed. Add a new trip instead."),
            code="ended",
        )
    _check_dates(post, arrival, departure)
    _regions_check([region for region, _place in stops])
    _check_companions([(name, born) for _id, name, born in companions], post)
    with transaction.atomic(durable=True):
        enrollee_touch(enrollee=enrollee)
        _refuse_overlap(enrollee, arrival, departure, exclude=trip)
        trip.arrival, trip.departure = arrival, departure
        trip.purpose, trip.lodging = purpose.strip(), lodging.strip()
        trip.save(update_fields=["arrival", "departure", "purpose", "lodging"])
        _stops_replace(trip, stops)
        _companions_replace(trip, companions)
    return trip


def trip_end_early(*, trip: Trip) -> Trip:
    """The enrollee left (or is leaving) before the planned departure: from now on the trip
    no longer places them in its regions. Repeating it is harmless (the first moment stays).
    Refused for a trip that has not begun (delete it instead) or is already over."""
    if trip.ended_early_at is not None:
        return trip
    today = clock.today(trip.enrollee.post)
    if trip.arrival > today:
        raise ValidationError(
            _("This trip has not started yet. If you are not going, delete it instead."),
            code="not_started",
        )
    if trip.departure < today:
        raise ValidationError(_("This trip is already over."), code="over")
    with transaction.atomic(durable=True):
        enrollee_touch(enrollee=trip.enrollee)
        trip.ended_early_at = timezone.now()
        trip.save(update_fields=["ended_early_at"])
    return trip


def trip_delete(*, trip: Trip) -> None:
    """Remove a trip with its stops and companions (a mistake, or plans that changed)."""
    with transaction.atomic(durable=True):
        enrollee_touch(enrollee=trip.enrollee)
        trip.delete()


def residence_set(*, enrollee: Enrollee, region: Region, place: str = "") -> Residence:
    """ "I live here": replaces the enrollee's active residence, confirmed as of now. Any
    region the installation knows; the post whose district holds it sees it."""
    _regions_check([region])
    with transaction.atomic(durable=True):
        enrollee_touch(enrollee=enrollee)
        Residence.objects.filter(enrollee=enrollee, active=True).update(active=False)
        return Residence.objects.create(
            enrollee=enrollee,
            region=region,
            place=place.strip(),
            confirmed_at=timezone.now(),
            active=True,
        )


def residence_end(*, enrollee: Enrollee) -> None:
    """ "I no longer live here": the active residence stops counting (it is purged later, as
    every inactive one is). Harmless when there is none."""
    with transaction.atomic(durable=True):
        enrollee_touch(enrollee=enrollee)
        Residence.objects.filter(enrollee=enrollee, active=True).update(active=False)
