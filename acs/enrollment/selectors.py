"""Read queries over enrollment that pages, the API and messaging share."""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import (
    CharField,
    Count,
    Exists,
    Expression,
    F,
    Func,
    Lookup,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    prefetch_related_objects,
)
from django.db.models.functions import Lower, Replace
from django.shortcuts import get_object_or_404
from django.utils import timezone

from acs.core import clock
from acs.enrollment.constants import ON_BY_DEFAULT, PRIVACY_FIELDS, Cadence, Channel, MessageKind
from acs.enrollment.models import (
    Companion,
    EmergencyContact,
    Enrollee,
    MessagePreference,
    Phone,
    PrivacyRelease,
    Residence,
    Trip,
    TripStop,
)
from acs.posts.models import Post, Region


class _AmongIds(Lookup):
    """``lhs IN (ids)``, which PostgreSQL is given as ``lhs = ANY(ARRAY(ids))``.

    Why: given ``id IN (subquery)`` with ~100,000 ids, PostgreSQL prefers walking every
    enrollee (a merge join in id order, or a hash join over a full scan) to probing for each
    id, the more so in a server-side cursor (``.iterator()``), which it plans for its first
    rows. ``ARRAY(ids)`` is computed once, and ``= ANY`` of it can only be index probes, which
    the btree makes in id order (it sorts the array and drops duplicates), so there is no sort
    or de-duplication on top either. The price: the planner cannot know the array's length and
    guesses a handful of rows, so a query that joins this result to another table gets a
    nested loop (fine where that table has an index on the enrollee). Not registered as a
    lookup; used as a filter expression.
    """

    lookup_name = "among_ids"

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} IN {rhs}", (*lhs_params, *rhs_params)

    def as_postgresql(self, compiler: Any, connection: Any) -> Any:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY(ARRAY{rhs})", (*lhs_params, *rhs_params)


def enrollees_to_reach(
    *, post: Post, region_ids: Iterable[int], starts: date, ends: date, kind: str
) -> QuerySet[Enrollee]:
    """Every active enrollee with a verified email who is, or may be, in one of
    ``region_ids`` on some day of [``starts``, ``ends``] (both included) and who takes
    messages of ``kind``.

    *Whose*: the regions decide, not the post that opened the account (one account serves
    every post). The caller passes regions of ``post``'s district (``alerts`` checks a
    message's regions against its post), so a post's message reaches the trips' stops and
    the homes in its district and nobody else; ``post`` gives the clock of ``starts``.

    *Verified*: ``email_verified_at`` is set. An unverified address may not be the
    enrollee's, so nothing is sent to it (nor, by this query, to their phone).

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

    How it runs (PostgreSQL; see benchmarks/enrollment.py and docs/enrollment.md): the ids of
    the people there are found from the region indexes (trip stops joined to their trips, and
    residences), each part keeping only those who take the kind (a hashed anti-join on the
    opted out, or a semi-join on the opted in: no probe per person); that list of ids is
    then checked against the index ``enrollee_reachable`` (active, verified), one probe per
    person without reading the table (see ``_AmongIds``). Nobody else is read.

    One row per person whatever the number of matching trips and stops (the ids are a list
    the enrollees are looked up in, never a join), in id order, with no ``DISTINCT``.
    One query; the caller can take ``.values_list("pk", flat=True).iterator()``.
    """
    region_ids = list(region_ids)
    kind = MessageKind(kind)
    day_began = clock.midnight(post, starts)

    def takes_kind(enrollee_id: str) -> Exists:
        """The person whose id is the field ``enrollee_id`` of the row takes ``kind``."""
        rows = MessagePreference.objects.filter(kind=kind)
        enabled = rows.filter(enabled=True)
        if kind not in ON_BY_DEFAULT:
            return Exists(enabled.filter(enrollee_id=OuterRef(enrollee_id)))
        # Opted out: a disabled row and no enabled one. Written as one NOT EXISTS (rather
        # than "no disabled row, or an enabled one": an OR keeps PostgreSQL from turning the
        # test into a join) so that it is a hashed anti-join, not two probes per person.
        opted_out = rows.filter(enrollee_id=OuterRef(enrollee_id), enabled=False).exclude(
            Exists(enabled.filter(enrollee_id=OuterRef("enrollee_id")))
        )
        return ~Exists(opted_out)

    on_trip = (
        TripStop.objects.filter(
            takes_kind("trip__enrollee_id"),
            region_id__in=region_ids,
            trip__arrival__lte=ends,
            trip__departure__gte=starts,
        )
        .filter(Q(trip__ended_early_at__isnull=True) | Q(trip__ended_early_at__gte=day_began))
        .order_by()  # SQLite allows no ORDER BY inside a UNION's parts
        .values("trip__enrollee_id")
    )
    resident = (
        Residence.objects.filter(takes_kind("enrollee_id"), region_id__in=region_ids, active=True)
        .order_by()
        .values("enrollee_id")
    )
    # UNION ALL: someone on a trip and at home is in the list twice, which costs nothing (the
    # lookup drops duplicates) where UNION would de-duplicate the whole list first.
    there = on_trip.union(resident, all=True)
    return Enrollee.objects.filter(
        _AmongIds(F("pk"), there),
        active=True,
        email_verified_at__isnull=False,
    ).order_by("pk")


