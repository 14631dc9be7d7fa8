"""The waitlist's pages put together: the request form (days, people, contact) checked at
once, the page of an entry behind its emailed link, and the page of an offer.

The views (``views/public.py``) only read the request, call these and a service, and render.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, QueryDict
from django.utils import timezone

from acs.appointments import selectors, summary
from acs.appointments.constants import HoldStatus, WaitlistStatus
from acs.appointments.forms import ContactForm, PeopleCountForm, WaitlistDaysForm, person_formset
from acs.appointments.models import SeatHold, Service, WaitlistEntry
from acs.appointments.services import waitlist
from acs.appointments.services.holds import hold_refusal
from acs.core import clock
from acs.core import pow as proof_of_work
from acs.core.forms.people import date_of_birth_context


def _people_count(service: Service, data: QueryDict) -> int:
    form = PeopleCountForm(data, service=service)
    return form.cleaned_data["people"] if form.is_valid() else 1


class JoinForms:
    """The request's forms: the days, one row per person (as many as ``people``), the
    contact; bound to a POST or blank, checked together."""

    def __init__(self, request: HttpRequest, service: Service) -> None:
        posted = request.method == "POST"
        data = request.POST if posted else None
        post = service.post
        self.service = service
        self.people = _people_count(service, request.POST if posted else request.GET)
        self.open_days = waitlist.days_open(service)
        self.days = WaitlistDaysForm(
            data, prefix="wait", days=self.open_days, most=waitlist.MOST_DAYS
        )
        formset_class = person_formset(people=self.people)
        self.formset = formset_class(data, prefix="person", today=clock.today(post))
        self.contact = ContactForm(
            data,
            prefix="contact",
            country_code=post.country_code,
            country_name=post.country_name,
        )

    def is_valid(self) -> bool:
        return all([self.days.is_valid(), self.formset.is_valid(), self.contact.is_valid()])

    def join_arguments(self, language: str) -> dict[str, Any]:
        """What ``waitlist.waitlist_join`` takes from valid forms."""
        return {
            "service": self.service,
            "days": self.days.cleaned_data["days"],
            "people": self.formset.people(),
            "email": self.contact.cleaned_data["email"],
            "phone": self.contact.cleaned_data["phone"],
            "language": language,
        }


def _day_choices(forms: JoinForms) -> list[dict[str, Any]]:
    chosen = set(forms.days.data.getlist("wait-days")) if forms.days.is_bound else set()
    return [
        {
            "value": day.isoformat(),
            "label": clock.long_date(day),
            "checked": day.isoformat() in chosen,
        }
        for day in forms.open_days
    ]


def join_page(forms: JoinForms, **extra: Any) -> dict[str, Any]:
    """The request page: the days to choose from, the people, the contact and the check."""
    return {
        "service": forms.service,
        "people": forms.people,
        "count_form": PeopleCountForm(initial={"people": forms.people}, service=forms.service),
        "days_form": forms.days,
        "day_choices": _day_choices(forms),
        "most_days": waitlist.MOST_DAYS,
        "formset": forms.formset,
        "contact": forms.contact,
        "has_errors": forms.formset.is_bound,
        **date_of_birth_context(),
        **proof_of_work.widget_context(),
        **extra,
    }


def entry_page(entry: WaitlistEntry, **extra: Any) -> dict[str, Any]:
    """An entry behind its link: its state, days and people, and what can be done."""
    post = entry.post
    offer = (
        selectors.waitlist_current_offer(entry) if entry.status == WaitlistStatus.OFFERED else None
    )
    return {
        "entry": entry,
        "service": entry.service,
        "days": [clock.long_date(day.day) for day in entry.days.all()],
        "people": [person.full_name for person in entry.people.all()],
        "offer": offer,
        "offer_when": clock.when_texts(post, offer.starts_at) if offer else None,
        "offer_until": clock.when_text(post, offer.expires_at) if offer else "",
        "can_confirm": entry.status == WaitlistStatus.UNCONFIRMED,
        "can_leave": entry.status
        in (WaitlistStatus.UNCONFIRMED, WaitlistStatus.WAITING, WaitlistStatus.OFFERED),
        **extra,
    }


def offer_page(hold: SeatHold, **extra: Any) -> dict[str, Any]:
    """An offer behind its claim link: the time, the people, until when it is held, and
    whether it can still be claimed (else why not, in plain words)."""
    post = hold.service.post
    refusal = hold_refusal(hold, now=timezone.now())
    return {
        "hold": hold,
        "entry": hold.entry,
        "service": hold.service,
        "when": clock.when_texts(post, hold.starts_at),
        "until": clock.when_text(post, hold.expires_at),
        "address_lines": summary.address_lines(post),
        "people": [person.full_name for person in hold.entry.people.all()],
        "claimable": refusal is None,
        "claimed": hold.status == HoldStatus.CLAIMED,
        "booking": hold.entry.booking if hold.status == HoldStatus.CLAIMED else None,
        "error_message": extra.pop("error_message", "") or (refusal.message if refusal else ""),
        **extra,
    }
