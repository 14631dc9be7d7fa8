"""The one passport rule: how a typed passport number is cleaned, and what a U.S. one looks like.

The booking form, the enrollment profile, the API and the booking service all go through
here, so that "a1234 5678" typed in a form and "A1234-5678" sent to the API are stored, and
counted for the one-booking-per-person rule, as the same "A12345678".
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# A U.S. passport book or card number: nine digits, or (next-generation books) one letter and
# eight digits.
_US_PASSPORT = re.compile(r"\d{9}|[A-Z]\d{8}")
# Another country's passport: letters and digits only, of a plausible length.
_OTHER_PASSPORT = re.compile(r"[A-Z0-9]{5,20}")
# The separators people type between groups of characters: spaces and every kind of dash.
# Anything else (a dot, a slash) is kept, so that a typing mistake is shown, not guessed at.
_SEPARATORS = re.compile(r"[\s\-‐‑–]+")


def normalize_passport(value: str | None) -> str:
    """Upper case, without the spaces and dashes people type between groups of characters."""
    return _SEPARATORS.sub("", value or "").upper()


def is_us_passport(number: str) -> bool:
    """Whether a normalised number has the form of a U.S. passport number."""
    return bool(_US_PASSPORT.fullmatch(number))


def is_other_passport(number: str) -> bool:
    """Whether a normalised number could be another country's passport number."""
    return bool(_OTHER_PASSPORT.fullmatch(number))


class PassportField(forms.CharField):
    """An optional passport number, normalised; with ``us_only`` it must be a U.S. one.

    The length limit applies to what was typed (spaces included), as the page's
    ``maxlength`` does; the rule applies to the normalised number.
    """

    default_error_messages = {
        "passport": _(
            "A U.S. passport number has 9 characters: 9 digits, or one letter followed "
            "by 8 digits. Leave it empty if you do not have one."
        ),
    }

    def __init__(self, *, us_only: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 30)
        kwargs.setdefault(
            "widget",
            forms.TextInput(
                attrs={"autocomplete": "off", "autocapitalize": "characters", "maxlength": "30"}
            ),
        )
        super().__init__(**kwargs)
        self.us_only = us_only

    def clean(self, value: Any) -> str:
        number = normalize_passport(super().clean(value))
        if number and self.us_only and not is_us_passport(number):
            raise ValidationError(self.error_messages["passport"], code="passport")
        return number
