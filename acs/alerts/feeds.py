"""The two feeds of the messages page, in the language of their URL: an Atom feed of the
messages, and a CAP index (Atom too) whose entries link to each alert's CAP 1.2 document."""

from __future__ import annotations

from django.contrib.syndication.views import Feed
from django.http import Http404, HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, rfc3339_date
from django.utils.translation import gettext as _

from acs.alerts import selectors
from acs.alerts.cap import CAP_CONTENT_TYPE, xml_text
from acs.alerts.models import Message
from acs.alerts.rendering import message_parts
from acs.core.i18n import current_language
from acs.core.pagecache import public_page
from acs.posts.models import Post
from acs.posts.selectors import post_default


@public_page
class MessagesFeed(Feed):
    """Atom: one entry per published message, newest first, in the URL's language."""

    feed_type = Atom1Feed

    def get_object(self, request: HttpRequest, *args, **kwargs) -> Post:
        post = post_default()
        if post is None:
            raise Http404("no post")
        return post

    def title(self, post: Post) -> str:
        return _("Travel Information and Messages — %(post)s") % {"post": post.display_name}

    def subtitle(self, post: Post) -> str:
        return _("Alerts and messages for U.S. citizens in %(country)s.") % {
            "country": post.country_name
        }

    def link(self, post: Post) -> str:
        return reverse("alerts:messages")

    def author_name(self, post: Post) -> str:
        return post.display_name

    def items(self, post: Post) -> list[Message]:
        return selectors.messages_for_feed(post=post)

    def item_title(self, message: Message) -> str:
        parts = message_parts(message, current_language())
        return xml_text(f"{parts['kind_title']}: {parts['title']}")

    def item_description(self, message: Message) -> str:
        parts = message_parts(message, current_language())
        return xml_text(render_to_string("alerts/feed_entry.html", {"parts": parts}))

    def item_link(self, message: Message) -> str:
        return reverse("alerts:message", kwargs={"public_id": message.public_id})

    def item_pubdate(self, message: Message):
        return message.published_at

    def item_updateddate(self, message: Message):
        return message.published_at

    def item_categories(self, message: Message) -> list[str]:
        return [message_parts(message, current_language())["kind_title"]]


class CapAtom1Feed(Atom1Feed):
    """Atom whose entries link to CAP documents (``type="application/cap+xml"``), as the
    OASIS CAP feeds note and alert aggregators expect."""

    def add_item_elements(self, handler, item):
        handler.addQuickElement("title", item["title"])
        handler.addQuickElement(
            "link",
            "",
            {"href": item["link"], "rel": "alternate", "type": CAP_CONTENT_TYPE.split(";")[0]},
        )
        if item["pubdate"] is not None:
            handler.addQuickElement("published", rfc3339_date(item["pubdate"]))
        if item["updateddate"] is not None:
            handler.addQuickElement("updated", rfc3339_date(item["updateddate"]))
        if item["author_name"] is not None:
            handler.startElement("author", {})
            handler.addQuickElement("name", item["author_name"])
            handler.endElement("author")
        handler.addQuickElement("id", item["unique_id"])
        if item["description"] is not None:
            handler.addQuickElement("summary", item["description"], {"type": "html"})
        for category in item["categories"]:
            handler.addQuickElement("category", "", {"term": category})


class CapIndexFeed(MessagesFeed):
    """The CAP index: the same entries, each linking to the alert's CAP XML."""

    feed_type = CapAtom1Feed

    def title(self, post: Post) -> str:
        return _("CAP alerts — %(post)s") % {"post": post.display_name}

    def item_link(self, message: Message) -> str:
        return reverse("alerts:message-cap", kwargs={"public_id": message.public_id})

    def item_guid(self, message: Message) -> str:
        # The CAP identifier: what an aggregator matches the document by.
        return f"urn:uuid:{message.public_id}"

    def item_guid_is_permalink(self, message: Message) -> bool:
        return False
