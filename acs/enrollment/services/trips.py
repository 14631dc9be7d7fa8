"""Trips, their stops and companions, and the residence. Each service is keyword-only and owns
one transaction; a refusal is a ``ValidationError`` with a plain message (and a stable
``code``) and saves nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from acs.enrollment.models import Companion, Enrollee, Residence, Trip, TripStop
from acs.posts.models import Post, Region


def _regions_of_post(post: Post, regions: Sequence[Region]) -> None:
    if not regions:
        raise ValidationError(_("Choose at least one region."), code="no_region")
    if any(region.post_id != post.pk for region in regions):
        raise ValidationError(
            _("Choose regions of %(country)s only.") % {"country": post.country_name},
            code="foreign_region",
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
    """A trip of ``enrollee`` through one or more regions of their post's country.

    ``stops`` are (region, city or place) pairs; ``companions`` (full name, date of birth).
    Refused: departure before arrival, a trip that ended before today (the post's today), a
    region of another post's country.
    """
    post = enrollee.post
    if departure < arrival:
        raise ValidationError(
            _("The departure date cannot be before the arrival date."), code="departure_first"
        )
    if departure < timezone.localdate(timezone=post.zone):
        raise ValidationError(
            _("This trip is already over. Enroll trips you are on or will take."),
            code="past_trip",
        )
    _regions_of_post(post, [region for region, _place in stops])
    with transaction.atomic(durable=True):
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


def residence_set(*, enrollee: Enrollee, region: Region, place: str = "") -> Residence:
    """ "I live here": replaces the enrollee's active residence, confirmed as of now."""
    _regions_of_post(enrollee.post, [region])
    with transaction.atomic(durable=True):
        Residence.objects.filter(enrollee=enrollee, active=True).update(active=False)
        return Residence.objects.create(
            enrollee=enrollee,
            region=region,
            place=place.strip(),
            confirmed_at=timezone.now(),
            active=True,
        )
