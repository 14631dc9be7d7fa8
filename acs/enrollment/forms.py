"""Forms of the enrollment pages. They check what a person typed and say plainly what is
wrong; saving is the services' business."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from acs.appointments.forms import MemorableDateField
from acs.enrollment.constants import CitizenStatus, Language


def memorable_date_parts(form: forms.Form, name: str) -> dict[str, str]:
    """The day, month and year of a ``MemorableDateField`` to show again: as typed, or from
    the initial value."""
    bound = form[name]
    widget = bound.field.widget
    if form.is_bound:
        values = widget.value_from_datadict(form.data, form.files, bound.html_name)
    else:
        values = widget.decompress(bound.initial)
    day, month, year = ("" if value is None else str(value) for value in values)
    return {"day": day, "month": month, "year": year}


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


class SignUpForm(_NewPasswordMixin, forms.Form):
    full_name = forms.CharField(
        label=_("Full name"),
        help_text=_("As written in your passport."),
        max_length=150,
        error_messages={"required": _("Enter your full name.")},
        widget=forms.TextInput(attrs={"autocomplete": "name", "maxlength": "150"}),
    )
    date_of_birth = MemorableDateField(label=_("Date of birth"))
    status = forms.ChoiceField(
        label=_("You are"),
        choices=CitizenStatus.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose whether you are a U.S. citizen or national.")},
    )
    email = _email_field(help_text=_("We will send a link to confirm that it is yours."))
    language = forms.ChoiceField(
        label=_("Language for our messages"),
        choices=Language.choices,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._new_password_fields()

    def clean_full_name(self) -> str:
        return " ".join(self.cleaned_data["full_name"].split())

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()

    def dob_parts(self) -> dict[str, str]:
        return memorable_date_parts(self, "date_of_birth")

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
