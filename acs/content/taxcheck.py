"""Which foreign-asset forms (FBAR, Form 8938) likely apply to an overseas taxpayer.

The thresholds are data (``data/foreign_asset_thresholds.json``, with their tax year and
source), so a new tax year is a change of one file, not of code. Both tests are "more than",
on exact amounts (to the cent, never rounded): a total exactly at a threshold does not
trigger the form, one cent more does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path

from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

DATA_FILE = Path(__file__).parent / "data" / "foreign_asset_thresholds.json"


class FilingStatus(models.TextChoices):
    SINGLE = "single", _("Single")
    HEAD_OF_HOUSEHOLD = "head_of_household", _("Head of household")
    MARRIED_JOINTLY = "married_jointly", _("Married filing jointly")
    MARRIED_SEPARATELY = "married_separately", _("Married filing separately")
    NOT_REQUIRED = "not_required", _("I do not have to file a U.S. income tax return")


@dataclass(frozen=True)
class Answers:
    filing_status: str
    lives_abroad: bool
    accounts_highest: Decimal
    accounts_year_end: Decimal
    other_assets_highest: Decimal
    other_assets_year_end: Decimal


@dataclass(frozen=True)
class FormVerdict:
    form: str
    applies: bool
    reasons: list[str] = field(default_factory=list)
    source: str = ""


@dataclass(frozen=True)
class Result:
    tax_year: int
    fbar: FormVerdict
    form_8938: FormVerdict
    comparison_url: str

    @property
    def forms(self) -> tuple[FormVerdict, FormVerdict]:
        return (self.fbar, self.form_8938)


@cache
def thresholds() -> dict:
    return json.loads(DATA_FILE.read_text())


def _money(amount: Decimal | int) -> str:
    """Dollars, with the cents when there are any: "$10,000", "$10,000.01"."""
    if Decimal(amount) == Decimal(amount).to_integral_value():
        return f"${amount:,.0f}"
    return f"${amount:,.2f}"


def _fbar(answers: Answers, data: dict) -> FormVerdict:
    limit = data["aggregate_accounts_exceeds"]
    applies = answers.accounts_highest > limit
    values = {"total": _money(answers.accounts_highest), "limit": _money(limit)}
    if applies:
        reason = gettext(
            "The FBAR is needed when your foreign accounts together are more than %(limit)s "
            "at any time of the year. Yours reached %(total)s at their highest. It is filed "
            "with FinCEN, separately from your tax return."
        )
    else:
        reason = gettext(
            "The FBAR is needed when your foreign accounts together are more than %(limit)s "
            "at any time of the year. Yours reached %(total)s at most, so the FBAR is likely "
            "not required."
        )
    return FormVerdict(
        form=data["form"], applies=applies, reasons=[reason % values], source=data["source"]
    )


def _8938_row(answers: Answers, data: dict) -> dict:
    for row in data["thresholds"]:
        if (
            row["filing_status"] == answers.filing_status
            and row["lives_abroad"] == answers.lives_abroad
        ):
            return row
    raise LookupError(f"no Form 8938 threshold for {answers.filing_status!r}")


def _form_8938(answers: Answers, data: dict) -> FormVerdict:
    if answers.filing_status == FilingStatus.NOT_REQUIRED:
        return FormVerdict(
            form=data["form"],
            applies=False,
            reasons=[
                gettext(
                    "Form 8938 is attached to an income tax return. If you do not have to "
                    "file a return, you do not file Form 8938."
                )
            ],
            source=data["source"],
        )
    row = _8938_row(answers, data)
    # Foreign accounts are foreign financial assets too, so both kinds count toward 8938.
    year_end = answers.accounts_year_end + answers.other_assets_year_end
    highest = answers.accounts_highest + answers.other_assets_highest
    reasons = []
    if year_end > row["last_day_exceeds"]:
        reasons.append(
            gettext(
                "On the last day of the year your foreign assets totaled %(total)s, "
                "more than %(limit)s."
            )
            % {"total": _money(year_end), "limit": _money(row["last_day_exceeds"])}
        )
    if highest > row["any_time_exceeds"]:
        reasons.append(
            gettext("At their highest your foreign assets totaled %(total)s, more than %(limit)s.")
            % {"total": _money(highest), "limit": _money(row["any_time_exceeds"])}
        )
    applies = bool(reasons)
    if not applies:
        reasons.append(
            gettext(
                "For your filing status and where you live, Form 8938 is needed when foreign "
                "assets are more than %(last_day)s on the last day of the year or more than "
                "%(any_time)s at any time. Yours stayed at or below both."
            )
            % {
                "last_day": _money(row["last_day_exceeds"]),
                "any_time": _money(row["any_time_exceeds"]),
            }
        )
    return FormVerdict(form=data["form"], applies=applies, reasons=reasons, source=data["source"])


def check(answers: Answers) -> Result:
    """Apply the published thresholds to the answers; no side effects."""
    data = thresholds()
    return Result(
        tax_year=data["tax_year"],
        fbar=_fbar(answers, data["fbar"]),
        form_8938=_form_8938(answers, data["form_8938"]),
        comparison_url=data["form_8938"]["comparison"],
    )
