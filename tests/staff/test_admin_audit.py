"""Everything done through the admin is in the audit log (issue 14, item 2).

The walk takes every model registered on the staff admin site: a superuser opens each
record's change form, changes one text field as a person would, and saves; the change must
land in the audit log with its before and after. Deleting through the admin is recorded too,
and looking at a booking (emails, phones, passports) is recorded for whoever looks.
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from html.parser import HTMLParser

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from acs.appointments import availability
from acs.appointments.models import Booking, Closure
from acs.appointments.services import booking_create
from acs.core.admin_audit import AuditedModelAdmin
from acs.core.audit import audit_record
from acs.core.models import AuditEntry
from tests.appointments.factories import make_service, person

pytestmark = pytest.mark.django_db
EDITABLE = re.compile(r"name|title|reason|summary|city|description|phone")


class _Form(HTMLParser):
    """The fields of the admin's change form, as a browser would post them."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self.texts: list[str] = []
        self._in_form = False
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id", "").endswith("_form"):
            self._in_form = True
        if not self._in_form:
            return
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("submit", "button", "file"):
            ticked = attrs.get("type") in ("checkbox", "radio")
            if ticked and "checked" not in attrs:
                return
            self.data.setdefault(name, []).append(attrs.get("value", "on" if ticked else ""))
            if attrs.get("type", "text") == "text" and "-" not in name and "readonly" not in attrs:
                self.texts.append(name)
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = [""]
            if "-" not in name:
                self.texts.append(name)
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in attrs:
            self.data[self._select].append(attrs.get("value", ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea][0] += data


@pytest.fixture
def records(lima):
    """One record of every registered model that has none in a seeded database."""
    service = make_service(post=lima, slug="admin-walk", opens=time(0), closes=time(23, 30))
    now = timezone.now()
    today = now.astimezone(lima.zone).date()
    days = availability.slots_between(service, today, today + timedelta(days=10), now=now)
    slot = next(slot for slots in days.values() for slot in slots)
    booking_create(
        service=service,
        starts_at=slot.starts_at,
        people=[person(1)],
        email="walk@example.org",
        phone="+51 1 618 2000",
        now=now,
    )
    Closure.objects.create(
        post=lima,
        starts_at=now + timedelta(days=30),
        ends_at=now + timedelta(days=30, hours=2),
        reason_en="A closure for the walk",
        reason_es="Un cierre para el recorrido",
    )
    AccessAttempt.objects.create(
        username="someone", ip_address="192.0.2.1", user_agent="test", failures_since_start=1
    )
    AccessLog.objects.create(username="someone", ip_address="192.0.2.1", user_agent="test")
    AccessFailureLog.objects.create(username="someone", ip_address="192.0.2.1", user_agent="t")
    audit_record(actor=None, action="acs.walk.started", post=lima, summary="The walk")


@pytest.fixture
def superuser(staff_member, verified_client):
    return verified_client(staff_member("root", superuser=True))


def test_every_registered_admin_writes_the_audit_log():
    for model, model_admin in admin.site._registry.items():
        assert isinstance(model_admin, AuditedModelAdmin), model._meta.label
    # Accounts, roles and second factors are managed on the staff pages, not here.
    for model in (User, Group, TOTPDevice, StaticDevice):
        assert not admin.site.is_registered(model), model._meta.label


def test_a_change_through_the_admin_of_every_model_is_recorded(records, superuser):
    changed = []
    for model in admin.site._registry:
        obj = model._default_manager.order_by("pk").first()
        assert obj is not None, f"no {model._meta.label} to walk"
        meta = model._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
        page = superuser.get(url)
        assert page.status_code == 200, url
        form = _Form()
        form.feed(page.content.decode())
        if not form.texts:  # a read-only record (the audit log itself, sign-in attempts)
            continue
        # A name, title or reason takes " (edited)" and stays valid (a slug would not).
        field = next((name for name in form.texts if EDITABLE.search(name)), form.texts[0])
        form.data[field] = [(form.data[field] or [""])[0] + " (edited)"]
        form.data["_save"] = ["Save"]
        response = superuser.post(url, form.data)
        errors = re.findall(r"errorlist[^>]*>(.*?)</ul>", response.content.decode(), re.S)
        assert response.status_code == 302, (url, errors)
        entry = AuditEntry.objects.filter(
            action=f"acs.admin.{meta.model_name}.changed", object_id=str(obj.pk)
        ).latest("id")
        assert entry.actor.username == "root"
        assert entry.changes[field][1].endswith(" (edited)"), entry.changes
        changed.append(meta.label)
    assert {"posts.Post", "content.Page", "appointments.Service", "appointments.Closure"} <= set(
        changed
    )


def test_a_deletion_through_the_admin_is_recorded(records, superuser):
    attempt = AccessAttempt.objects.get()
    url = reverse("admin:axes_accessattempt_delete", args=[attempt.pk])
    assert superuser.post(url, {"post": "yes"}).status_code == 302
    assert not AccessAttempt.objects.exists()
    assert AuditEntry.objects.filter(
        action="acs.admin.accessattempt.deleted", object_id=str(attempt.pk)
    ).exists()


def test_an_inline_row_added_through_the_admin_is_recorded(records, superuser, lima):
    service = lima.services.get(slug="admin-walk")
    url = reverse("admin:appointments_service_change", args=[service.pk])
    form = _Form()
    form.feed(superuser.get(url).content.decode())
    total = int(form.data["opening_rules-TOTAL_FORMS"][0])
    prefix = f"opening_rules-{total}"
    form.data |= {
        "opening_rules-TOTAL_FORMS": [str(total + 1)],
        f"{prefix}-weekday": ["0"],
        f"{prefix}-opens": ["23:40"],
        f"{prefix}-closes": ["23:50"],
        f"{prefix}-service": [str(service.pk)],
        "_save": ["Save"],
    }
    assert superuser.post(url, form.data).status_code == 302
    assert AuditEntry.objects.filter(action="acs.admin.openingrule.added").exists()


def test_looking_at_a_booking_in_the_admin_is_recorded(records, staff_member, verified_client):
    desk = verified_client(staff_member("desk", permissions=["appointments.view_booking"]))
    booking = Booking.objects.get(email="walk@example.org")
    assert desk.get(reverse("admin:appointments_booking_changelist")).status_code == 200
    listed = AuditEntry.objects.get(action="acs.admin.booking.listed")
    assert str(booking.pk) in listed.changes["ids"][1] and listed.actor.username == "desk"
    url = reverse("admin:appointments_booking_change", args=[booking.pk])
    assert "walk@example.org" in desk.get(url).content.decode()
    viewed = AuditEntry.objects.get(action="acs.admin.booking.viewed")
    assert viewed.object_id == str(booking.pk) and viewed.post_id == booking.post_id
