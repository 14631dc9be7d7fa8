"""Messages in the back office: the list, compose and edit, the message page with its preview
and recipient count, and the buttons of the workflow (approve, publish, send alone, update or
cancel). Every change is a service call, which writes the audit entry; a refusal comes back
as a plain message on the page it came from.
"""

from __future__ import annotations

import re

import nh3
from django.contrib import messages as notices
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from acs.alerts import selectors, services
from acs.alerts.constants import MessageStatus, MessageType
from acs.alerts.forms import MessageForm, SendAloneForm
from acs.alerts.letters import message_preview
from acs.alerts.models import Message
from acs.alerts.rendering import message_parts
from acs.alerts.services.outbox import recipients_count
from acs.core import clock
from acs.core.audit import history
from acs.core.clock import when_text
from acs.core.permissions import staff_view
from acs.posts.selectors import post_or_404

GET_POST = require_http_methods(["GET", "HEAD", "POST"])
_HISTORY_SHOWN = 50

# The email's HTML as the preview box shows it: its text and structure, never its styles,
# scripts or images (the back office's CSP forbids inline styles, and the box must not be
# able to change the page around it).
_EMAIL_TAGS = {
    "p", "br", "strong", "em", "b", "i", "a", "ul", "ol", "li", "h1", "h2", "h3", "h4",
    "blockquote", "table", "thead", "tbody", "tr", "th", "td", "hr", "div", "span",
}  # fmt: skip


def _message(pk: int) -> Message:
    message = selectors.message_for_staff(post=post_or_404(), pk=pk)
    if message is None:
        raise Http404("no such message")
    return message


def _network(request: HttpRequest) -> bool:
    """Whether the writer may address other posts too (a network role)."""
    return request.user.has_perm(services.NETWORK_PERMISSION)


def _refusal_text(error: ValidationError) -> str:
    return " ".join(error.messages)


# The list -----------------------------------------------------------------------------------


@staff_view("alerts.view_message")
@require_safe
def message_list(request: HttpRequest) -> HttpResponse:
    """Drafts awaiting approval, approved messages awaiting sending, and the latest sent."""
    post = post_or_404()
    groups = selectors.messages_for_staff(post=post)
    kinds = MessageForm.base_fields["kind"].choices
    context = {"groups": groups, "kinds": kinds, "zone": clock.zone_text(post)}
    return render(request, "alerts/staff/list.html", context)


# Compose and edit ---------------------------------------------------------------------------


def _form_page(
    request: HttpRequest, form: MessageForm, message: Message | None, *, status: int = 200
) -> HttpResponse:
    context = {
        "form": form,
        "message": message,
        "zone": clock.zone_text(form.post),
        "approved": message is not None and message.status == MessageStatus.APPROVED,
        "region_count": form.fields["regions"].queryset.count(),
    }
    return render(request, "alerts/staff/form.html", context, status=status)


@staff_view("alerts.draft_message")
@GET_POST
def message_new(request: HttpRequest) -> HttpResponse:
    """Compose a draft. ``?kind=weather`` starts the form with that kind's CAP defaults."""
    post = post_or_404()
    if request.method != "POST":
        initial = MessageForm.initial_for_new(post, request.GET.get("kind"))
        return _form_page(
            request, MessageForm(initial=initial, post=post, network=_network(request)), None
        )
    form = MessageForm(request.POST, post=post, network=_network(request))
    if not form.is_valid():
        return _form_page(request, form, None, status=400)
    try:
        message = services.message_draft_create(
            post=post, actor=request.user, **form.service_fields()
        )
    except ValidationError as error:
        form.add_error(None, _refusal_text(error))
        return _form_page(request, form, None, status=400)
    notices.success(request, _("Draft saved. Someone else must approve it before it is sent."))
    return redirect("staff:message", pk=message.pk)