# The staff pages: who is in each region on a day, the list with contact details, one record.
#
# "Of a post": one account serves every post, so a post's staff see the people with a trip
# stop or an active residence in its district (its regions), and of each only the trips that
# stop there (with those stops) and the homes there; identity and contact details whole.
#
# "Present in a region on a day": a trip whose [arrival, departure] includes the day (both
# ends included) with a stop in the region, unless it was ended early before the day began on
# the post's clock; or an active residence in the region. The pages list only active
# enrollees with a verified email (an unverified address may not be theirs), and the counts
# count the same people, so that a region's number is the length of the list it links to.

# Letters the name search reads as their base letter, so that "perez" finds "Pérez" and
# "PENA" finds "Peña": the Spanish ones everywhere, and on PostgreSQL other common ones too.
# Not PostgreSQL's unaccent (an extension, so a migration) nor ICU, so that SQLite works too.
_SPANISH_LETTERS, _SPANISH_BASES = "áéíóúüñ", "aeiouun"
_OTHER_LETTERS, _OTHER_BASES = "àâäãåçèêëìîïòôöõøùû", "aaaaaceeeiiiooooouu"
# Combining accents (a name typed decomposed): acute, tilde, diaeresis; on PostgreSQL also
# grave and circumflex.
_SPANISH_MARKS, _OTHER_MARKS = "\u0301\u0303\u0308", "\u0300\u0302"


class _Folded(Func):
    """The text lower-cased, without accents, for the name search.

    PostgreSQL: one TRANSLATE over every letter above (characters it has no base for are
    dropped: the combining accents). SQLite, the demo database, has no TRANSLATE and its
    parser gives up at about 30 nested calls: there it is one REPLACE per Spanish letter, in
    both cases, because SQLite's LOWER() folds ASCII only.
    """

    function = "LOWER"
    arity = 1
    output_field = CharField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        letters = _SPANISH_LETTERS + _OTHER_LETTERS + _SPANISH_MARKS + _OTHER_MARKS
        bases = _SPANISH_BASES + _OTHER_BASES
        translated = Func(
            Lower(self.source_expressions[0]),
            Value(letters),
            Value(bases),
            function="TRANSLATE",
            output_field=CharField(),
        )
        return compiler.compile(translated)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        expression: Expression = Lower(self.source_expressions[0])
        pairs = [
            *zip(_SPANISH_LETTERS, _SPANISH_BASES, strict=True),
            *zip(_SPANISH_LETTERS.upper(), _SPANISH_BASES, strict=True),
            *((mark, "") for mark in _SPANISH_MARKS),
        ]
        for letter, base in pairs:
            expression = Replace(expression, Value(letter), Value(base))
        return compiler.compile(expression)


