"""The checker as a citizen uses it: the form, the result, and plain messages for bad input."""

import pytest
from django.urls import reverse
from django.utils import translation

pytestmark = pytest.mark.django_db

VALID = {
    "filing_status": "single",
    "lives_abroad": "yes",
    "accounts_highest": "12,500",
    "accounts_year_end": "$9000",
    "other_assets_highest": "0",
    "other_assets_year_end": "0",
}


def url(language="en"):
    with translation.override(language):
        return reverse("content:taxpayers")


def test_page_shows_the_text_and_the_form(client, lima):
    response = client.get(url())
    html = response.content.decode()
    assert response.status_code == 200
    assert "FinCEN Form 114" in html
    assert 'name="accounts_highest"' in html
    assert 'action="/en/lima/overseas-taxpayers/' in html


def test_valid_answers_give_a_result_with_reasons_and_official_links(client, lima):
    response = client.post(url(), VALID)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Your result" in html
    assert "$12,500" in html  # the FBAR reason names the total
    assert "https://www.irs.gov/forms-pubs/about-form-8938" in html


def test_result_in_spanish(client, lima):
    response = client.post(url("es"), VALID)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Su resultado" in html
    assert 'lang="es"' in html


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("accounts_highest", "twelve", "using digits"),
        ("accounts_highest", "10000.005", "two digits after the decimal point"),
        ("accounts_highest", "1,25,000", "using digits"),
        ("accounts_highest", "-5", "cannot be negative"),
        ("accounts_highest", "1e400", "too large"),
        ("accounts_highest", "99999999999999999", "too large"),
        ("accounts_highest", "NaN", "Enter an amount"),
        ("accounts_highest", "", "This field is required"),
        ("other_assets_year_end", "5", "cannot be more than the highest"),
        ("filing_status", "emperor", "Select a valid choice"),
    ],
)
def test_bad_input_gives_the_form_back_with_a_message_beside_the_field(
    client, lima, field, value, message
):
    data = {**VALID, field: value}
    response = client.post(url(), data)
    html = response.content.decode()
    assert response.status_code == 400
    assert message in html
    assert f'id="id_{field}-error"' in html
    assert "Your result" not in html


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("12,500", "12500"),
        ("12.500", "12500"),  # thousands, as the Spanish page's reader writes them
        ("$12,500.50", "12500.50"),
        ("12.500,50", "12500.50"),
        ("10000,01", "10000.01"),
        ("1 250 000", "1250000"),
        ("1.250.000,99 USD", "1250000.99"),
        ("0,5", "0.5"),
    ],
)
def test_amounts_are_read_exactly_as_either_page_writes_them(typed, read):
    from decimal import Decimal

    from acs.content.forms import DollarField

    assert DollarField().clean(typed) == Decimal(read)
