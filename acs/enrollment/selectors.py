"""Read queries over enrollment that pages, the API and messaging share."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time

from django.db.models import Exists, OuterRef, Q, QuerySet

from acs.enrollment.constants import ON_BY_DEFAULT, MessageKind
from acs.enrollment.models import Enrollee, MessagePreference, Residence, TripStop
from acs.posts.models import Post


def enrollees_to_reach(
    *, post: Post, region_ids: Iterable[int], starts: date, ends: date, kind: str
) -> QuerySet[Enrollee]:
    """Every active enrollee of ``post`` who is, or may be, in one of ``region_ids`` on some
    day of [``starts``, ``ends``] (both included) and who takes messages of ``kind``.

    *Where*: a trip whose [arrival, departure] overlaps the range and that stops in one of the
    regions, unless it was ended early before ``starts`` began (in the post's time zone); or an
    active residence in one of the regions.

    *Kind* (the default when the enrollee has chosen nothing): with no ``MessagePreference``
    row for ``kind``, the enrollee receives it if the kind is in ``constants.ON_BY_DEFAULT``
    (emergency and security: a post must reach everyone it knows is in danger) and not
    otherwise. Once they have any row for the kind, their rows decide: they receive it if at
    least one row (any channel) is ``enabled``. So a row with ``enabled=False`` is an opt-out
    of a default-on kind, and a row with ``enabled=True`` an opt-in to the others. Which
    channels to use is the delivery step's business, not this one's.

    One row per person whatever the number of matching trips and stops: the places are an
    ``IN (… UNION …)`` and the preferences ``EXISTS`` subqueries, never a join, so there is no
    ``DISTINCT`` over the result.
    One query; the caller can take ``.values_list("pk", flat=True).iterator()``.
    """
    region_ids = list(region_ids)
    kind = MessageKind(kind)
    day_began = datetime.combine(starts, time.min, tzinfo=post.zone)
    # Who is there: a UNION of ids that the region indexes find, so the database starts from
    # the regions instead of walking every enrollee (an OR of two EXISTS cannot use them).
    on_trip = (
        TripStop.objects.filter(
            region_id__in=region_ids,
            trip__arrival__lte=ends,
            trip__departure__gte=starts,
        )
        .filter(Q(trip__ended_early_at__isnull=True) | Q(trip__ended_early_at__gte=day_began))
        .order_by()  # SQLite allows no ORDER BY inside a UNION's parts
        .values("trip__enrollee_id")
    )
    resident = (
        Residence.objects.filter(region_id__in=region_ids, active=True)
        .order_by()
        .values("enrollee_id")
    )
    preferences = MessagePreference.objects.filter(enrollee_id=OuterRef("pk"), kind=kind)
    wants = Exists(preferences.filter(enabled=True))
    if kind in ON_BY_DEFAULT:
        wants = Q(wants) | ~Exists(preferences)
    return Enrollee.objects.filter(
        wants, pk__in=on_trip.union(resident), post=post, active=True
    ).order_by("pk")
