"""Helpers for records that keep an English and a Spanish text side by side."""

from __future__ import annotations

from typing import Any

from django.utils.formats import date_format
from django.utils.translation import get_language, pgettext


def current_language() -> str:
    return (get_language() or "en").split("-")[0]


def localized(obj: Any, field: str, language: str | None = None) -> str:
    """Return ``obj.<field>_<language>``, falling back to English when that text is empty.

    Records without an ``_en`` twin keep English in the bare field (``name``/``name_es``).
    """
    language = language or current_language()
    english = getattr(obj, f"{field}_en", None)
    if english is None:
        english = getattr(obj, field)
    if language == "en":
        return english
    return getattr(obj, f"{field}_{language}", "") or english


def long_date(value: Any) -> str:
    """A date no reader can misread: "Wednesday, January 13, 2027" / "miércoles 13 de enero
    de 2027"."""
    return date_format(value, pgettext("long date format", "l, F j, Y"))


def long_datetime(value: Any) -> str:
    return date_format(value, pgettext("long date and time format", "l, F j, Y, H:i"))


def utc_offset_text(local: Any) -> str:
    """``UTC−05:00``, with a true minus sign, as every page and email shows a zone."""
    offset = local.utcoffset()
    minutes = int(offset.total_seconds()) // 60 if offset else 0
    sign = "−" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{minutes:02d}"
