"""Choice fields of database rows that check an id is an id before asking the database.

Django's ``ModelChoiceField`` and ``ModelMultipleChoiceField`` pass what was posted straight
to a query: an id of twenty digits made SQLite raise ``OverflowError`` (a server error), found
by the page fuzzer (tests/test_fuzz_pages.py). These refuse anything but a whole number that
fits a database id as "not one of the choices", the field's own message, before any query.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

_ID = re.compile(r"[0-9]{1,18}")  # below 2**63: any integer primary key


def _is_id(field: forms.ModelChoiceField, value: Any) -> bool:
    if field.to_field_name:  # chosen by another column: the query is safe as it is
        return True
    return _ID.fullmatch(str(value).strip()) is not None


class RowChoiceField(forms.ModelChoiceField):
    def to_python(self, value: Any) -> Any:
        if value not in self.empty_values and not _is_id(self, value):
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class RowsChoiceField(forms.ModelMultipleChoiceField):
    def _check_values(self, value: Any) -> Any:
        try:
            values = frozenset(value)
        except TypeError:
            values = frozenset()
        for each in values:
            if not _is_id(self, each):
                raise ValidationError(
                    self.error_messages["invalid_choice"],
                    code="invalid_choice",
                    params={"value": each},
                )
        return super()._check_values(value)
