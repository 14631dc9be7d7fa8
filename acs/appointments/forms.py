"""The citizen's booking forms: acknowledgements, time, people and contact, find and reschedule.

Forms only parse and check what was typed; booking itself (capacity, one booking per person)
is decided by ``services``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from acs.appointments import availability
from acs.appointments.availability import Slot
from acs.appointments.constants import ReleaseMode
from acs.appointments.models import OpeningRule, Service
from acs.appointments.services.booking import PersonData
from acs.appointments.services.capacity import CapacityError, RuleData, rules_check
from acs.appointments.services.closures import ClosureError, closure_check
from acs.core.forms.passport import PassportField
from acs.core.forms.people import PersonForm as CorePersonForm
from acs.core.forms.people import full_name_field
from acs.core.forms.phone import PhoneField, phone_hint
from acs.core.forms.rows import RowChoiceField


class AcknowledgementForm(forms.Form):
    """What a citizen must confirm before choosing a time."""

    policy = forms.BooleanField(
        label=_("I have read the access policy"),
        error_messages={"required": _("Confirm that you have read the access policy.")},
    )

    def __init__(self, *args: Any, service: Service, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if service.requires_benefits_ack:
            self.fields["benefits"] = forms.BooleanField(
                label=_("I have read the federal benefits information"),
                error_messages={
                    "required": _("Confirm that you have read the federal benefits information.")
                },
            )

    def acknowledgements(self) -> dict[str, bool]:
        return {name: bool(self.cleaned_data.get(name)) for name in self.fields}


def _people_choices(service: Service) -> list[tuple[int, str]]:
    return [(n, str(n)) for n in range(1, service.max_people + 1)]


class PeopleCountForm(forms.Form):
    """How many people the booking covers; read from the query string on the times page."""

    people = forms.TypedChoiceField(
        label=_("Number of people"),
        help_text=_("Everyone who needs the service, children included."),
        coerce=int,
        error_messages={
            "invalid_choice": _("Choose a number of people from the list."),
            "required": _("Choose the number of people."),
        },
    )

    def __init__(self, *args: Any, service: Service, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.service = service
        self.fields["people"].choices = _people_choices(service)
        self.fields["people"].help_text = _(
            "One booking can cover from 1 to %(most)d people, children included."
        ) % {"most": service.max_people}


def offered_slot(
    service: Service,
    value: str,
    *,
    people: int | None,
    now: datetime | None,
    horizon_days: int | None = None,
) -> Slot:
    """The slot a form names, if the service offers it and (unless ``people`` is None) it
    has room for ``people`` now. ``horizon_days`` is a priority link's wider horizon."""
    starts_at = availability.parse_slot_key(value)
    slot = (
        availability.slot_offered(service, starts_at, now=now, horizon_days=horizon_days)
        if starts_at
        else None
    )
    if slot is None:
        raise ValidationError(
            _("That time is not open for booking. Please choose one of the times shown."),
            code="not_offered",
        )
    if people is not None and slot.free < people:
        message = ngettext(
            "That time is now full. Please choose another time.",
            "That time no longer has room for %(people)d people. Please choose another time.",
            people,
        )
        raise ValidationError(message % {"people": people}, code="full")
    return slot


