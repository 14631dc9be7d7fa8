"""What staff pages read from a query string and write to a spreadsheet, shared by the day
sheet, the enrollee lists and any later list: a day that a hand-edited address cannot turn
into an error page, and CSV cells that a spreadsheet cannot run."""

from __future__ import annotations

import re
from datetime import date

from django.utils.translation import gettext as _

_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Far enough apart for any real day, near enough that "previous day" never overflows.
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(9998, 12, 31)
# A spreadsheet runs a cell that starts with one of these as a formula: names and contacts are
# typed by citizens, so such a cell is prefixed with an apostrophe (OWASP "CSV injection").
# Phone numbers in international form start with "+", so they get one too.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def parse_day(value: str, today: date) -> tuple[date, str]:
    """The day asked for (YYYY-MM-DD), or ``today`` with a message saying why the value was
    not used."""
    value = value.strip()
    if not value:
        return today, ""
    try:
        day = date.fromisoformat(value) if _ISO_DAY.match(value) else None
    except ValueError:
        day = None
    if day is None or not FIRST_DAY <= day <= LAST_DAY:
        message = _("“%(value)s” is not a date in the form YYYY-MM-DD. Showing today.")
        return today, message % {"value": value[:20]}
    return day, ""


def csv_cell(value: str) -> str:
    """``value`` as a spreadsheet shows it and never runs it."""
    return f"'{value}" if value.startswith(_FORMULA_START) else value
