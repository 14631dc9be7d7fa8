"""The back office's own forms: the audit log's search, staff accounts and roles."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from acs.core.forms.rows import RowChoiceField, RowsChoiceField
from acs.staff.selectors import AuditQuery


class AuditSearchForm(forms.Form):
    """Search the audit log. Every field may be left empty; dates are the post's local dates."""

    q = forms.CharField(
        label=_("Text"),
        required=False,
        max_length=100,
        help_text=_("Part of the summary, a user name, an action, or a record's number."),
    )
    action = forms.ChoiceField(label=_("Action"), required=False)
    actor = forms.ChoiceField(label=_("Who"), required=False)
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(
        self, *args: Any, actions: list[str], actors: list[tuple[str, str]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        everything = [("", _("Any"))]
        self.fields["action"].choices = everything + [
            (action, _("%(group)s (all)") % {"group": action} if action.count(".") < 2 else action)
            for action in actions
        ]
        self.fields["actor"].choices = everything + actors

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            raise ValidationError(_("The end date is before the start date."), code="dates")
        return data

    def query(self) -> AuditQuery:
        """What to search for; only for a valid form."""
        data = self.cleaned_data
        return AuditQuery(
            text=data.get("q") or "",
            action=data.get("action") or "",
            actor=data.get("actor") or "",
            since=data.get("since"),
            until=data.get("until"),
        )


class AccountForm(forms.Form):
    """A new staff account: its user name, email, and the roles it holds at this post."""

    username = forms.CharField(
        label=_("User name"),
        max_length=150,
        help_text=_("3 to 150 letters, digits or the signs . @ + - _"),
    )
    email = forms.EmailField(label=_("Email"), max_length=254)
    roles = RowsChoiceField(
        label=_("Roles at this post"),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Only the roles whose every permission you hold are offered."),
    )

    def __init__(self, *args: Any, grantable: list, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["roles"].queryset = Group.objects.filter(
            pk__in=[role.pk for role in grantable]
        ).order_by("name")
        for name in ("username", "email"):
            self.fields[name].widget.attrs["class"] = "usa-input"


class RoleForm(forms.Form):
    """One role to give at this post (from those the person giving it may give)."""

    role = RowChoiceField(label=_("Role"), queryset=None, empty_label=None)

    def __init__(self, *args: Any, grantable: list, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].queryset = Group.objects.filter(
            pk__in=[role.pk for role in grantable]
        ).order_by("name")
        self.fields["role"].widget.attrs["class"] = "usa-select"
