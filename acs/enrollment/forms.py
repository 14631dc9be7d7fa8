"""Forms of the enrollment pages. They check what a person typed and say plainly what is
wrong; saving is the services' business."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from acs.core.forms.passport import PassportField, is_other_passport, is_us_passport
from acs.core.forms.people import PersonForm, full_name_field
from acs.core.forms.phone import PhoneField, phone_hint
from acs.enrollment.constants import Cadence, CitizenStatus, Language, MessageKind, PhoneKind

# Account forms -----------------------------------------------------------------------------


def _email_field(**kwargs: Any) -> forms.EmailField:
    return forms.EmailField(
        label=_("Email address"),
        max_length=254,
        error_messages={
            "required": _("Enter your email address."),
            "invalid": _("Enter an email address like name@example.com."),
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email", "maxlength": "254"}),
        **kwargs,
    )


class _NewPasswordMixin:
    """A new password typed twice, held to the project's password rules."""

    password_help = _("At least 12 characters. A few words you will remember work well.")

    def _new_password_fields(self) -> None:
        self.fields["password"] = forms.CharField(
            label=_("Password"),
            help_text=self.password_help,
            strip=False,
            error_messages={"required": _("Choose a password.")},
            widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        )
        self.fields["password_again"] = forms.CharField(
            label=_("Password again"),
            strip=False,
            error_messages={"required": _("Type the password again.")},
            widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        )

    def _clean_new_password(self, cleaned: dict[str, Any], *, user: Any = None) -> None:
        password, again = cleaned.get("password"), cleaned.get("password_again")
        if password and again and password != again:
            self.add_error("password_again", _("The two passwords are not the same."))
            return
        if password:
            try:
                password_validation.validate_password(password, user)
            except ValidationError as error:
                self.add_error("password", error)


class _PersonForm(PersonForm):
    """Who the enrollee is: the fields sign-up and the profile share."""

    full_name = full_name_field(
        help_text=_("As written in your passport."),
        required_message=_("Enter your full name."),
    )
    status = forms.ChoiceField(
        label=_("You are"),
        choices=CitizenStatus.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose whether you are a U.S. citizen or national.")},
    )
    language = forms.ChoiceField(
        label=_("Language for our messages"),
        choices=Language.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose a language.")},
    )

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()


