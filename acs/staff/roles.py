"""The roles (Django groups) and what each may do. ``roles_sync`` makes the groups match."""

from django.utils.translation import gettext_lazy as _

POST_ADMINISTRATOR = "Post administrator"
CONSULAR_OFFICER = "Consular officer"
FRONT_DESK = "Front desk"
COMMUNICATIONS = "Communications"
APPROVER = "Approver"

_DOOR = ["appointments.view_day", "appointments.perform_checkin", "appointments.view_booking"]
_OFFICER = [
    *_DOOR,
    "appointments.override_checkin",
    "appointments.mark_served",
    "appointments.close_unit",
    "appointments.manage_capacity",
    "appointments.view_figures",
    "appointments.view_service",
    "appointments.change_service",
    "appointments.view_closure",
    "appointments.add_closure",
    "appointments.view_openingrule",
    "appointments.add_openingrule",
    "appointments.change_openingrule",
    "appointments.delete_openingrule",
]
_CONTENT = ["content.view_page", "content.change_page"]

ROLES: dict[str, list[str]] = {
    POST_ADMINISTRATOR: [
        *_OFFICER,
        *_CONTENT,
        "core.view_auditentry",
        "posts.view_post",
        "posts.change_post",
        "auth.view_user",
        "auth.add_user",
        "auth.change_user",
        "auth.view_group",
    ],
    CONSULAR_OFFICER: _OFFICER,
    FRONT_DESK: _DOOR,
    COMMUNICATIONS: _CONTENT,
    APPROVER: ["content.view_page"],
}

DESCRIPTIONS = {
    POST_ADMINISTRATOR: _("Everything, including staff accounts and the audit log."),
    CONSULAR_OFFICER: _("The day, the door with overrides, closures and capacity, figures."),
    FRONT_DESK: _("The day and the door, without overrides."),
    COMMUNICATIONS: _("Public pages and, later, drafting messages."),
    APPROVER: _("Approving messages before they are published."),
}
