"""The error summary at the top of a page whose form has rows (formsets): every mistake once,
in the page's order, each linked to its field (the USWDS error summary pattern)."""

from __future__ import annotations

from collections.abc import Iterable

from django.forms import BaseFormSet, Form
from django.utils.translation import gettext as _


def error_summary(
    form: Form | None = None,
    groups: Iterable[tuple[str, BaseFormSet]] = (),
    refusal: str = "",
) -> list[tuple[str, str]]:
    """(link target, text) per error. ``groups`` are (name of one row, such as "Person",
    formset); ``refusal`` is a service's refusal that belongs to no one field."""
    entries: list[tuple[str, str]] = [("", refusal)] if refusal else []

    def add(one: Form, prefix: str = "") -> None:
        entries.extend(("", f"{prefix}{error}") for error in one.non_field_errors())
        for field in one:
            target = field.auto_id
            if field.name == "date_of_birth":
                target += "_month"  # the memorable date's first control in English
            entries.extend((target, f"{prefix}{field.label}: {error}") for error in field.errors)

    if form is not None:
        add(form)
    for name, formset in groups:
        entries.extend(("", str(error)) for error in formset.non_form_errors())
        for number, one in enumerate(formset.forms, start=1):
            if not formset._should_delete_form(one):  # a removed row's mistakes do not count
                add(one, _("%(name)s %(number)d, ") % {"name": name, "number": number})
    return entries
