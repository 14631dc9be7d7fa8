from __future__ import annotations

import re
import zoneinfo
from decimal import Decimal, InvalidOperation
from typing import Any

import pycountry
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from acs.content.taxcheck import Answers, FilingStatus
from acs.posts.models import Post

# One trillion dollars: beyond any real household, so a typo rather than a fortune.
MAX_AMOUNT = Decimal("1000000000000")
_NOISE = re.compile(r"\s|\$|USD|US", re.IGNORECASE)
_SEPARATORS = re.compile(r"[.,]")


def _plain_number(text: str) -> str | None:
    """ "12,500.50", "12.500,50", "12 500", "$12500" as "12500.50"; None if it cannot be
    read without guessing. Money has at most two decimals, so a lone separator followed by
    exactly three digits groups thousands ("10.000" and "10,000" are ten thousand, as on
    the English and the Spanish page alike), and one followed by one or two digits is the
    decimal mark; with both marks, the last is the decimal mark."""
    marks = _SEPARATORS.findall(text)
    if not marks:
        return text
    if len(set(marks)) == 2:
        decimal = text[max(text.rfind("."), text.rfind(","))]
        whole, _mark, cents = text.rpartition(decimal)
        grouping = "," if decimal == "." else "."
        groups = whole.split(grouping)
        if decimal in whole or (len(groups) > 1 and not _grouped(groups)):
            return None
        return "".join(groups) + "." + cents
    mark = marks[0]
    groups = text.split(mark)
    if _grouped(groups):  # "1,250,000", "10.000"
        return "".join(groups)
    if len(groups) == 2:  # "10000.5", "10000,50"; "10000.005" is read, then refused (cents)
        return groups[0] + "." + groups[1]
    return None


def _grouped(groups: list[str]) -> bool:
    """Thousands groups: one to three digits, then groups of exactly three."""
    return len(groups) > 1 and 1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])


class DollarField(forms.Field):
    """An amount in U.S. dollars, exact to the cent: "12,500", "$12500", "10.000,01".
    Refuses the rest in plain words. Never rounded: a threshold is "more than $10,000", and
    $10,000.01 is more (FinCEN rounds up to the next dollar, which agrees)."""

    widget = forms.TextInput

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        attrs = super().widget_attrs(widget)
        attrs.update({"inputmode": "decimal", "maxlength": "40", "autocomplete": "off"})
        return attrs

    def to_python(self, value: Any) -> Decimal | None:
        text = _NOISE.sub("", str(value or "").strip())
        if not text:
            return None
        if len(text) > 40:
            raise ValidationError(
                _("That amount is too large to be right. Check the number of digits.")
            )
        plain = _plain_number(text)
        try:
            amount = Decimal(plain) if plain is not None else None
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite():
            raise ValidationError(
                _(
                    "Enter an amount in U.S. dollars using digits, with cents if you have "
                    "them, such as 12500 or 12500.50."
                ),
                code="invalid",
            )
        if amount < 0:
            raise ValidationError(_("The amount cannot be negative. Enter 0 if you had none."))
        if amount > MAX_AMOUNT:
            raise ValidationError(
                _("That amount is too large to be right. Check the number of digits.")
            )
        if amount != amount.quantize(Decimal("0.01")):
            raise ValidationError(
                _("Enter at most two digits after the decimal point (cents)."), code="cents"
            )
        return amount


