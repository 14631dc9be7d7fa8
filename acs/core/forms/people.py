"""A person's fields, as the booking, sign-up, profile and trip forms ask for them: the full
name as in the passport, and the date of birth as three boxes (day, month, year).

The three boxes are the USWDS "memorable date" pattern: people know their birthday as
numbers, and a date picker makes them scroll back decades. ``includes/memorable_date.html``
draws them, with ``PersonForm.dob_parts`` and ``date_of_birth_context``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from acs.core.i18n import current_language

OLDEST_AGE_YEARS = 120


class MemorableDateWidget(forms.MultiWidget):
    """Day, month and year as three controls."""

    def __init__(self) -> None:
        super().__init__(
            widgets={
                "day": forms.TextInput(),
                "month": forms.Select(),
                "year": forms.TextInput(),
            }
        )

    def decompress(self, value: Any) -> list[Any]:
        if isinstance(value, str):
            try:
                value = date.fromisoformat(value)
            except ValueError:
                return [None, None, None]
        if isinstance(value, date):
            return [value.day, value.month, value.year]
        return [None, None, None]


def month_choices() -> list[tuple[str, Any]]:
    names = [
        _("January"),
        _("February"),
        _("March"),
        _("April"),
        _("May"),
        _("June"),
        _("July"),
        _("August"),
        _("September"),
        _("October"),
        _("November"),
        _("December"),
    ]
    return [(str(number), name) for number, name in enumerate(names, start=1)]


def date_of_birth_context() -> dict[str, Any]:
    """What a page with date-of-birth boxes needs: the month names, and the boxes' order in
    the page's language (day first in Spanish, month first in English)."""
    spanish = current_language() == "es"
    return {
        "months": month_choices(),
        "dob_order": ["day", "month", "year"] if spanish else ["month", "day", "year"],
    }


def _years_ago(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February in a year that has none
        return today.replace(year=today.year - years, day=28)


class MemorableDateField(forms.MultiValueField):
    widget = MemorableDateWidget

    default_error_messages = {
        "required": _("Enter the date of birth."),
        "incomplete": _("Enter the full date of birth: day, month and year."),
        "invalid": _("Enter the date of birth in numbers, such as 19 / 1 / 1990."),
        "no_such_day": _("That day does not exist. Check the day and the month."),
        "future": _("The date of birth cannot be in the future."),
        "too_old": _("The date of birth cannot be more than 120 years ago."),
    }

    def __init__(self, *, today: date | None = None, **kwargs: Any) -> None:
        self.today = today
        fields = (
            forms.CharField(required=False, max_length=2),
            forms.CharField(required=False, max_length=2),
            forms.CharField(required=False, max_length=4),
        )
        super().__init__(fields=fields, require_all_fields=False, **kwargs)

    def compress(self, data_list: list[Any]) -> date | None:
        if not data_list:
            return None
        day, month, year = (str(part or "").strip() for part in data_list)
        if not (day and month and year):
            raise ValidationError(self.error_messages["incomplete"], code="incomplete")
        if not (day.isdigit() and month.isdigit() and year.isdigit() and len(year) == 4):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        try:
            value = date(int(year), int(month), int(day))
        except ValueError as error:
            raise ValidationError(self.error_messages["no_such_day"], code="no_such_day") from error
        today = self.today or timezone.localdate()
        if value > today:
            raise ValidationError(self.error_messages["future"], code="future")
        if value < _years_ago(today, OLDEST_AGE_YEARS):
            raise ValidationError(self.error_messages["too_old"], code="too_old")
        return value


def full_name_field(
    *, required_message: str, help_text: str = "", autocomplete: str = "name"
) -> forms.CharField:
    return forms.CharField(
        label=_("Full name"),
        help_text=help_text,
        max_length=150,
        error_messages={"required": required_message},
        widget=forms.TextInput(attrs={"autocomplete": autocomplete, "maxlength": "150"}),
    )


class PersonForm(forms.Form):
    """A person: full name (spaces tidied) and date of birth. Forms that ask for more add
    fields; each may declare its own ``full_name`` for its wording. ``today`` is the post's
    date, the latest date of birth it accepts."""

    full_name = full_name_field(required_message=_("Enter the person’s full name."))
    date_of_birth = MemorableDateField(label=_("Date of birth"))

    def __init__(self, *args: Any, today: date | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["date_of_birth"].today = today

    def clean_full_name(self) -> str:
        return " ".join(self.cleaned_data["full_name"].split())

    def dob_parts(self) -> dict[str, str]:
        """The three date-of-birth values to show again: as typed, or from the initial value."""
        bound = self["date_of_birth"]
        widget = bound.field.widget
        if self.is_bound:
            values = widget.value_from_datadict(self.data, self.files, bound.html_name)
        else:
            values = widget.decompress(bound.initial)
        day, month, year = ("" if value is None else str(value) for value in values)
        return {"day": day, "month": month, "year": year}
