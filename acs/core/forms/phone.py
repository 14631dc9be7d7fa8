"""Phone numbers typed by citizens: read as the post's country unless they start with +, kept
in E.164 (+51987654321), shown in international form.

(A post's own hotline numbers, typed by staff, are checked in ``acs.posts.phones``: those
must be in international form, with no country to assume.)
"""

from __future__ import annotations

from typing import Any

import phonenumbers
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

PHONE_MESSAGE = _(
    "Enter a phone number we can call. For a number from another country, start with "
    "+ and the country code."
)


class TelInput(forms.TextInput):
    input_type = "tel"


def phone_to_e164(text: str, country_code: str | None) -> str:
    """A phone number as typed (local to ``country_code``, or with + and a country code) in
    E.164, or a ``ValidationError`` with the code "phone"."""
    try:
        number = phonenumbers.parse(text.strip(), country_code)
    except phonenumbers.NumberParseException as error:
        raise ValidationError(PHONE_MESSAGE, code="phone") from error
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(PHONE_MESSAGE, code="phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_display(e164: str) -> str:
    """A stored number as people read it (+51 987 654 321); as stored if it cannot be read."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def phone_hint(country_name: str) -> str:
    return _("A number in %(country)s, or any number starting with + and the country code.") % {
        "country": country_name
    }


class PhoneField(forms.CharField):
    """A phone number box (``type="tel"``) that cleans to E.164. The form sets
    ``country_code`` to the post's country, the one a number without + is read in."""

    def __init__(self, *, required_message: str, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 40)
        kwargs.setdefault("widget", TelInput(attrs={"autocomplete": "tel", "maxlength": "40"}))
        super().__init__(error_messages={"required": required_message}, **kwargs)
        self.country_code: str | None = None

    def clean(self, value: Any) -> str:
        text = super().clean(value)
        return phone_to_e164(text, self.country_code) if text else ""