# Words of a name search that are used; the rest are ignored (each one costs a scan).
_SEARCH_WORDS = 5


@dataclass(frozen=True)
class RegionCount:
    region: Region
    people: int
    companions: int


@dataclass(frozen=True)
class RegionCounts:
    regions: list[RegionCount]  # every region of the post, by name, zeros included
    people: int  # distinct: someone present in two regions counts once here
    companions: int


def _day_began(post: Post, day: date) -> datetime:
    return clock.midnight(post, day)


def _trip_covers(post: Post, day: date, prefix: str = "") -> Q:
    """The trip (``prefix`` leads from the queried model to it) covers ``day``."""
    ended = f"{prefix}ended_early_at"
    return Q(**{f"{prefix}arrival__lte": day, f"{prefix}departure__gte": day}) & (
        Q(**{f"{ended}__isnull": True}) | Q(**{f"{ended}__gte": _day_began(post, day)})
    )


def _listed(prefix: str = "") -> Q:
    """The enrollee (``prefix`` leads to it) is one the staff pages show."""
    return Q(**{f"{prefix}active": True, f"{prefix}email_verified_at__isnull": False})


def _district(post: Post) -> QuerySet[Region]:
    return Region.objects.filter(post=post).values("pk")


def _of_district(post: Post) -> Q:
    """The enrollee has a trip stop, or an active residence, in ``post``'s district."""
    stop = TripStop.objects.filter(trip__enrollee_id=OuterRef("pk"), region__in=_district(post))
    home = Residence.objects.filter(
        enrollee_id=OuterRef("pk"), region__in=_district(post), active=True
    )
    return Q(Exists(stop)) | Q(Exists(home))


def _stops_in(post: Post) -> Prefetch:
    """A trip's stops in ``post``'s district only, with their regions."""
    stops = TripStop.objects.filter(region__in=_district(post)).select_related("region")
    return Prefetch("stops", queryset=stops.order_by("id"))


def _stopping_in(post: Post, trips: QuerySet[Trip]) -> QuerySet[Trip]:
    """``trips`` that stop in ``post``'s district, with only those stops and companions."""
    there = TripStop.objects.filter(trip_id=OuterRef("pk"), region__in=_district(post))
    return trips.filter(Exists(there)).prefetch_related(
        _stops_in(post), Prefetch("companions", queryset=Companion.objects.order_by("id"))
    )


def _residents(post: Post) -> QuerySet[Residence]:
    return Residence.objects.filter(_listed("enrollee__"), active=True, region__in=_district(post))


def enrollee_counts_by_region(*, post: Post, day: date) -> RegionCounts:
    """How many people are present in each region of ``post`` on ``day``, and how many
    companions travel with them there.

    A person counts once per region however many of their trips (or a trip and their home)
    put them there; a companion counts in each region their trip stops in. Five queries,
    each counted by the database, so the cost does not grow with the number of people.
    """
    stops = TripStop.objects.filter(
        _trip_covers(post, day, "trip__"),
        _listed("trip__enrollee__"),
        region__in=_district(post),
    )
    per_region = (
        stops.order_by()
        .values("region_id")
        .annotate(
            people=Count("trip__enrollee", distinct=True), companions=Count("trip__companions")
        )
    )
    travelling = {row["region_id"]: row for row in per_region}
    # Residents who are not also on a trip there, so that nobody counts twice in a region.
    on_trip_there = TripStop.objects.filter(
        _trip_covers(post, day, "trip__"),
        region_id=OuterRef("region_id"),
        trip__enrollee_id=OuterRef("enrollee_id"),
    )
    at_home = dict(
        _residents(post)
        .filter(~Exists(on_trip_there))
        .order_by()
        .values("region_id")
        .annotate(people=Count("id"))  # one active residence per enrollee (a constraint)
        .values_list("region_id", "people")
    )
    present = stops.order_by().values("trip__enrollee_id")
    present = present.union(_residents(post).order_by().values("enrollee_id"))
    regions = [
        RegionCount(
            region=region,
            people=travelling.get(region.pk, {}).get("people", 0) + at_home.get(region.pk, 0),
            companions=travelling.get(region.pk, {}).get("companions", 0),
        )
        for region in Region.objects.filter(post=post).order_by("name", "code")
    ]
    return RegionCounts(
        regions=regions,
        people=Enrollee.objects.filter(pk__in=present).count(),
        companions=stops.aggregate(n=Count("trip__companions", distinct=True))["n"],
    )


