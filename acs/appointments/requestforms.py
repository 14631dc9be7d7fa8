"""The request form of a round, as one page that works without JavaScript: how many people,
each person (the booking's person form), the contact (the booking's), and up to five
acceptable days and times of day, best first.

Forms only parse and check what was typed; whether the request may be taken (the window,
one request per person, people already booked) is ``services.rounds``'.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from acs.appointments.forms import ContactForm, person_formset
from acs.appointments.models import Round, Service
from acs.appointments.services.rounds import MAX_CHOICES
from acs.core import clock

PARTS = [
    ("any", _("Any time that day")),
    ("am", _("Morning (before 12:00)")),
    ("pm", _("Afternoon (12:00 or later)")),
]


class ChoiceForm(forms.Form):
    """One acceptable day and time of day. Only the first is required."""

    day = forms.ChoiceField(label=_("Day"), required=False)
    part = forms.ChoiceField(label=_("Time of day"), choices=PARTS, required=False)

    def __init__(self, *args: Any, days: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["day"].choices = [("", _("Choose a day")), *days]
        self.fields["day"].error_messages["invalid_choice"] = _(
            "Choose a day from the list of this round's days."
        )

    def choice(self) -> str | None:
        day = self.cleaned_data.get("day")
        return f"{day}/{self.cleaned_data.get('part') or 'any'}" if day else None


class BaseChoiceFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        if not self.choices():
            raise ValidationError(_("Choose at least one day that suits you."), code="no_choice")

    def choices(self) -> list[str]:
        return [choice for form in self.forms if (choice := form.choice())]


ChoiceFormSet = forms.formset_factory(
    ChoiceForm,
    formset=BaseChoiceFormSet,
    extra=MAX_CHOICES,
    max_num=MAX_CHOICES,
    absolute_max=MAX_CHOICES,
)


class PeopleCount(forms.Form):
    people = forms.TypedChoiceField(
        label=_("Number of people"),
        coerce=int,
        error_messages={"invalid_choice": _("Choose a number of people from the list.")},
    )

    def __init__(self, *args: Any, service: Service, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["people"].choices = [(n, str(n)) for n in range(1, service.max_people + 1)]
        self.fields["people"].help_text = _(
            "One request can cover from 1 to %(most)d people, children included. A family "
            "stays together: all of them get the same time, or none."
        ) % {"most": service.max_people}

    def count(self) -> int:
        return self.cleaned_data["people"] if self.is_valid() else 1


class RequestForms:
    """Every form of the request page, filled from ``data`` (a POST) or blank; the number
    of people comes from ``count_data`` (the address on GET, a hidden field on POST)."""

    def __init__(
        self,
        data: QueryDict | None,
        *,
        service: Service,
        round_: Round | None,
        count_data: QueryDict,
        days: list[date],
    ) -> None:
        post = service.post
        self.service, self.round = service, round_
        self.count = PeopleCount(count_data if "people" in count_data else None, service=service)
        people = self.count.count()
        self.formset = person_formset(people=people)(data, prefix="person", today=clock.today(post))
        country = {"country_code": post.country_code, "country_name": post.country_name}
        self.contact = ContactForm(data, prefix="contact", **country)
        labels = [(day.isoformat(), clock.long_date(day)) for day in days]
        self.choices = ChoiceFormSet(data, prefix="choice", form_kwargs={"days": labels})

    def is_valid(self) -> bool:
        results = [self.formset.is_valid(), self.contact.is_valid(), self.choices.is_valid()]
        return all(results)

    @property
    def email(self) -> str:
        return self.contact.cleaned_data["email"]

    def arguments(self) -> dict[str, Any]:
        """What ``services.rounds.request_create`` takes (all but the language)."""
        return {
            "round_": self.round,
            "people": self.formset.people(),
            "email": self.email,
            "phone": self.contact.cleaned_data["phone"],
            "choices": self.choices.choices(),
        }

    def context(self) -> dict[str, Any]:
        return {
            "count_form": self.count,
            "people_count": self.count.count(),
            "formset": self.formset,
            "contact": self.contact,
            "choices": self.choices,
            "has_errors": self.formset.is_bound,
        }
