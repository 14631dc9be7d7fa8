"""The public messages pages under /<lang>/messages/: the list, a page per message, and each
message's CAP document. The feeds are in ``acs.alerts.feeds``."""

from __future__ import annotations

from urllib.parse import urlencode
from uuid import UUID

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from acs.alerts import selectors
from acs.alerts.cap import CAP_CONTENT_TYPE, cap_alert
from acs.alerts.constants import MessageType
from acs.alerts.forms import MessageFilterForm
from acs.alerts.models import Message
from acs.alerts.rendering import message_parts
from acs.core.clock import when_text
from acs.core.i18n import current_language
from acs.core.pagecache import public_page
from acs.posts.models import Post
from acs.posts.selectors import post_or_404

PER_PAGE = 10


def _published(post: Post, public_id: UUID) -> Message:
    message = selectors.message_published_get(post=post, public_id=public_id)
    if message is None:
        raise Http404("no such published message")
    return message


def summary(message: Message, language: str) -> dict:
    """A message as the list and the message page show it."""
    post = message.post
    return {
        "message": message,
        "parts": message_parts(message, language),
        "published": when_text(post, message.published_at),
        "starts": when_text(post, message.effective_from),
        "ends": when_text(post, message.effective_until),
        "regions": [region.name for region in message.regions.all()],
        "is_update": message.msg_type == MessageType.UPDATE,
        "is_cancel": message.msg_type == MessageType.CANCEL,
    }


@public_page
@require_safe
def message_list(request: HttpRequest) -> HttpResponse:
    """Travel Information and Messages: newest first, by kind and region, 10 a page."""
    post = post_or_404()
    form = MessageFilterForm(request.GET, post=post)
    kind, region = form.values()
    found = selectors.messages_published(post=post, kind=kind, region_code=region)
    page = Paginator(found, PER_PAGE).get_page(request.GET.get("page"))
    language = current_language()
    query = {name: value for name, value in (("kind", kind), ("region", region)) if value}
    context = {
        "form": form,
        "page": page,
        "entries": [summary(message, language) for message in page.object_list],
        "filtered": bool(query),
        "query": urlencode(query),
    }
    return render(request, "alerts/list.html", context)


@public_page
@require_safe
def message_detail(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """One message, every part in the page's language, with its earlier and later ones."""
    post = post_or_404()
    message = _published(post, public_id)
    language = current_language()
    followers = selectors.message_followers(message=message)
    context = {
        "entry": summary(message, language),
        "earlier": summary(message.references, language) if message.references_id else None,
        "later": [summary(follower, language) for follower in followers],
        "cancelled_by": next((f for f in followers if f.msg_type == MessageType.CANCEL), None),
    }
    return render(request, "alerts/message.html", context)


@public_page
@require_safe
def message_cap(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """The message as a CAP 1.2 alert (both languages in one document)."""
    message = _published(post_or_404(), public_id)
    document = cap_alert(message, absolute=request.build_absolute_uri)
    return HttpResponse(document, content_type=CAP_CONTENT_TYPE)
