"""The taxpayer checker's rules at, just below and just above each threshold."""

from decimal import Decimal

import pytest

from acs.content import taxcheck
from acs.content.taxcheck import Answers, FilingStatus

DATA = taxcheck.thresholds()


def answers(status, *, abroad=False, acc_high=0, acc_end=0, other_high=0, other_end=0):
    return Answers(
        filing_status=status,
        lives_abroad=abroad,
        accounts_highest=Decimal(acc_high),
        accounts_year_end=Decimal(acc_end),
        other_assets_highest=Decimal(other_high),
        other_assets_year_end=Decimal(other_end),
    )


def test_thresholds_carry_their_tax_year_and_sources():
    assert DATA["tax_year"] >= 2024
    assert DATA["fbar"]["source"].startswith("https://www.irs.gov/")
    assert DATA["form_8938"]["source"].startswith("https://www.irs.gov/")
    statuses = {row["filing_status"] for row in DATA["form_8938"]["thresholds"]}
    assert statuses == set(FilingStatus.values) - {FilingStatus.NOT_REQUIRED}


@pytest.mark.parametrize(("highest", "expected"), [(9_999, False), (10_000, False), (10_001, True)])
def test_fbar_applies_only_above_ten_thousand(highest, expected):
    result = taxcheck.check(answers(FilingStatus.SINGLE, acc_high=highest, acc_end=0))
    assert result.fbar.applies is expected


def test_fbar_counts_accounts_only_not_other_assets():
    result = taxcheck.check(answers(FilingStatus.SINGLE, acc_high=5_000, other_high=90_000))
    assert result.fbar.applies is False


ROWS = [
    pytest.param(row, id=f"{row['filing_status']}-{'abroad' if row['lives_abroad'] else 'us'}")
    for row in DATA["form_8938"]["thresholds"]
]


@pytest.mark.parametrize("row", ROWS)
@pytest.mark.parametrize(("delta", "expected"), [(-1, False), (0, False), (1, True)])
def test_8938_last_day_threshold(row, delta, expected):
    limit = row["last_day_exceeds"]
    # The highest value stays below the any-time threshold, so only the year-end test decides.
    given = answers(
        row["filing_status"],
        abroad=row["lives_abroad"],
        acc_high=limit + delta,
        acc_end=limit + delta,
    )
    assert limit + 1 < row["any_time_exceeds"]
    assert taxcheck.check(given).form_8938.applies is expected


@pytest.mark.parametrize("row", ROWS)
@pytest.mark.parametrize(("delta", "expected"), [(-1, False), (0, False), (1, True)])
def test_8938_any_time_threshold(row, delta, expected):
    limit = row["any_time_exceeds"]
    given = answers(
        row["filing_status"],
        abroad=row["lives_abroad"],
        other_high=limit + delta,
        other_end=0,
    )
    assert taxcheck.check(given).form_8938.applies is expected


def test_8938_adds_accounts_and_other_assets():
    # 30,000 + 25,000 = 55,000 on December 31: more than 50,000 for a single filer in the U.S.
    given = answers(
        FilingStatus.SINGLE, acc_high=30_000, acc_end=30_000, other_high=25_000, other_end=25_000
    )
    result = taxcheck.check(given)
    assert result.form_8938.applies is True
    assert "$55,000" in result.form_8938.reasons[0]


def test_living_abroad_raises_the_8938_thresholds():
    at_home = answers(FilingStatus.MARRIED_JOINTLY, acc_high=160_000, acc_end=120_000)
    abroad = answers(FilingStatus.MARRIED_JOINTLY, abroad=True, acc_high=160_000, acc_end=120_000)
    assert taxcheck.check(at_home).form_8938.applies is True
    assert taxcheck.check(abroad).form_8938.applies is False
    # The FBAR does not care where you live.
    assert taxcheck.check(abroad).fbar.applies is True


def test_no_return_means_no_8938_but_fbar_may_still_apply():
    result = taxcheck.check(
        answers(FilingStatus.NOT_REQUIRED, abroad=True, acc_high=900_000, acc_end=900_000)
    )
    assert result.form_8938.applies is False
    assert result.fbar.applies is True