class SlotForm(forms.Form):
    """A new time for an existing booking. Only "is it offered" is checked here: whether it
    has room is the service's decision, which then offers the nearest free times."""

    slot = forms.CharField(label=_("Time"), error_messages={"required": _("Choose a time.")})

    def __init__(self, *args: Any, service: Service, now: datetime | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.service = service
        self.now = now
        self.chosen: Slot | None = None

    def clean_slot(self) -> str:
        value = self.cleaned_data["slot"]
        self.chosen = offered_slot(self.service, value, people=None, now=self.now)
        return value


class WhenForm(PeopleCountForm):
    """The times page's POST: the number of people and the time, checked together."""

    slot = forms.CharField(label=_("Time"), error_messages={"required": _("Choose a time.")})

    def __init__(
        self,
        *args: Any,
        now: datetime | None = None,
        horizon_days: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.now = now
        self.horizon_days = horizon_days
        self.chosen: Slot | None = None

    def clean_slot(self) -> str:
        value = self.cleaned_data["slot"]
        # "people" is cleaned first (field order); if it was refused, there is nothing to check.
        people = self.cleaned_data.get("people")
        if people:
            self.chosen = offered_slot(
                self.service, value, people=people, now=self.now, horizon_days=self.horizon_days
            )
        return value


class PersonForm(CorePersonForm):
    """One person of the booking: name and date of birth as in the passport, and the U.S.
    passport number if they have one (it makes them one person for the one-booking rule)."""

    full_name = full_name_field(
        help_text=_("As written in the passport."),
        required_message=_("Enter the person’s full name."),
    )
    passport_number = PassportField(
        label=_("U.S. passport number (optional)"),
        help_text=_("Nine characters: 9 digits, or one letter followed by 8 digits."),
    )


class BasePersonFormSet(forms.BaseFormSet):
    def __init__(self, *args: Any, today: date | None = None, **kwargs: Any) -> None:
        self.today = today
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {**super().get_form_kwargs(index), "today": self.today}

    def clean(self) -> None:
        """Every person, once: the same passport twice in one booking is a typing mistake."""
        if self.total_form_count() < self.min_num:
            raise ValidationError(_("Please fill in the details of every person."))
        seen: set[str] = set()
        for form in self.forms:
            number = form.cleaned_data.get("passport_number") if form.cleaned_data else ""
            if not number:
                continue
            if number in seen:
                form.add_error(
                    "passport_number",
                    _("This passport number is already given for another person."),
                )
            seen.add(number)

    def people(self) -> list[PersonData]:
        """The people of a valid formset, as the services take them."""
        return [
            PersonData(
                full_name=form.cleaned_data["full_name"],
                date_of_birth=form.cleaned_data["date_of_birth"],
                passport_number=form.cleaned_data["passport_number"],
            )
            for form in self.forms
        ]


def person_formset(*, people: int):
    """A formset of exactly ``people`` person forms."""
    return forms.formset_factory(
        PersonForm,
        formset=BasePersonFormSet,
        extra=0,
        min_num=people,
        max_num=people,
        absolute_max=people,
        # Every form below min_num is required on its own (each says what is missing); the
        # formset's "submit at least N forms" would only repeat it. A short count is caught
        # in clean().
        validate_min=False,
        validate_max=True,
    )


class ContactForm(forms.Form):
    """One email and one phone for the whole booking."""

    email = forms.EmailField(
        label=_("Email"),
        help_text=_("We send the confirmation and a reminder here."),
        max_length=254,
        error_messages={
            "required": _("Enter an email address."),
            "invalid": _("Enter an email address like name@example.com."),
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email", "maxlength": "254"}),
    )
    phone = PhoneField(
        label=_("Phone"),
        help_text=_("Any number starting with + and the country code."),
        required_message=_("Enter a phone number."),
    )

    def __init__(
        self, *args: Any, country_code: str = "PE", country_name: str = "", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["phone"].country_code = country_code
        if country_name:
            self.fields["phone"].help_text = phone_hint(country_name)

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()


class FindForm(forms.Form):
    code = forms.CharField(
        label=_("Confirmation code"),
        help_text=_("Eight letters and digits, such as K7PX-3M9Q. It is in your email."),
        max_length=12,
        error_messages={"required": _("Enter the confirmation code.")},
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "maxlength": "12"}
        ),
    )
    email = forms.EmailField(
        label=_("Email"),
        help_text=_("The email address you booked with."),
        error_messages={
            "required": _("Enter the email address you booked with."),
            "invalid": _("Enter an email address like name@example.com."),
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


# Staff: closures and capacity ---------------------------------------------------------------


class DateInput(forms.DateInput):
    input_type = "date"


class TimeInput(forms.TimeInput):
    input_type = "time"


def _date_input() -> forms.DateInput:
    return DateInput(format="%Y-%m-%d")


def _time_input() -> forms.TimeInput:
    return TimeInput(format="%H:%M")


class StaffForm(forms.Form):
    """A back-office form whose widgets carry the USWDS classes (the templates render each
    widget with Django, which also sets ``aria-describedby`` and ``aria-invalid``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            select = isinstance(field.widget, forms.Select)
            field.widget.attrs["class"] = "usa-select" if select else "usa-input"


def local_instant(day: date, at: time, zone: Any) -> datetime | None:
    """A wall-clock time in ``zone`` as an aware instant; None if the clock skips it (the
    spring-forward gap). A time the clock shows twice is its first occurrence."""
    naive = datetime.combine(day, at)
    instant = naive.replace(tzinfo=zone)
    if instant.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        return None
    return instant


class ClosureForm(StaffForm):
    """Step 1 of a closure: what closes, from when until when (post's local time), why."""

    service = RowChoiceField(
        label=_("What closes"),
        queryset=Service.objects.none(),
        required=False,
        empty_label=_("The whole unit (every service)"),
    )
    starts_date = forms.DateField(
        label=_("Closed from (date)"),
        widget=_date_input(),
        error_messages={"required": _("Enter the date the closure starts.")},
    )
    starts_time = forms.TimeField(
        label=_("Closed from (time)"),
        widget=_time_input(),
        error_messages={"required": _("Enter the time the closure starts.")},
    )
    ends_date = forms.DateField(
        label=_("Closed until (date)"),
        widget=_date_input(),
        error_messages={"required": _("Enter the date the closure ends.")},
    )
    ends_time = forms.TimeField(
        label=_("Closed until (time)"),
        widget=_time_input(),
        error_messages={"required": _("Enter the time the closure ends.")},
    )
    reason_en = forms.CharField(
        label=_("Public reason (English)"),
        help_text=_(
            "Shown on the home page and in the email, such as “A demonstration blocks the street.”"
        ),
        max_length=200,
        error_messages={"required": _("Enter the public reason in English.")},
    )
    reason_es = forms.CharField(
        label=_("Public reason (Spanish)"),
        max_length=200,
        error_messages={"required": _("Enter the public reason in Spanish.")},
    )

    def __init__(self, *args: Any, post: Any, now: datetime | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.post = post
        self.now = now
        self.fields["service"].queryset = Service.objects.filter(post=post).order_by(
            "order", "slug"
        )

    def _instant(self, prefix: str) -> datetime | None:
        day = self.cleaned_data.get(f"{prefix}_date")
        at = self.cleaned_data.get(f"{prefix}_time")
        if day is None or at is None:
            return None
        instant = local_instant(day, at, self.post.zone)
        if instant is None:
            self.add_error(
                f"{prefix}_time",
                _("The clocks skip this time that day (daylight saving). Choose another time."),
            )
        return instant

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        starts_at, ends_at = self._instant("starts"), self._instant("ends")
        if starts_at is None or ends_at is None:
            return cleaned
        try:
            closure_check(starts_at=starts_at, ends_at=ends_at, now=self.now)
        except ClosureError as error:
            self.add_error("ends_time", error.message)
            return cleaned
        cleaned["starts_at"], cleaned["ends_at"] = starts_at, ends_at
        return cleaned


class ServiceCapacityForm(StaffForm):
    """A service's seats, duration, horizon and notice (the opening rules are a formset)."""

    seats_per_slot = forms.IntegerField(
        label=_("People per time slot"),
        min_value=1,
        max_value=100,
        help_text=_("How many people the windows can serve at the same time."),
    )
    duration_minutes = forms.IntegerField(label=_("Duration (minutes)"), min_value=5, max_value=480)
    horizon_days = forms.IntegerField(label=_("Bookable days ahead"), min_value=1, max_value=366)
    min_notice_hours = forms.IntegerField(
        label=_("Minimum notice (hours)"), min_value=0, max_value=24 * 30
    )


class RoundSettingsForm(StaffForm):
    """How a service's seats are given, and the schedule of its request rounds (the rules
    that depend on each other are the service's: ``services.round_settings``)."""

    release_mode = forms.ChoiceField(
        label=_("How appointments are given"),
        choices=ReleaseMode.choices,
        error_messages={"required": _("Choose how appointments are given.")},
    )
    round_weekday = forms.TypedChoiceField(
        label=_("A round opens on"),
        coerce=int,
        choices=OpeningRule.Weekday.choices,
        error_messages={"required": _("Choose the weekday a round opens.")},
    )
    round_opens = forms.TimeField(
        label=_("At (the post's time)"),
        widget=_time_input(),
        error_messages={"required": _("Enter a time."), "invalid": _("Enter a time as 09:00.")},
    )
    round_weeks_ahead = forms.IntegerField(
        label=_("Weeks ahead"),
        min_value=0,
        max_value=26,
        help_text=_(
            "A round opened this week gives out the slots up to the end of the week this "
            "many weeks later."
        ),
    )
    round_window_hours = forms.IntegerField(
        label=_("Request window (hours)"),
        min_value=1,
        max_value=167,
        help_text=_("How long requests are taken; the draw runs when the window closes."),
    )


class OpeningRuleForm(StaffForm):
    weekday = forms.TypedChoiceField(
        label=_("Weekday"),
        coerce=int,
        choices=[("", _("Choose a weekday")), *OpeningRule.Weekday.choices],
        error_messages={"required": _("Choose a weekday.")},
    )
    opens = forms.TimeField(
        label=_("From"), widget=_time_input(), error_messages={"required": _("Enter a time.")}
    )
    closes = forms.TimeField(
        label=_("Until"), widget=_time_input(), error_messages={"required": _("Enter a time.")}
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        opens, closes = cleaned.get("opens"), cleaned.get("closes")
        if opens is not None and closes is not None and closes <= opens:
            self.add_error("closes", _("The opening must end after it starts."))
        return cleaned


class BaseOpeningRuleFormSet(forms.BaseFormSet):
    def rules(self) -> list[RuleData]:
        """The kept rules as ``services.capacity.RuleData``."""
        return [
            RuleData(
                weekday=form.cleaned_data["weekday"],
                opens=form.cleaned_data["opens"],
                closes=form.cleaned_data["closes"],
            )
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]

    def clean(self) -> None:
        if any(self.errors):
            return
        try:
            rules_check(self.rules())
        except CapacityError as error:
            raise ValidationError(error.message, code=error.code) from error


def opening_rule_formset(*, extra: int = 2):
    return forms.formset_factory(
        OpeningRuleForm, formset=BaseOpeningRuleFormSet, extra=extra, can_delete=True
    )


# The waitlist -------------------------------------------------------------------------------


class WaitlistDaysForm(forms.Form):
    """The days a citizen can come on, among the service's open days (``days``: dates)."""

    days = forms.MultipleChoiceField(
        label=_("Days you can come"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": _("Choose at least one day."),
            "invalid_choice": _("One of the days you chose is not open. Choose again."),
        },
    )

    def __init__(self, *args: Any, days: list[date], most: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.most = most
        self.fields["days"].choices = [(day.isoformat(), day.isoformat()) for day in days]
        self.fields["days"].help_text = ngettext(
            "Choose %(most)d day.", "Choose from 1 to %(most)d days.", most
        ) % {"most": most}

    def clean_days(self) -> list[date]:
        chosen = [date.fromisoformat(value) for value in self.cleaned_data["days"]]
        if len(chosen) > self.most:
            raise ValidationError(
                ngettext("Choose %(most)d day.", "Choose from 1 to %(most)d days.", self.most)
                % {"most": self.most},
                code="too_many",
            )
        return chosen