def _present_in(post: Post, region: Region, day: date) -> QuerySet:
    """Ids of the people present in ``region`` on ``day``: a UNION the region indexes find,
    as in ``enrollees_to_reach``."""
    on_trip = (
        TripStop.objects.filter(_trip_covers(post, day, "trip__"), region=region)
        .order_by()
        .values("trip__enrollee_id")
    )
    resident = Residence.objects.filter(region=region, active=True).order_by().values("enrollee_id")
    return on_trip.union(resident)


def _trips_from(post: Post, day: date) -> QuerySet[Trip]:
    """Trips not over on ``day`` (current or upcoming) that stop in ``post``'s district,
    with those stops and their companions."""
    trips = (
        Trip.objects.filter(departure__gte=day)
        .filter(Q(ended_early_at__isnull=True) | Q(ended_early_at__gte=_day_began(post, day)))
        .order_by("arrival", "id")
    )
    return _stopping_in(post, trips)


def enrollees_for_staff(
    *, post: Post, day: date, region: Region | None = None, text: str = ""
) -> QuerySet[Enrollee]:
    """The enrollees of ``post`` the staff list shows, by name: everyone with a trip stop or
    an active residence in its district, or those present in ``region`` (one of its) on
    ``day``; narrowed to names containing every word of ``text`` (case and accents ignored).

    Each comes with ``phones``, ``emergency_contacts``, ``residences_active`` (a list of at
    most one, with its region, if it is in the district) and ``trips_shown`` (not over on
    ``day``, stopping in the district, with those stops and companions): seven queries for a
    page however many rows (the rows, then six prefetches).
    """
    queryset = Enrollee.objects.filter(_listed(), _of_district(post))
    if region is not None:
        queryset = queryset.filter(pk__in=_present_in(post, region, day))
    # Both sides folded by the database, so that they are folded alike on each backend.
    words = unicodedata.normalize("NFC", text).split()[:_SEARCH_WORDS]
    if words:
        queryset = queryset.alias(folded_name=_Folded("full_name"))
        for word in words:
            queryset = queryset.filter(folded_name__contains=_Folded(Value(word)))
    return queryset.prefetch_related(
        Prefetch("phones", queryset=Phone.objects.order_by("id")),
        Prefetch(
            "residences",
            queryset=Residence.objects.filter(
                active=True, region__in=_district(post)
            ).select_related("region"),
            to_attr="residences_active",
        ),
        Prefetch("trips", queryset=_trips_from(post, day), to_attr="trips_shown"),
        Prefetch("emergency_contacts", queryset=EmergencyContact.objects.order_by("id")),
    ).order_by("full_name", "id")


def enrollee_for_staff(*, post: Post, pk: int) -> Enrollee | None:
    """One enrollee of ``post`` (active or not; one with a trip stop or an active residence
    in its district) with what their staff page shows: their trips that stop in the district
    (only those stops) with companions, their residences in the district (the active one
    first), and, whole, phones, emergency contacts, privacy release and message preferences.
    ``None`` for anyone else."""
    trips = _stopping_in(post, Trip.objects.order_by("arrival", "id"))
    residences = (
        Residence.objects.filter(region__in=_district(post))
        .select_related("region")
        .order_by("-active", "-confirmed_at")
    )
    return (
        Enrollee.objects.filter(_of_district(post), pk=pk)
        .select_related("post", "privacy_release")
        .prefetch_related(
            Prefetch("phones", queryset=Phone.objects.order_by("id")),
            Prefetch("residences", queryset=residences),
            Prefetch("trips", queryset=trips),
            Prefetch("emergency_contacts", queryset=EmergencyContact.objects.order_by("id")),
            Prefetch(
                "message_preferences",
                queryset=MessagePreference.objects.order_by("kind", "channel"),
            ),
        )
        .first()
    )


