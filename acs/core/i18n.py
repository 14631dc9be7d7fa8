"""Helpers for records that keep an English and a Spanish text side by side."""

from __future__ import annotations

from typing import Any

from django.utils.translation import get_language


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