@staff_view("alerts.draft_message")
@GET_POST
def message_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a draft, or an approved message (which then needs approving again)."""
    message = _message(pk)
    if message.status == MessageStatus.PUBLISHED:
        notices.error(request, _("A published message cannot be changed: write an update."))
        return redirect("staff:message", pk=message.pk)
    if request.method != "POST":
        form = MessageForm(
            initial=MessageForm.initial_from(message), post=message.post, network=_network(request)
        )
        return _form_page(request, form, message)
    form = MessageForm(request.POST, post=message.post, network=_network(request))
    if not form.is_valid():
        return _form_page(request, form, message, status=400)
    was_approved = message.status == MessageStatus.APPROVED
    try:
        message = services.message_draft_update(
            message=message, actor=request.user, **form.service_fields()
        )
    except ValidationError as error:
        form.add_error(None, _refusal_text(error))
        return _form_page(request, form, message, status=400)
    if was_approved and message.status == MessageStatus.DRAFT:
        notices.warning(
            request, _("Saved. The change withdrew the approval: it needs approving again.")
        )
    else:
        notices.success(request, _("Saved."))
    return redirect("staff:message", pk=message.pk)


# The message page ---------------------------------------------------------------------------


_EMAIL_HEADING = re.compile(r"<(/?)h([1-6])\b")


def _safe_email_html(html: str) -> SafeString:
    clean = nh3.clean(
        html,
        tags=_EMAIL_TAGS,
        attributes={"a": {"href"}, "td": {"colspan"}, "th": {"colspan", "scope"}},
        url_schemes={"https", "http", "mailto", "tel"},
        link_rel="noopener noreferrer",
        clean_content_tags={"script", "style", "title"},
    )
    # The email's own headings sit under the preview's h3: shift them down so that the page
    # keeps one h1 and an outline that screen readers can follow.
    clean = _EMAIL_HEADING.sub(lambda match: f"<{match[1]}h{min(int(match[2]) + 3, 6)}", clean)
    return mark_safe(clean)  # noqa: S308 — sanitised by nh3 just above  # nosec B308, B703


def _preview(message: Message, language: str) -> dict:
    """The email in one language, as the delivery app renders it for recipients."""
    preview: dict = {"language": language, "parts": message_parts(message, language)}
    email = message_preview(message=message, language=language)
    html = next((content for content, mime in email.alternatives if mime == "text/html"), "")
    return preview | {"subject": email.subject, "text": email.body, "html": _safe_email_html(html)}


def _actions(request: HttpRequest, message: Message) -> dict:
    user = request.user
    status = message.status
    return {
        "can_edit": status != MessageStatus.PUBLISHED and user.has_perm("alerts.draft_message"),
        "can_approve": services.message_may_approve(message=message, actor=user),
        "wrote_it": status == MessageStatus.DRAFT
        and user.has_perm("alerts.approve_message")
        and not services.message_may_approve(message=message, actor=user),
        "can_publish": status == MessageStatus.APPROVED and user.has_perm("alerts.send_message"),
        "can_send_alone": status != MessageStatus.PUBLISHED
        and message.kind in services.ALONE_KINDS
        and user.has_perm("alerts.send_emergency_alone"),
        "can_follow_up": status == MessageStatus.PUBLISHED
        and message.msg_type != MessageType.CANCEL
        and user.has_perm("alerts.draft_message"),
    }


def _when(message: Message) -> dict:
    post = message.post
    return {
        "starts": when_text(post, message.effective_from),
        "ends": when_text(post, message.effective_until),
        "published": when_text(post, message.published_at) if message.published_at else "",
        "approved": when_text(post, message.approved_at) if message.approved_at else "",
    }


@staff_view("alerts.view_message")
@require_safe
def message_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The message with the email it becomes in both languages, how many people it reaches,
    the workflow's buttons and its history."""
    message = _message(pk)
    context = {
        "message": message,
        "when": _when(message),
        "regions": [region.name for region in message.regions.all()],
        "previews": [_preview(message, "en"), _preview(message, "es")],
        "recipients": recipients_count(message=message),
        "deliveries": message.deliveries.count()
        if message.status == MessageStatus.PUBLISHED
        else None,
        "fanout_done": message.fanout_done_at is not None,
        "history": list(history(message)[:_HISTORY_SHOWN]),
        "followers": list(message.followed_by.order_by("created_at")),
        **_actions(request, message),
    }
    return render(request, "alerts/staff/message.html", context)


# The workflow's buttons ---------------------------------------------------------------------


@staff_view("alerts.approve_message")
@require_POST
def message_approve(request: HttpRequest, pk: int) -> HttpResponse:
    message = _message(pk)
    try:
        services.message_approve(message=message, actor=request.user)
    except ValidationError as error:
        notices.error(request, _refusal_text(error))
    else:
        notices.success(request, _("Approved. It can now be sent."))
    return redirect("staff:message", pk=message.pk)


def _published_notice(request: HttpRequest, result: services.Published) -> None:
    if not result.new:
        notices.info(request, _("This message had already been sent. Nobody gets it twice."))
        return
    notices.success(
        request,
        _(
            "Published. It is on the public page now, and the emails and texts are on their "
            "way: the delivery page shows how many have gone."
        ),
    )


@staff_view("alerts.send_message")
@require_POST
def message_publish(request: HttpRequest, pk: int) -> HttpResponse:
    message = _message(pk)
    try:
        result = services.message_publish(message=message, actor=request.user)
    except ValidationError as error:
        notices.error(request, _refusal_text(error))
    else:
        _published_notice(request, result)
    return redirect("staff:message", pk=message.pk)


@staff_view("alerts.send_emergency_alone")
@GET_POST
def message_send_alone(request: HttpRequest, pk: int) -> HttpResponse:
    """The emergency path: the reason, then one step that approves and sends."""
    message = _message(pk)
    form = SendAloneForm(request.POST if request.method == "POST" else None)
    status = 200
    if form.is_bound:
        if form.is_valid():
            try:
                result = services.message_send_alone(
                    message=message, actor=request.user, reason=form.cleaned_data["reason"]
                )
            except ValidationError as error:
                form.add_error("reason" if error.code == "reason" else None, _refusal_text(error))
            else:
                _published_notice(request, result)
                return redirect("staff:message", pk=message.pk)
        status = 400
    context = {
        "message": message,
        "form": form,
        "recipients": recipients_count(message=message),
        "allowed_kind": message.kind in services.ALONE_KINDS,
    }
    return render(request, "alerts/staff/send_alone.html", context, status=status)


@staff_view("alerts.draft_message")
@require_POST
def message_follow_up(request: HttpRequest, pk: int) -> HttpResponse:
    """Start an update or a cancellation of a published message (a new draft)."""
    original = _message(pk)
    msg_type = request.POST.get("msg_type", "")
    try:
        draft = services.message_follow_up(original=original, actor=request.user, msg_type=msg_type)
    except ValidationError as error:
        notices.error(request, _refusal_text(error))
        return redirect("staff:message", pk=original.pk)
    notices.success(request, _("A draft was started from the message. Change what is new."))
    return redirect("staff:message-edit", pk=draft.pk)
