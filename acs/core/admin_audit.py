"""The admin writes the audit log as the staff pages do.

Every model admin on the staff admin site is an ``AuditedModelAdmin`` (``acs.staff.admin``
makes the third-party ones so, and ``tests/staff/test_admin_audit.py`` proves it for every
registered model): each addition, change and deletion, the record's own fields and those of
its inline rows, writes an ``AuditEntry`` in the transaction of the change (the admin's
change and delete views run in one; a bulk deletion is wrapped here). A model admin with
``personal_data = True`` also writes an entry for every look at a record or a list of them,
as the staff pages do for a citizen's data.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models, transaction
from django.http import HttpRequest

from acs.core.audit import audit_record, plain
from acs.core.ratelimit import client_address
from acs.posts.selectors import post_default


def _value(value: Any) -> Any:
    """A form's value for the entry: a record as its id, a choice of several as a list."""
    if isinstance(value, models.Model):
        return str(value.pk)
    if isinstance(value, list | tuple | set | models.QuerySet):
        return [_value(item) for item in value]
    return plain(value)


def _action(obj: models.Model, verb: str) -> str:
    return f"acs.admin.{obj._meta.model_name}.{verb}"


def _summary(obj: models.Model) -> str:
    return f"{obj._meta.verbose_name}: {obj}"[:300]


class AuditedModelAdmin(admin.ModelAdmin):
    personal_data = False  # True: every look at a record or a list of them is recorded

    def _record(self, request: HttpRequest, obj: models.Model, verb: str, changes=None) -> None:
        audit_record(
            actor=request.user,
            action=_action(obj, verb),
            target=obj,
            summary=_summary(obj),
            changes=changes or {},
            address=client_address(request),
        )

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        before = {name: form.initial.get(name) for name in form.changed_data}
        super().save_model(request, obj, form, change)
        changes = {
            name: [
                _value(before.get(name)) if change else None,
                _value(form.cleaned_data.get(name)),
            ]
            for name in form.changed_data
        }
        self._record(request, obj, "changed" if change else "added", changes)

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        super().save_formset(request, form, formset, change)
        for obj in formset.new_objects:
            self._record(request, obj, "added")
        for obj, fields in formset.changed_objects:
            self._record(request, obj, "changed", {name: [None, "changed"] for name in fields})
        for obj in formset.deleted_objects:
            self._record(request, obj, "deleted")

    def delete_model(self, request: HttpRequest, obj) -> None:
        self._record(request, obj, "deleted")
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        with transaction.atomic():
            for obj in queryset:
                self._record(request, obj, "deleted")
            super().delete_queryset(request, queryset)

    def changeform_view(
        self, request: HttpRequest, object_id=None, form_url="", extra_context=None
    ):
        if self.personal_data and object_id and request.method == "GET":
            obj = self.get_object(request, admin.utils.unquote(object_id))
            if obj is not None and self.has_view_or_change_permission(request, obj):
                self._record(request, obj, "viewed")
        return super().changeform_view(request, object_id, form_url, extra_context)

    def changelist_view(self, request: HttpRequest, extra_context=None):
        response = super().changelist_view(request, extra_context)
        rows = getattr(response, "context_data", {}) or {}
        shown = rows.get("cl")
        if self.personal_data and request.method == "GET" and shown is not None:
            audit_record(
                actor=request.user,
                action=f"acs.admin.{self.model._meta.model_name}.listed",
                post=post_default(),
                summary=f"{self.model._meta.verbose_name_plural}: {len(shown.result_list)} shown",
                changes={"ids": [None, [str(obj.pk) for obj in shown.result_list]]},
                address=client_address(request),
            )
        return response