class SignUpForm(_NewPasswordMixin, _PersonForm):
    email = _email_field(help_text=_("We will send a link to confirm that it is yours."))
    field_order = ["full_name", "date_of_birth", "status", "email", "language"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._new_password_fields()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        # The similarity check compares the password with the name and the address.
        person = type(
            "Person",
            (),
            {"full_name": cleaned.get("full_name", ""), "email": cleaned.get("email", "")},
        )
        self._clean_new_password(cleaned, user=person)
        return cleaned

    def account_fields(self) -> dict[str, Any]:
        """What ``enrollee_sign_up`` takes, but the post."""
        fields = ("email", "password", "full_name", "date_of_birth", "status", "language")
        return {name: self.cleaned_data[name] for name in fields}


class SignInForm(forms.Form):
    email = _email_field()
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        error_messages={"required": _("Enter your password.")},
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()


class EmailOnlyForm(forms.Form):
    email = _email_field()

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()


class NewPasswordForm(_NewPasswordMixin, forms.Form):
    def __init__(self, *args: Any, enrollee: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.enrollee = enrollee
        self._new_password_fields()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        self._clean_new_password(cleaned, user=self.enrollee)
        return cleaned


class PasswordChangeForm(NewPasswordForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        current = forms.CharField(
            label=_("Current password"),
            strip=False,
            error_messages={"required": _("Enter your current password.")},
            widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        )
        self.fields = {"current_password": current, **self.fields}
        self.fields["password"].label = _("New password")
        self.fields["password_again"].label = _("New password again")

    def clean_current_password(self) -> str:
        from django.contrib.auth.hashers import check_password

        value = self.cleaned_data["current_password"]
        if not check_password(value, self.enrollee.password):
            raise ValidationError(_("That is not your current password."), code="wrong")
        return value


# Self-service forms ------------------------------------------------------------------------
# The account pages: profile, phones, trips, residence, contacts, privacy, messages. Rows that
# people add or remove (phones, the places of a trip, companions) come as a few blank rows
# plus a "remove" box on each saved one, so everything works without JavaScript.


class _DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


def _travel_date(label: str, required_message: str) -> forms.DateField:
    # <input type="date"> sends ISO dates; a browser without a date picker shows a text box,
    # hence the example in the hint.
    return forms.DateField(
        label=label,
        help_text=_("For example: 2025-07-14 (year, month, day)."),
        input_formats=["%Y-%m-%d"],
        widget=_DateInput(),
        error_messages={
            "required": required_message,
            "invalid": _("Enter the date as year, month and day, such as 2025-07-14."),
        },
    )


class _RemovableFormSet(forms.BaseFormSet):
    """A formset whose saved rows have a "remove" box (Django's DELETE) and whose blank rows
    are left out when nothing was typed in them."""

    remove_label = _("Remove")

    def add_fields(self, form: forms.Form, index: int | None) -> None:
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].label = self.remove_label

    def kept(self) -> list[dict[str, Any]]:
        """The cleaned rows to save: neither removed nor left blank."""
        return [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]


class ProfileForm(_PersonForm):
    email = _email_field(
        help_text=_(
            "If you change it, we send a link to the new address. Open it to go on using "
            "your account."
        )
    )
    passport_number = PassportField(
        label=_("Passport number (optional)"),
        help_text=_("It helps us find you faster in an emergency."),
        us_only=False,
    )

    field_order = ["full_name", "date_of_birth", "status", "email", "language", "passport_number"]

    @classmethod
    def initial_of(cls, enrollee: Any) -> dict[str, Any]:
        return {name: getattr(enrollee, name) for name in cls.base_fields}

    def clean(self) -> dict[str, Any]:
        """A U.S. passport number has a fixed form; a family member who is not a citizen has
        another country's passport, so theirs is only checked for length and letters."""
        cleaned = super().clean()
        number = cleaned.get("passport_number", "")
        us_passport = cleaned.get("status") in (CitizenStatus.CITIZEN, CitizenStatus.NATIONAL)
        if number and us_passport and not is_us_passport(number):
            self.add_error(
                "passport_number",
                _(
                    "A U.S. passport number has 9 characters: 9 digits, or one letter followed "
                    "by 8 digits. Leave it empty if you prefer."
                ),
            )
        elif number and not is_other_passport(number):
            self.add_error(
                "passport_number",
                _("Enter the passport number with letters and digits only, or leave it empty."),
            )
        return cleaned


class PhoneForm(forms.Form):
    public_id = forms.UUIDField(required=False, widget=forms.HiddenInput)
    number = PhoneField(label=_("Phone number"), required_message=_("Enter the phone number."))
    kind = forms.ChoiceField(label=_("Kind"), choices=PhoneKind.choices, initial=PhoneKind.MOBILE)
    sms_capable = forms.BooleanField(label=_("Can receive text messages"), required=False)

    def __init__(self, *args: Any, country_code: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["number"].country_code = country_code


class BasePhoneFormSet(_RemovableFormSet):
    remove_label = _("Remove this number")

    def __init__(self, *args: Any, country_code: str, **kwargs: Any) -> None:
        self.country_code = country_code
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {**super().get_form_kwargs(index), "country_code": self.country_code}

    def phones(self) -> list[dict[str, Any]]:
        """The kept rows as ``phones_set`` takes them: without the "remove" box."""
        return [{k: v for k, v in row.items() if k != "DELETE"} for row in self.kept()]

    def clean(self) -> None:
        seen: set[str] = set()
        for form in self.forms:
            data = form.cleaned_data
            number = (data or {}).get("number")
            if not number or data.get("DELETE"):
                continue
            if number in seen:
                form.add_error("number", _("This number is already in the list."))
            seen.add(number)


PhoneFormSet = forms.formset_factory(
    PhoneForm,
    formset=BasePhoneFormSet,
    extra=2,
    max_num=10,
    absolute_max=20,
    validate_max=True,
    can_delete=True,
    can_delete_extra=False,
)


class TripForm(forms.Form):
    arrival = _travel_date(_("Arrival date"), _("Enter the date you arrive."))
    departure = _travel_date(_("Departure date"), _("Enter the date you leave."))
    purpose = forms.CharField(
        label=_("Purpose of the trip (optional)"),
        help_text=_("For example: tourism, business, study, visiting family."),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"maxlength": "200"}),
    )
    lodging = forms.CharField(
        label=_("Where you stay, or a local contact (optional)"),
        help_text=_("A hotel, an address, or a person we can call who knows where you are."),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": "3", "maxlength": "1000"}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        arrival, departure = cleaned.get("arrival"), cleaned.get("departure")
        if arrival and departure and departure < arrival:
            self.add_error("departure", _("The departure date cannot be before the arrival date."))
        return cleaned


class _GroupedBoundField(forms.BoundField):
    @property
    def option_groups(self) -> list[dict[str, Any]]:
        """The choices as the select template draws them: each group (an <optgroup>, or
        ``label`` None for options outside any group) with its options and which is chosen.
        Read by ``enrollment/self/_select.html``, which loops over choices itself."""
        chosen = str(self.value())
        groups: list[dict[str, Any]] = []
        for value, label in self.field.choices:
            grouped = isinstance(label, list | tuple)
            options = label if grouped else [(value, label)]
            marked = [(str(v), text, str(v) == chosen) for v, text in options]
            groups.append({"label": value if grouped else None, "options": marked})
        return groups


class RegionField(forms.TypedChoiceField):
    """A choice of region, grouped by country (an <optgroup> each): a plain select that
    works without JavaScript."""

    def get_bound_field(self, form: forms.BaseForm, field_name: str) -> forms.BoundField:
        return _GroupedBoundField(form, self, field_name)


def _region_choices(field: forms.Field, choices: list[tuple[Any, Any]]) -> None:
    """Regions grouped by country (``tripforms.region_choices``). Anything else sent back (an
    id that is no region, a code, a second-level subdivision) is refused in plain words."""
    field.choices = [("", _("- Select -")), *choices]
    field.error_messages["invalid_choice"] = _(
        "We do not know that region. Choose one from the list, under its country."
    )


class StopForm(forms.Form):
    """One region of the trip, with an optional city or place. A blank row is ignored."""

    region = RegionField(label=_("Region"), coerce=int, required=False)
    place = forms.CharField(
        label=_("City or place (optional)"),
        required=False,
        max_length=150,
        widget=forms.TextInput(attrs={"maxlength": "150"}),
    )

    def __init__(self, *args: Any, region_choices: list[tuple[Any, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _region_choices(self.fields["region"], region_choices)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("place", "").strip() and not cleaned.get("region"):
            self.add_error("region", _("Choose the region of this place."))
        return cleaned


class BaseStopFormSet(forms.BaseFormSet):
    def __init__(self, *args: Any, region_choices: list[tuple[Any, Any]], **kwargs: Any) -> None:
        self.region_choices = region_choices
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {**super().get_form_kwargs(index), "region_choices": self.region_choices}

    def clean(self) -> None:
        seen: set[int] = set()
        for form in self.forms:
            region = (form.cleaned_data or {}).get("region")
            if not region:
                continue
            if region in seen:
                form.add_error("region", _("You chose this region twice. Choose it once."))
            seen.add(region)
        if not seen and not any(form.errors for form in self.forms):
            raise ValidationError(_("Choose at least one region you will visit."), code="no_region")

    def chosen(self) -> list[tuple[int, str]]:
        """(region id, place) of each row with a region."""
        return [
            (form.cleaned_data["region"], form.cleaned_data.get("place", ""))
            for form in self.forms
            if form.cleaned_data.get("region")
        ]


def stop_formset(*, rows: int, saved: int = 0) -> type[BaseStopFormSet]:
    """A formset of exactly ``rows`` rows of region and place, ``saved`` of them filled in
    from the trip."""
    return forms.formset_factory(
        StopForm,
        formset=BaseStopFormSet,
        extra=rows - saved,
        max_num=rows,
        absolute_max=rows,
        validate_max=True,
    )


class CompanionForm(PersonForm):
    public_id = forms.UUIDField(required=False, widget=forms.HiddenInput)
    full_name = full_name_field(
        required_message=_("Enter the person’s full name."), autocomplete="off"
    )

    field_order = ["public_id", "full_name", "date_of_birth"]


class BaseCompanionFormSet(_RemovableFormSet):
    remove_label = _("Remove this person from the trip")


CompanionFormSet = forms.formset_factory(
    CompanionForm,
    formset=BaseCompanionFormSet,
    extra=3,
    max_num=30,
    absolute_max=40,
    validate_max=True,
    can_delete=True,
    can_delete_extra=False,
)


class ResidenceForm(forms.Form):
    region = RegionField(
        label=_("Region"),
        coerce=int,
        error_messages={"required": _("Choose the region where you live.")},
    )
    place = forms.CharField(
        label=_("City or place (optional)"),
        required=False,
        max_length=150,
        widget=forms.TextInput(attrs={"maxlength": "150", "autocomplete": "address-level2"}),
    )

    def __init__(self, *args: Any, region_choices: list[tuple[Any, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _region_choices(self.fields["region"], region_choices)


class ContactForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=150,
        error_messages={"required": _("Enter the name of your contact.")},
        widget=forms.TextInput(attrs={"maxlength": "150", "autocomplete": "off"}),
    )
    relation = forms.CharField(
        label=_("Relation to you (optional)"),
        help_text=_("For example: mother, friend, employer."),
        required=False,
        max_length=60,
        widget=forms.TextInput(attrs={"maxlength": "60"}),
    )
    phone = PhoneField(
        label=_("Phone (optional if you give an email)"),
        required=False,
        required_message=_("Enter the phone number."),
    )
    email = forms.EmailField(
        label=_("Email (optional if you give a phone)"),
        required=False,
        max_length=254,
        error_messages={"invalid": _("Enter an email address like name@example.com.")},
        widget=forms.EmailInput(attrs={"maxlength": "254", "autocomplete": "off"}),
    )

    def __init__(self, *args: Any, country_code: str, country_name: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["phone"].country_code = country_code
        self.fields["phone"].help_text = phone_hint(country_name)

    def clean_name(self) -> str:
        return " ".join(self.cleaned_data["name"].split())

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        no_errors = not (self.has_error("phone") or self.has_error("email"))
        if no_errors and not (cleaned.get("phone") or cleaned.get("email")):
            self.add_error(
                "phone", _("Give a phone number or an email address, so that we can reach them.")
            )
        return cleaned


class PrivacyForm(forms.Form):
    """Each a separate yes or no; all no until the person says otherwise."""

    emergency_contacts = forms.BooleanField(label=_("My emergency contacts"), required=False)
    family = forms.BooleanField(label=_("My family"), required=False)
    representative = forms.BooleanField(
        label=_("A legal or medical representative acting for me"), required=False
    )
    congress = forms.BooleanField(
        label=_("Members of Congress who ask on my behalf"), required=False
    )
    media = forms.BooleanField(label=_("The media"), required=False)


class PreferencesForm(forms.Form):
    """For each kind of message: by email, by text message, at once or in a daily digest;
    and the language of every message."""

    language = forms.ChoiceField(
        label=_("Language of our messages"),
        choices=Language.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose a language.")},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for kind in MessageKind:
            self.fields[f"{kind.value}_email"] = forms.BooleanField(
                label=_("By email"), required=False
            )
            self.fields[f"{kind.value}_sms"] = forms.BooleanField(
                label=_("By text message (SMS)"), required=False
            )
            self.fields[f"{kind.value}_delivery"] = forms.ChoiceField(
                label=_("When"),
                choices=Cadence.choices,
                initial=Cadence.IMMEDIATE,
                widget=forms.RadioSelect,
                error_messages={"required": _("Choose at once or a daily digest.")},
            )

    @staticmethod
    def initial_of(enrollee: Any, choices: dict[str, Any]) -> dict[str, Any]:
        initial: dict[str, Any] = {"language": enrollee.language}
        for kind, choice in choices.items():
            initial[f"{kind}_email"] = choice.email
            initial[f"{kind}_sms"] = choice.sms
            initial[f"{kind}_delivery"] = choice.delivery
        return initial

    def kinds(self) -> list[dict[str, Any]]:
        """Per kind, for the page: its name and its three fields."""
        return [
            {
                "kind": kind.value,
                "label": kind.label,
                "email": self[f"{kind.value}_email"],
                "sms": self[f"{kind.value}_sms"],
                "delivery": self[f"{kind.value}_delivery"],
            }
            for kind in MessageKind
        ]

    def choices(self) -> dict[str, dict[str, Any]]:
        data = self.cleaned_data
        return {
            kind.value: {
                "email": data[f"{kind.value}_email"],
                "sms": data[f"{kind.value}_sms"],
                "delivery": data[f"{kind.value}_delivery"],
            }
            for kind in MessageKind
        }
