"""The roles (Django groups) and what each may do. ``roles_sync`` makes the groups match."""

from django.utils.translation import gettext_lazy as _

POST_ADMINISTRATOR = "Post administrator"
CONSULAR_OFFICER = "Consular officer"
FRONT_DESK = "Front desk"
COMMUNICATIONS = "Communications"
APPROVER = "Approver"
NETWORK_ADMINISTRATOR = "Network administrator"
NETWORK_DUTY_OFFICER = "Network duty officer"

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
    # The waitlist's names and addresses (each look audited).
    "appointments.view_waitlistentry",
    "appointments.view_closure",
    "appointments.add_closure",
    "appointments.view_openingrule",
    "appointments.add_openingrule",
    "appointments.change_openingrule",
    "appointments.delete_openingrule",
]
_CONTENT = ["content.view_page", "content.change_page"]
# Who is where, with contact details: officers, not the front desk or communications.
_ENROLLEES = ["enrollment.view_enrollees"]
# Messages: one person drafts, another approves and sends (acs.alerts.services).
_DRAFT_MESSAGES = [
    "alerts.view_message",
    "alerts.add_message",
    "alerts.change_message",
    "alerts.draft_message",
]
# Whoever sends a message sees whether it went out.
_APPROVE_MESSAGES = [
    "alerts.view_message",
    "alerts.approve_message",
    "alerts.send_message",
    "alerts.view_delivery",
]
# Officers may also send an emergency alone, and see delivery and welfare answers.
_ALL_MESSAGES = [
    *_DRAFT_MESSAGES,
    "alerts.approve_message",
    "alerts.send_message",
    "alerts.send_emergency_alone",
    "alerts.view_delivery",
    "alerts.view_welfare",
]

ROLES: dict[str, list[str]] = {
    POST_ADMINISTRATOR: [
        *_OFFICER,
        *_ENROLLEES,
        *_CONTENT,
        *_ALL_MESSAGES,
        "core.view_auditentry",
        "posts.view_post",
        "posts.change_post",
        "auth.view_user",
        "auth.add_user",
        "auth.change_user",
        "auth.view_group",
    ],
    CONSULAR_OFFICER: [*_OFFICER, *_ENROLLEES, *_ALL_MESSAGES],
    FRONT_DESK: _DOOR,
    COMMUNICATIONS: [*_CONTENT, *_DRAFT_MESSAGES],
    APPROVER: ["content.view_page", *_APPROVE_MESSAGES],
    NETWORK_ADMINISTRATOR: ["posts.view_post", "posts.add_post", "core.view_auditentry"],
    # Held at every post (a role with no post): figures side by side, and messages to
    # several posts' enrollees, drafted by one duty officer and approved by another.
    NETWORK_DUTY_OFFICER: [
        "appointments.view_figures",
        *_DRAFT_MESSAGES,
        "alerts.approve_message",
        "alerts.send_message",
        "alerts.send_network_message",
        "alerts.view_delivery",
    ],
}

DESCRIPTIONS = {
    POST_ADMINISTRATOR: _("Everything, including staff accounts and the audit log."),
    CONSULAR_OFFICER: _(
        "The day, the door with overrides, closures and capacity, figures, enrollees, "
        "messages (including an emergency sent alone), delivery and welfare."
    ),
    FRONT_DESK: _("The day and the door, without overrides."),
    COMMUNICATIONS: _("Public pages and drafting messages."),
    APPROVER: _("Approving other people's messages and sending them."),
    NETWORK_ADMINISTRATOR: _("The network's posts: opening a new post, and the audit log."),
    NETWORK_DUTY_OFFICER: _(
        "Held at every post: every post's figures, and messages to several posts' enrollees "
        "(a worldwide caution), approved by a second person."
    ),
}
