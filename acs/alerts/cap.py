"""A published message as a CAP 1.2 alert (OASIS Common Alerting Protocol, version 1.2).

One ``info`` per language (en-US, and Spanish for the post's country such as es-PE) and one
``area`` naming the regions, with an ISO 3166-2 ``geocode`` for each. An update or a
cancellation names the earlier alert in ``references`` as "sender,identifier,sent", which is
why the sender and the times are written by one function each here and nowhere else. The
mapping is explained in docs/messages.md; tests validate the output against the OASIS schema.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse
from django.utils.translation import override
from django.utils.xmlutils import SimplerXMLGenerator

from acs.alerts.models import Message
from acs.alerts.rendering import message_parts
from acs.posts.models import Post
from acs.posts.routing import post_override
from acs.posts.selectors import post_serves_whole_country, post_whole_area_text

CAP_NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2"
CAP_CONTENT_TYPE = "application/cap+xml; charset=utf-8"
LANGUAGES = ("en", "es")

# Characters XML 1.0 cannot carry (a pasted text may hold them): dropped from every value.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(value: object) -> str:
    return _NOT_XML.sub("", str(value))


def cap_sender(post: Post) -> str:
    """The originator: the post's short name at the site's host ("lima@acs.example.gov").
    It never changes for a post, so that references stay true."""
    host = urlsplit(settings.ACS_SITE_URL).hostname or "localhost"
    return f"{post.slug}@{host}"


def cap_identifier(message: Message) -> str:
    # The public id, never the sequential key: unique in time and space, and unguessable.
    return f"urn:uuid:{message.public_id}"


def cap_time(value: datetime, post: Post) -> str:
    """CAP's dateTime: the post's local time with its offset, no fractions, and "-00:00"
    (not "Z") for UTC."""
    local = value.astimezone(post.zone).replace(microsecond=0)
    offset = local.strftime("%z")  # +0500
    offset = f"{offset[:3]}:{offset[3:]}"
    if offset == "+00:00":
        offset = "-00:00"
    return local.strftime("%Y-%m-%dT%H:%M:%S") + offset


def cap_language(post: Post, language: str) -> str:
    return "en-US" if language == "en" else f"es-{post.country_code.upper()}"


def cap_reference(message: Message) -> str:
    """ "sender,identifier,sent" of an earlier alert."""
    return ",".join(
        (
            cap_sender(message.post),
            cap_identifier(message),
            cap_time(message.published_at, message.post),
        )
    )


def _description(parts: dict) -> str:
    sections = {section["part"]: section for section in parts["sections"]}
    text = [parts["event_plain"]]
    if "location" in sections:
        location = sections["location"]
        text.append(f"{location['heading']}: {location['plain']}")
    return "\n\n".join(text)


def _area(xml: SimplerXMLGenerator, message: Message, language: str) -> None:
    """One ``area`` per post whose whole district the message covers (a network message has
    several), or one for the regions chosen. A post alone in its country is the country
    (ISO 3166-1) and its regions; an embassy or a consulate sharing it is its regions."""
    if not message.whole_country:
        regions = list(message.regions.all())
        xml.startElement("area", {})
        xml.addQuickElement("areaDesc", xml_text(", ".join(region.name for region in regions)))
        for region in regions:
            _geocode(xml, "ISO3166-2", region.code)
        xml.endElement("area")
        return
    for post in [message.post, *message.network_posts.order_by("pk")]:
        regions = list(post.regions.order_by("name"))
        xml.startElement("area", {})
        with override(language):
            if post_serves_whole_country(post):
                xml.addQuickElement("areaDesc", xml_text(post.country_name))
                _geocode(xml, "ISO3166-1", post.country_code.upper())
            else:
                xml.addQuickElement("areaDesc", xml_text(post_whole_area_text(post)))
        for region in regions:
            _geocode(xml, "ISO3166-2", region.code)
        xml.endElement("area")


def _geocode(xml: SimplerXMLGenerator, name: str, value: str) -> None:
    xml.startElement("geocode", {})
    xml.addQuickElement("valueName", name)
    xml.addQuickElement("value", value)
    xml.endElement("geocode")


def _info(
    xml: SimplerXMLGenerator, message: Message, language: str, absolute: Callable[[str], str]
) -> None:
    post = message.post
    parts = message_parts(message, language)
    with override(language), post_override(post):
        page = absolute(reverse("alerts:message", kwargs={"public_id": message.public_id}))
    optional = (
        ("effective", cap_time(message.effective_from, post)),
        ("expires", cap_time(message.effective_until, post)),
        ("senderName", post.name_es if language == "es" and post.name_es else post.name),
        ("headline", parts["title"]),
        ("description", _description(parts)),
        ("instruction", parts["actions_plain"]),
        ("web", page),
        ("contact", parts["assistance_plain"]),
    )
    xml.startElement("info", {})
    xml.addQuickElement("language", cap_language(post, language))
    xml.addQuickElement("category", message.cap_category)
    xml.addQuickElement("event", xml_text(parts["kind_title"]))
    xml.addQuickElement("urgency", message.cap_urgency)
    xml.addQuickElement("severity", message.cap_severity)
    xml.addQuickElement("certainty", message.cap_certainty)
    for name, value in optional:
        if value:
            xml.addQuickElement(name, xml_text(value))
    _area(xml, message, language)
    xml.endElement("info")


def cap_alert(message: Message, *, absolute: Callable[[str], str]) -> bytes:
    """The CAP 1.2 document of a published message. ``absolute`` turns a path into a full
    URL (``request.build_absolute_uri``)."""
    out = io.StringIO()
    xml = SimplerXMLGenerator(out, "utf-8")
    xml.startDocument()
    xml.startElement("alert", {"xmlns": CAP_NAMESPACE})
    xml.addQuickElement("identifier", cap_identifier(message))
    xml.addQuickElement("sender", cap_sender(message.post))
    xml.addQuickElement("sent", cap_time(message.published_at, message.post))
    xml.addQuickElement("status", "Actual")
    xml.addQuickElement("msgType", message.msg_type)
    xml.addQuickElement("scope", "Public")
    if message.references_id is not None:
        xml.addQuickElement("references", cap_reference(message.references))
    for language in LANGUAGES:
        _info(xml, message, language, absolute)
    xml.endElement("alert")
    xml.endDocument()
    return out.getvalue().encode("utf-8")
