"""Every threshold of the taxpayer checker at the cent below, at, and the cent above, for every
filing status and residence, through the page in both languages, with amounts typed as a
reader of each page would type them ("10,000.01" and "10.000,01").

FinCEN and the IRS count any amount over a threshold: $10,000.01 is more than $10,000.
The checker once rounded amounts to whole dollars first and called that "not required".
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from acs.content import taxcheck

pytestmark = pytest.mark.django_db

DATA = taxcheck.thresholds()
FBAR, FORM_8938 = DATA["fbar"]["form"], DATA["form_8938"]["form"]
CENT = Decimal("0.01")
STEPS = [(-CENT, False), (Decimal(0), False), (CENT, True)]


def typed(amount: Decimal, language: str) -> str:
    """As the page's reader types it: "10,000.01" in English, "10.000,01" in Spanish."""
    text = f"{amount:,.2f}"
    return text if language == "en" else text.translate(str.maketrans(",.", ".,"))


def cases() -> list:
    found = []
    limit = Decimal(DATA["fbar"]["aggregate_accounts_exceeds"])
    for step, expected in STEPS:
        found.append(
            pytest.param(
                FBAR,
                {"status": "single", "abroad": True, "acc_high": limit + step},
                expected,
                id=f"fbar-{limit + step}",
            )
        )
    for row in DATA["form_8938"]["thresholds"]:
        where = "abroad" if row["lives_abroad"] else "us"
        last_day, any_time = Decimal(row["last_day_exceeds"]), Decimal(row["any_time_exceeds"])
        for step, expected in STEPS:
            # The last day alone decides: the highest equals it, below the any-time limit.
            found.append(
                pytest.param(
                    FORM_8938,
                    {
                        "status": row["filing_status"],
                        "abroad": row["lives_abroad"],
                        "acc_high": last_day + step,
                        "acc_end": last_day + step,
                    },
                    expected,
                    id=f"8938-{row['filing_status']}-{where}-last-day-{last_day + step}",
                )
            )
            # The highest alone decides: the last day is 0.
            found.append(
                pytest.param(
                    FORM_8938,
                    {
                        "status": row["filing_status"],
                        "abroad": row["lives_abroad"],
                        "acc_high": any_time + step,
                    },
                    expected,
                    id=f"8938-{row['filing_status']}-{where}-any-time-{any_time + step}",
                )
            )
    return found


def verdict(html: str, form: str) -> bool:
    found = re.search(
        re.escape(form) + r': <strong class="acs-verdict acs-verdict--(yes|no)"', html
    )
    assert found, f"no verdict for {form}"
    return found[1] == "yes"


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize(("form", "given", "expected"), cases())
def test_each_threshold_at_the_cent(client, lima, language, form, given, expected):
    with translation.override(language):
        url = reverse("content:taxpayers")
    response = client.post(
        url,
        {
            "filing_status": given["status"],
            "lives_abroad": "yes" if given["abroad"] else "no",
            "accounts_highest": typed(given["acc_high"], language),
            "accounts_year_end": typed(given.get("acc_end", Decimal(0)), language),
            "other_assets_highest": "0",
            "other_assets_year_end": "0",
        },
    )
    html = response.content.decode()
    assert response.status_code == 200 and 'class="usa-error-message"' not in html
    assert verdict(html, form) is expected


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", "more than $10,000 at any time of the year. Yours reached $10,000.01"),
        ("es", "más de $10,000 en cualquier momento del año. Las suyas llegaron a $10,000.01"),
    ],
)
def test_the_answer_states_the_rule_and_the_exact_amount(client, lima, language, words):
    with translation.override(language):
        url = reverse("content:taxpayers")
    response = client.post(
        url,
        {
            "filing_status": "single",
            "lives_abroad": "yes",
            "accounts_highest": typed(Decimal("10000.01"), language),
            "accounts_year_end": "0",
            "other_assets_highest": "0",
            "other_assets_year_end": "0",
        },
    )
    assert words in response.content.decode()