class TaxpayerCheckerForm(forms.Form):
    filing_status = forms.ChoiceField(
        label=_("How do you file your U.S. income tax return?"),
        choices=FilingStatus.choices,
        widget=forms.RadioSelect,
    )
    lives_abroad = forms.TypedChoiceField(
        label=_("Do you live outside the United States?"),
        help_text=_(
            "Answer yes if your tax home is abroad and you lived abroad for the whole year, "
            "or were abroad at least 330 full days in 12 months in a row."
        ),
        choices=[("yes", _("Yes, I live abroad")), ("no", _("No, I live in the United States"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    accounts_highest = DollarField(
        label=_("Foreign bank and financial accounts: the highest total during the year"),
        help_text=_("Add up the highest balance of each account, in U.S. dollars."),
    )
    accounts_year_end = DollarField(
        label=_("Foreign bank and financial accounts: the total on December 31"),
    )
    other_assets_highest = DollarField(
        label=_("Other foreign financial assets: the highest total during the year"),
        help_text=_(
            "Foreign stocks or bonds held outside an account, interests in foreign companies or "
            "trusts, foreign pensions. Enter 0 if none."
        ),
    )
    other_assets_year_end = DollarField(
        label=_("Other foreign financial assets: the total on December 31"),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for highest, year_end in (
            ("accounts_highest", "accounts_year_end"),
            ("other_assets_highest", "other_assets_year_end"),
        ):
            if (
                data.get(highest) is not None
                and data.get(year_end) is not None
                and data[year_end] > data[highest]
            ):
                self.add_error(
                    year_end,
                    _("The December 31 total cannot be more than the highest total of the year."),
                )
        return data

    def answers(self) -> Answers:
        data = self.cleaned_data
        return Answers(
            filing_status=data["filing_status"],
            lives_abroad=data["lives_abroad"],
            accounts_highest=data["accounts_highest"],
            accounts_year_end=data["accounts_year_end"],
            other_assets_highest=data["other_assets_highest"],
            other_assets_year_end=data["other_assets_year_end"],
        )


def _zone_choices() -> list[tuple[str, str]]:
    return [(zone, zone) for zone in sorted(zoneinfo.available_timezones()) if "/" in zone]


def _country_choices() -> list[tuple[str, str]]:
    return [
        ("", ""),
        *sorted(
            (
                (country.alpha_2, f"{country.name} ({country.alpha_2})")
                for country in pycountry.countries
            ),
            key=lambda choice: choice[1],
        ),
    ]


class PostForm(forms.Form):
    """A new post: where it is, how to reach it, and which regions it serves."""

    slug = forms.SlugField(
        label=_("Short name in addresses"),
        max_length=50,
        help_text=_("Lower-case letters, digits and hyphens, for example “quito”."),
    )
    name = forms.CharField(label=_("Name (English)"), max_length=120)
    name_es = forms.CharField(label=_("Name (Spanish)"), max_length=120)
    city = forms.CharField(label=_("City"), max_length=80)
    country_code = forms.ChoiceField(label=_("Country"))
    time_zone = forms.ChoiceField(label=_("Time zone"))
    street_address = forms.CharField(
        label=_("Street address"), widget=forms.Textarea(attrs={"rows": 3})
    )
    main_phone = forms.CharField(label=_("Main phone"), max_length=40)
    emergency_phone = forms.CharField(
        label=_("Emergency hotline"),
        max_length=40,
        help_text=_("In international form, for example +593 2 398 5000."),
    )
    public_email = forms.EmailField(label=_("Public email"), required=False)
    opening_hours = forms.CharField(
        label=_("Opening hours (English)"), max_length=200, required=False
    )
    opening_hours_es = forms.CharField(
        label=_("Opening hours (Spanish)"), max_length=200, required=False
    )
    district = forms.CharField(
        label=_("Consular district"),
        required=False,
        help_text=_(
            "ISO 3166-2 codes of the regions it serves, separated by commas (for example "
            "MX-JAL, MX-NAY). They move from the post that serves them now. Leave empty to "
            "serve every region of the country that no other post serves."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["country_code"].choices = _country_choices()
        self.fields["time_zone"].choices = [("", ""), *_zone_choices()]
        for field in self.fields.values():
            css = {forms.Textarea: "usa-textarea", forms.Select: "usa-select"}
            field.widget.attrs.setdefault("class", css.get(type(field.widget), "usa-input"))

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"].lower()
        if Post.objects.filter(slug=slug).exists():
            raise ValidationError(_("Another post already has this short name."), code="taken")
        return slug

    def clean_district(self) -> list[str] | None:
        codes = [code.strip().upper() for code in self.cleaned_data["district"].split(",")]
        codes = [code for code in codes if code]
        return codes or None
