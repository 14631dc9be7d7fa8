"""Phone numbers as a reader needs them: a tap-to-call link and the ways to dial it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class DialForms:
    tel: str  # for href="tel:…"
    international: str  # +51 1 6182000
    national: str  # (01) 6182000, from a phone inside the country
    from_us: str  # 011 51 1 6182000, from a phone in the United States


def validate_phone(value: str) -> None:
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as error:
        raise ValidationError(
            _("Enter the number in international form, starting with + and the country code.")
        ) from error
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_("This is not a valid phone number."))


# Every page's frame shows the post's hotline in four forms: parsing and formatting them was
# about a millisecond of each page's CPU, for two numbers that hardly ever change.
@lru_cache(maxsize=256)
def dial_forms(value: str) -> DialForms:
    number = phonenumbers.parse(value, None)
    fmt = phonenumbers.PhoneNumberFormat
    return DialForms(
        tel=phonenumbers.format_number(number, fmt.E164),
        international=phonenumbers.format_number(number, fmt.INTERNATIONAL),
        national=phonenumbers.format_number(number, fmt.NATIONAL),
        from_us=phonenumbers.format_out_of_country_calling_number(number, "US"),
    )
