"""The people step's forms together: one row per person coming (as many as the draft says)
and the booking's contact; filled from the draft, checked at once, and handed back to it.
"""

from __future__ import annotations

from typing import Any

from django.http import QueryDict

from acs.appointments.forms import ContactForm, person_formset
from acs.appointments.wizard import Draft
from acs.core import clock

PERSON_PREFIX = "person"
CONTACT_PREFIX = "contact"


class PeopleForms:
    def __init__(self, data: QueryDict | None, *, draft: Draft) -> None:
        post = draft.service.post
        country = {"country_code": post.country_code, "country_name": post.country_name}
        formset_class = person_formset(people=draft.people_count)
        # A blank page starts from what the draft remembers; a POST from what was sent.
        initial = None if data is not None else draft.people[: draft.people_count]
        contact = None if data is not None else draft.contact
        self.formset = formset_class(
            data, prefix=PERSON_PREFIX, today=clock.today(post), initial=initial
        )
        self.contact = ContactForm(data, prefix=CONTACT_PREFIX, initial=contact, **country)

    def is_valid(self) -> bool:
        return self.formset.is_valid() and self.contact.is_valid()

    def context(self) -> dict[str, Any]:
        """The forms, and whether they were sent (the page then lists the mistakes)."""
        return {
            "formset": self.formset,
            "contact": self.contact,
            "has_errors": self.formset.is_bound,
        }
