"""The back office's menu: each entry shows only to staff whose role allows it."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Entry:
    url_name: str
    label: str | Promise
    permission: str


# Later issues add their own entries here (messages, enrollees).
ENTRIES = [
    Entry("staff:day", _("The day"), "appointments.view_day"),
    Entry("staff:door", _("The door"), "appointments.perform_checkin"),
    Entry("staff:door-log", _("The door's log"), "appointments.perform_checkin"),
    Entry("staff:closures", _("Closures"), "appointments.close_unit"),
    Entry("staff:capacity", _("Capacity"), "appointments.manage_capacity"),
    Entry("staff:rounds", _("Request rounds"), "appointments.view_figures"),
    Entry("staff:waitlist", _("Waitlist"), "appointments.view_waitlistentry"),
    Entry("staff:enrollees", _("Enrollees"), "enrollment.view_enrollees"),
    Entry("staff:messages", _("Messages"), "alerts.view_message"),
    Entry("staff:figures", _("Figures"), "appointments.view_figures"),
    Entry("staff:audit", _("Audit log"), "core.view_auditentry"),
    Entry("staff:accounts", _("Staff accounts"), "auth.view_user"),
    Entry("posts:list", _("Posts"), "posts.view_post"),
    Entry("admin:index", _("Admin"), "content.change_page"),
]


def menu(request: HttpRequest) -> list[dict]:
    items = []
    for entry in ENTRIES:
        if not request.user.has_perm(entry.permission):
            continue
        try:
            url = reverse(entry.url_name)
        except NoReverseMatch:  # a part not built yet
            continue
        items.append({"url": url, "label": entry.label, "current": request.path.startswith(url)})
    return items