# The citizen's own records: the account pages and the download ---------------------------


@dataclass(frozen=True)
class KindChoice:
    """How the enrollee takes one kind of message."""

    email: bool
    sms: bool = False
    delivery: str = Cadence.IMMEDIATE


def preferences_of(enrollee: Enrollee) -> dict[str, KindChoice]:
    """The enrollee's choice for every kind, as ``selectors.enrollees_to_reach`` reads it:
    a kind with no rows has its default (``ON_BY_DEFAULT`` by email, at once). Uses the
    prefetched ``message_preferences`` when there are."""
    rows: dict[str, dict[str, MessagePreference]] = {}
    for row in enrollee.message_preferences.all():
        rows.setdefault(row.kind, {})[row.channel] = row
    choices = {}
    for kind in MessageKind:
        mine = rows.get(kind)
        if not mine:
            choices[kind.value] = KindChoice(email=kind in ON_BY_DEFAULT)
            continue
        email, sms = mine.get(Channel.EMAIL), mine.get(Channel.SMS)
        choices[kind.value] = KindChoice(
            email=bool(email and email.enabled),
            sms=bool(sms and sms.enabled),
            delivery=(email or sms).delivery,
        )
    return choices


def enrollee_with_records(enrollee: Enrollee) -> Enrollee:
    """``enrollee`` with every record of theirs loaded (phones, residences, trips with stops
    and companions, contacts, privacy release, preferences): eight queries, whatever the
    numbers. The account's front page and the download read this.
    """
    prefetch_related_objects(
        [enrollee],
        Prefetch("phones", queryset=Phone.objects.order_by("id")),
        Prefetch(
            "residences",
            queryset=Residence.objects.select_related("region").order_by("-active", "-id"),
        ),
        Prefetch(
            "trips",
            queryset=Trip.objects.order_by("arrival", "id").prefetch_related(
                Prefetch(
                    "stops", queryset=TripStop.objects.select_related("region").order_by("id")
                ),
                Prefetch("companions", queryset=Companion.objects.order_by("id")),
            ),
        ),
        Prefetch("emergency_contacts", queryset=EmergencyContact.objects.order_by("id")),
        Prefetch("message_preferences", queryset=MessagePreference.objects.order_by("kind")),
        "privacy_release",
    )
    return enrollee


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _privacy_export(enrollee: Enrollee) -> dict[str, bool]:
    try:
        release = enrollee.privacy_release
    except PrivacyRelease.DoesNotExist:
        return dict.fromkeys(PRIVACY_FIELDS, False)
    return {name: getattr(release, name) for name in PRIVACY_FIELDS}


def _trip_export(trip: Trip) -> dict[str, Any]:
    return {
        "id": str(trip.public_id),
        "arrival": _iso(trip.arrival),
        "departure": _iso(trip.departure),
        "ended_early_at": _iso(trip.ended_early_at),
        "purpose": trip.purpose,
        "lodging_or_local_contact": trip.lodging,
        "regions": [
            {
                "code": stop.region.code,
                "name": stop.region.name,
                "country": stop.region.country_code,
                "place": stop.place,
            }
            for stop in trip.stops.all()
        ],
        "companions": [
            {
                "id": str(companion.public_id),
                "full_name": companion.full_name,
                "date_of_birth": _iso(companion.date_of_birth),
            }
            for companion in trip.companions.all()
        ],
        "created_at": _iso(trip.created_at),
    }


