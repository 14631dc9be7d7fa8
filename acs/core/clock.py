"""Post-local time: the one place that knows what day it is at a post and how a time is written.

Every record keeps UTC instants; people read the post's wall clock. Pages, emails, feeds and
services ask here for "today at the post", the instant a local day begins, and the text of a
time with its zone, so that a booking page, a staff day sheet, a message form and an email
never disagree about the hour or the way it is written.
"""

from __future__ import annotations

from datetime import date, datetime, time, tzinfo
from typing import TYPE_CHECKING

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

if TYPE_CHECKING:
    from acs.posts.models import Post


def _zone(where: Post | tzinfo) -> tzinfo:
    return where if isinstance(where, tzinfo) else where.zone


def now() -> datetime:
    return timezone.now()


def local(post: Post | tzinfo, instant: datetime | None = None) -> datetime:
    """``instant`` (default: now) on the post's wall clock."""
    return (instant or timezone.now()).astimezone(_zone(post))


def today(post: Post | tzinfo, instant: datetime | None = None) -> date:
    """The date at the post at ``instant`` (default: now)."""
    return local(post, instant).date()


def midnight(post: Post | tzinfo, day: date) -> datetime:
    """The instant the post's ``day`` begins. Where a zone skips midnight, zoneinfo moves
    forward as a wall clock would."""
    return datetime.combine(day, time.min, tzinfo=_zone(post))


# Writing times ------------------------------------------------------------------------------


def utc_offset_text(moment: datetime) -> str:
    """``UTC−05:00``, with a true minus sign."""
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds()) // 60 if offset else 0
    sign = "−" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{minutes:02d}"


def zone_short(moment: datetime) -> str:
    """An aware moment's zone in a table cell: "EDT" where the zone has a letter
    abbreviation, else its offset, "UTC−05:00" (Lima's is only "-05": none is invented)."""
    abbreviation = moment.tzname() or ""
    return abbreviation if abbreviation[:1].isalpha() else utc_offset_text(moment)


def zone_text(post: Post, instant: datetime | None = None) -> str:
    """The post's zone at ``instant`` as everyone reads it: "Lima time (UTC−05:00)", or "New
    York time (EDT, UTC−04:00)" where the zone has a letter abbreviation (the tz database has
    none for Lima, only "-05", so none is invented)."""
    moment = local(post, instant)
    abbreviation = moment.tzname() or ""
    offset = utc_offset_text(moment)
    zone = f"{abbreviation}, {offset}" if abbreviation[:1].isalpha() else offset
    return _("%(city)s time (%(zone)s)") % {"city": post.city, "zone": zone}


def long_date(day: date | datetime) -> str:
    """A date no reader can misread: "Wednesday, January 13, 2027" / "miércoles, 13 de enero
    de 2027"."""
    return date_format(day, pgettext("long date format", "l, F j, Y"))


def short_day(day: date | datetime) -> str:
    """A day in a list of days: "Wed, Jan 13" / "mié 13 ene"."""
    return date_format(day, pgettext("short day format", "D, M j"))


def time_text(moment: datetime) -> str:
    """A wall-clock time, 24-hour: "09:00"."""
    return date_format(moment, "H:i")


def long_datetime(moment: datetime) -> str:
    """A date and a time with no zone, for a moment already on the post's wall clock."""
    return _("%(date)s at %(time)s") % {"date": long_date(moment), "time": time_text(moment)}


def when_texts(post: Post, instant: datetime) -> dict[str, str]:
    """An instant at the post, in the active language: its date, time, zone, and all three in
    one line ("Wednesday, January 13, 2027 at 09:00, Lima time (UTC−05:00)")."""
    moment = local(post, instant)
    texts = {
        "date": long_date(moment),
        "time": time_text(moment),
        "zone": zone_text(post, moment),
    }
    texts["full"] = _("%(date)s at %(time)s, %(zone)s") % texts
    return texts


def when_text(post: Post, instant: datetime) -> str:
    return when_texts(post, instant)["full"]
