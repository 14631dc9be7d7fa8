"""Choice fields of rows (acs/core/forms/rows.py): an id that is no id is "not one of the
choices", never a query that the database cannot run (the page fuzzer found a server error)."""

from __future__ import annotations

import pytest
from django import forms

from acs.core.forms.rows import RowChoiceField, RowsChoiceField
from acs.posts.models import Post

pytestmark = pytest.mark.django_db


class Pick(forms.Form):
    one = RowChoiceField(queryset=Post.objects.all(), required=False)
    many = RowsChoiceField(queryset=Post.objects.all(), required=False)


@pytest.mark.parametrize(
    "hostile", ["99999999999999999999999", "-1", "1e9", "１", "0x10", "1; DROP TABLE", "\x00"]
)
def test_a_value_that_is_no_id_is_not_one_of_the_choices(lima, hostile):
    form = Pick(data={"one": hostile, "many": [str(lima.pk), hostile]})
    assert not form.is_valid()
    assert form.errors["one"][0].startswith("Select a valid choice")
    assert form.errors["many"][0].startswith("Select a valid choice")


def test_real_ids_are_chosen(lima):
    form = Pick(data={"one": str(lima.pk), "many": [str(lima.pk)]})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["one"] == lima and list(form.cleaned_data["many"]) == [lima]