def enrollee_export(*, enrollee: Enrollee) -> dict[str, Any]:
    """Everything held about the enrollee, for them to download as JSON: every trip and
    home whichever post's district they are in (one account serves every post), dates in
    ISO 8601, the public ids of their records, never a database key or the password hash.
    ``post`` names the post where the account was opened."""
    person = enrollee_with_records(enrollee)
    return {
        "exported_at": _iso(timezone.now()),
        "post": person.post.display_name,
        "account": {
            "email": person.email,
            "email_verified_at": _iso(person.email_verified_at),
            "created_at": _iso(person.created_at),
            "last_signed_in_at": _iso(person.last_sign_in_at),
            "last_active_at": _iso(person.last_active_at),
        },
        "profile": {
            "full_name": person.full_name,
            "date_of_birth": _iso(person.date_of_birth),
            "status": person.status,
            "language": person.language,
            "passport_number": person.passport_number,
        },
        "phones": [
            {
                "id": str(phone.public_id),
                "number": phone.number,
                "kind": phone.kind,
                "can_receive_text_messages": phone.sms_capable,
            }
            for phone in person.phones.all()
        ],
        "residences": [
            {
                "region": {
                    "code": home.region.code,
                    "name": home.region.name,
                    "country": home.region.country_code,
                },
                "place": home.place,
                "last_confirmed_at": _iso(home.confirmed_at),
                "active": home.active,
            }
            for home in person.residences.all()
        ],
        "trips": [_trip_export(trip) for trip in person.trips.all()],
        "emergency_contacts": [
            {
                "id": str(contact.public_id),
                "name": contact.name,
                "relation": contact.relation,
                "phone": contact.phone,
                "email": contact.email,
            }
            for contact in person.emergency_contacts.all()
        ],
        "privacy_release": _privacy_export(person),
        "message_preferences": {
            kind: {"email": choice.email, "sms": choice.sms, "delivery": choice.delivery}
            for kind, choice in preferences_of(person).items()
        },
    }


# A person's own records, for their account pages ----------------------------------------
# Every read starts from the signed-in enrollee, so a record named in a URL is found only among
# their own (another person's id is a 404, like one that does not exist).


def trip_own(enrollee: Enrollee, public_id: uuid.UUID) -> Trip:
    """One of the person's trips, or a 404."""
    trip = get_object_or_404(Trip.objects.filter(enrollee=enrollee), public_id=public_id)
    trip.enrollee = enrollee  # the same object: no second query for its post
    return trip


def contact_own(enrollee: Enrollee, public_id: uuid.UUID) -> EmergencyContact:
    """One of the person's emergency contacts, or a 404."""
    contact = get_object_or_404(
        EmergencyContact.objects.filter(enrollee=enrollee), public_id=public_id
    )
    contact.enrollee = enrollee
    return contact


def residence_current(enrollee: Enrollee) -> Residence | None:
    return enrollee.residences.filter(active=True).select_related("region").first()


def phones_saved(enrollee: Enrollee) -> list[dict[str, Any]]:
    """The person's phones as the phone form's rows."""
    return [
        {"public_id": p.public_id, "number": p.number, "kind": p.kind, "sms_capable": p.sms_capable}
        for p in enrollee.phones.order_by("id")
    ]


def contacts_list(enrollee: Enrollee) -> list[EmergencyContact]:
    return list(enrollee.emergency_contacts.order_by("id"))


def privacy_initial(enrollee: Enrollee) -> dict[str, bool]:
    """The person's privacy choices as the form's initial values (none saved: all no)."""
    release = PrivacyRelease.objects.filter(enrollee=enrollee).first()
    if release is None:
        return {}
    return {name: getattr(release, name) for name in PRIVACY_FIELDS}


def has_sms_phone(enrollee: Enrollee) -> bool:
    """Whether a text message could reach the person (the preferences page says if not)."""
    return enrollee.phones.filter(sms_capable=True).exists()
