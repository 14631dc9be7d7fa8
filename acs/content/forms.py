from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from acs.content.taxcheck import Answers, FilingStatus

# One trillion dollars: beyond any real household, so a typo rather than a fortune.
MAX_AMOUNT = Decimal("1000000000000")
_GROUPING = re.compile(r"[\s,$]|USD", re.IGNORECASE)


class DollarField(forms.Field):
    """A whole-dollar amount. Accepts "12,500" and "$12500"; refuses the rest in plain words."""

    widget = forms.TextInput

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        attrs = super().widget_attrs(widget)
        attrs.update({"inputmode": "numeric", "maxlength": "40", "autocomplete": "off"})
        return attrs

    def to_python(self, value: Any) -> Decimal | None:
        text = _GROUPING.sub("", str(value or "").strip())
        if not text:
            return None
        if len(text) > 40:
            raise ValidationError(
                _("That amount is too large to be right. Check the number of digits.")
            )
        try:
            amount = Decimal(text)
        except InvalidOperation as error:
            raise ValidationError(
                _("Enter an amount in U.S. dollars using digits only, such as 12500."),
                code="invalid",
            ) from error
        if not amount.is_finite():
            raise ValidationError(_("Enter an amount in U.S. dollars, such as 12500."))
        if amount < 0:
            raise ValidationError(_("The amount cannot be negative. Enter 0 if you had none."))
        if amount > MAX_AMOUNT:
            raise ValidationError(
                _("That amount is too large to be right. Check the number of digits.")
            )
        return amount.quantize(Decimal("1"))


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
