"""The booking wizard's draft: what a citizen has entered so far, kept in the session.

There is no account behind a booking, so the steps (acknowledgements → time and number of
people → people and contact → review) remember their answers in the session, one draft per
service, until the booking is made. The draft also knows which step comes next, so that a
citizen who skips ahead is sent back to the step that is missing.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.contrib import messages
from django.forms import BaseFormSet, Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from acs.appointments import availability, services
from acs.appointments.models import Service
from acs.appointments.services import closures
from acs.appointments.services.booking import priority_used_text

STEPS = ["service", "when", "people", "review"]


class Draft:
    """One service's booking in progress, under its own key in the session.

    Dates are kept as ISO strings (the session is JSON).
    """

    def __init__(self, request: HttpRequest, service: Service) -> None:
        self.request = request
        self.service = service
        self.key = f"appointments.booking.{service.slug}"
        self.data: dict[str, Any] = dict(request.session.get(self.key) or {})
        self._priority_horizon: int | None = None
        self._priority_checked = False

    def save(self) -> None:
        self.request.session[self.key] = self.data

    def clear(self) -> None:
        self.request.session.pop(self.key, None)

    # What the steps put in -----------------------------------------------------------------

    def acknowledgements_take(self, acknowledgements: dict[str, bool]) -> None:
        self.data["ack"] = acknowledgements
        self.save()

    def time_take(self, *, people: int, slot: str) -> None:
        self.data["people_count"] = people
        self.data["slot"] = slot
        self.save()

    def people_take(self, formset: BaseFormSet, contact: Form) -> None:
        self.data["people"] = [
            {
                "full_name": form.cleaned_data["full_name"],
                "date_of_birth": form.cleaned_data["date_of_birth"].isoformat(),
                "passport_number": form.cleaned_data["passport_number"],
            }
            for form in formset.forms
        ]
        self.data["contact"] = contact.cleaned_data
        self.save()

    def priority_take(self, token: str) -> str:
        """Keep a priority link's token while it is valid (it widens the horizon for this
        citizen only); forget a used, invalid or expired one. Returns its state
        (``closures.PRIORITY_VALID``, ``PRIORITY_USED`` or ``PRIORITY_INVALID``)."""
        state = closures.priority_state(service=self.service, token=token)
        if state == closures.PRIORITY_VALID:
            self.data["priority"] = token
        else:
            self.data.pop("priority", None)
        self.save()
        return state

    def priority_notice(self, state: str) -> tuple[int, str]:
        """What to tell the citizen who opened a priority link in ``state``."""
        if state == closures.PRIORITY_USED:
            return messages.WARNING, priority_used_text()
        if state != closures.PRIORITY_VALID:
            return messages.WARNING, _(
                "This priority link is not valid or has expired. You can still book any of "
                "the times open to everyone."
            )
        return messages.SUCCESS, _(
            "Priority booking: because we had to cancel your appointment, you can choose "
            "from times up to %(days)d days ahead."
        ) % {"days": self.priority_horizon}

    # What the steps read -------------------------------------------------------------------

    @property
    def priority_horizon(self) -> int | None:
        """The wider horizon of the priority link kept in the draft, while it is valid.

        Checked again on every request (it may expire mid-way), once per request.
        """
        if not self._priority_checked:
            self._priority_horizon = closures.priority_horizon(
                service=self.service, token=self.data.get("priority")
            )
            self._priority_checked = True
        return self._priority_horizon

    @property
    def acknowledged(self) -> bool:
        ack = self.data.get("ack") or {}
        needed = ["policy", *(["benefits"] if self.service.requires_benefits_ack else [])]
        return all(ack.get(name) for name in needed)

    @property
    def people_count(self) -> int:
        count = self.data.get("people_count")
        return count if isinstance(count, int) and 1 <= count <= self.service.max_people else 1

    @property
    def starts_at(self) -> datetime | None:
        return availability.parse_slot_key(self.data.get("slot") or "")

    @property
    def people(self) -> list[dict[str, str]]:
        return list(self.data.get("people") or [])

    @property
    def contact(self) -> dict[str, str]:
        return dict(self.data.get("contact") or {})

    @property
    def has_people(self) -> bool:
        return len(self.people) == self.people_count and bool(self.contact)

    def person_data(self) -> list[services.PersonData]:
        return [
            services.PersonData(
                full_name=person["full_name"],
                date_of_birth=date.fromisoformat(person["date_of_birth"]),
                passport_number=person.get("passport_number", ""),
            )
            for person in self.people
        ]

    def booking_arguments(self) -> dict[str, Any]:
        """What ``booking_create`` takes from a complete draft (all but the language)."""
        return {
            "service": self.service,
            "starts_at": self.starts_at,
            "people": self.person_data(),
            "email": self.contact["email"],
            "phone": self.contact["phone"],
            "horizon_days": self.priority_horizon,
            # Spent by the booking it makes (it works once).
            "priority_token": self.data.get("priority") if self.priority_horizon else None,
        }

    # Which step ----------------------------------------------------------------------------

    def missing_step(self) -> str | None:
        """The first step not yet done, or None when the draft is ready to book."""
        if not self.acknowledged:
            return "service"
        if self.starts_at is None:
            return "when"
        if not self.has_people:
            return "people"
        return None

    def by_request(self) -> HttpResponse | None:
        """A service given by request rounds is never booked first come: say so in plain
        words and send the citizen to its request form."""
        if not self.service.by_request:
            return None
        messages.info(
            self.request,
            _(
                "Appointments for this service are given by a draw among the requests sent in "
                "each round, not first come. Send your request here."
            ),
        )
        return redirect("appointments:request", service=self.service.slug)

    def guard(self, step: str) -> HttpResponse | None:
        """Send a citizen who skipped a step back to it, saying why; None if ``step`` may
        be shown."""
        if refused := self.by_request():
            return refused
        missing = self.missing_step()
        if missing is None or STEPS.index(missing) >= STEPS.index(step):
            return None
        reasons = {
            "service": _("Please read the requirements and confirm them first."),
            "when": _("Please choose a date and time first."),
            "people": _("Please tell us who is coming first."),
        }
        messages.warning(self.request, reasons[missing])
        return redirect(f"appointments:{missing}", service=self.service.slug)


def steps(current: int) -> dict[str, Any]:
    """The step indicator: Service, Requirements, Date and time, People, Review."""
    labels = [
        _("Service"),
        _("Requirements"),
        _("Date and time"),
        _("People"),
        _("Review and confirm"),
    ]
    states = [
        {
            "label": label,
            "state": "complete" if number < current else "current" if number == current else "todo",
        }
        for number, label in enumerate(labels, start=1)
    ]
    return {"steps": states, "step": current, "step_label": labels[current - 1]}
