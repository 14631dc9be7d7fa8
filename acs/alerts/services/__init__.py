"""Changes of state of messages: ``messages`` (draft, approve, publish, follow up) and
``outbox`` (the delivery rows, their claims and outcomes, the citizen's links). The message
services are re-exported here, so that ``services.message_publish`` reads as it always has."""

from acs.alerts.services.messages import (
    ALONE_KINDS,
    EDITABLE_FIELDS,
    NETWORK_PERMISSION,
    REASON_MIN_WORDS,
    Published,
    message_approve,
    message_draft_create,
    message_draft_update,
    message_follow_up,
    message_may_approve,
    message_publish,
    message_send_alone,
)

__all__ = [
    "ALONE_KINDS",
    "EDITABLE_FIELDS",
    "NETWORK_PERMISSION",
    "REASON_MIN_WORDS",
    "Published",
    "message_approve",
    "message_draft_create",
    "message_draft_update",
    "message_follow_up",
    "message_may_approve",
    "message_publish",
    "message_send_alone",
]
