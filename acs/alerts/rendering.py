"""A message's text as the public page, the feeds and the emails show it.

Officers write the parts of a message in Markdown. ``render_markdown`` turns it into HTML that
is safe to put in a page or an email: markdown-it-py ("commonmark", raw HTML off, no
linkify) and then nh3 with a small allow-list, so that whatever markdown-it lets through
(and whatever a future change of its options lets through) is cleaned once more.
``markdown_plain`` gives the readable plain text of the same Markdown, for the text part of
emails, text messages and the CAP ``description``. ``message_parts`` puts a message's parts in
one language together for every one of those places.
"""

from __future__ import annotations

import nh3
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, override
from markdown_it import MarkdownIt
from markdown_it.token import Token

from acs.alerts.constants import KIND_TITLES, MessageKind

__all__ = ["PARTS", "markdown_plain", "message_parts", "render_markdown"]

ALLOWED_TAGS = {"p", "ul", "ol", "li", "strong", "em", "a", "h3", "h4", "br", "blockquote"}
ALLOWED_ATTRIBUTES = {"a": {"href"}}
LINK_SCHEMES = ("https:", "mailto:", "tel:")

# Raw HTML is text, bare URLs stay text (a link is what the officer wrote as a link).
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})

# The parts of a message after its title, in the order the embassy's messages have them.
PARTS = ("location", "event", "actions", "assistance")


def _allowed_link(value: str) -> bool:
    return value.strip().lower().startswith(LINK_SCHEMES)


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    # nh3 checks the scheme of absolute links only: a relative or protocol-relative link
    # ("/x", "//host/x") would point somewhere the reader of an email cannot tell. Only
    # https, mailto and tel links are kept.
    if attribute == "href" and not _allowed_link(value):
        return None
    return value


def _prepare(tokens: list[Token]) -> list[Token]:
    """A message's headings sit under the page's own h1 and h2: ``#`` and ``##`` become h3,
    deeper ones h4. A link to anything but https, mailto or tel becomes its text."""
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = "h3" if token.tag in ("h1", "h2", "h3") else "h4"
        if token.type == "inline" and token.children:
            token.children = _unlink_disallowed(token.children)
    return tokens


def _unlink_disallowed(children: list[Token]) -> list[Token]:
    kept: list[Token] = []
    dropping: list[bool] = []  # for each open link: is it dropped?
    for child in children:
        if child.type == "link_open":
            dropping.append(not _allowed_link(str(child.attrGet("href") or "")))
            if dropping[-1]:
                continue
        elif child.type == "link_close" and dropping and dropping.pop():
            continue
        kept.append(child)
    return kept


def _code_as_text(self, tokens: list[Token], idx: int, options, env) -> str:
    # No <pre> in a message: a code block is shown as a paragraph of its lines.
    lines = escape(tokens[idx].content.rstrip("\n")).split("\n")
    return "<p>" + "<br>\n".join(lines) + "</p>\n"


def _image_as_text(self, tokens: list[Token], idx: int, options, env) -> str:
    # No images in a message (an email client would fetch them): the description stays.
    return escape(tokens[idx].content)


_markdown.add_render_rule("fence", _code_as_text)
_markdown.add_render_rule("code_block", _code_as_text)
_markdown.add_render_rule("image", _image_as_text)


def render_markdown(text: str) -> SafeString:
    """Markdown to HTML that keeps only paragraphs, lists, emphasis, h3/h4, line breaks,
    quotations and https/mailto/tel links (each with ``rel="noopener noreferrer"``)."""
    if not text or not text.strip():
        return SafeString("")
    tokens = _prepare(_markdown.parse(text))
    html = _markdown.renderer.render(tokens, _markdown.options, {})
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"https", "mailto", "tel"},
        attribute_filter=_attribute_filter,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
    return mark_safe(clean.strip())  # noqa: S308 — sanitised by nh3 just above  # nosec B308, B703


# Plain text -----------------------------------------------------------------------------------


def _inline_plain(token: Token) -> str:
    """An inline run as text: emphasis dropped, a link as "text (address)"."""
    out: list[str] = []
    links: list[str] = []
    for child in token.children or []:
        kind = child.type
        if kind in ("text", "code_inline", "image"):
            out.append(child.content)
        elif kind in ("softbreak", "hardbreak"):
            out.append("\n")
        elif kind == "link_open":
            links.append(str(child.attrGet("href") or ""))
            out.append("\x00")  # where the link's text starts
        elif kind == "link_close":
            href = links.pop() if links else ""
            start = len(out) - 1 - out[::-1].index("\x00")
            label = "".join(out[start + 1 :])
            del out[start:]
            out.append(label)
            shown = href.removeprefix("mailto:").removeprefix("tel:")
            if _allowed_link(href) and shown != label:
                out.append(f" ({shown})")
    return "".join(out)


class _PlainWriter:
    """Walks markdown-it's block tokens and writes lines: paragraphs apart, list items with
    "-" or "1.", nested items indented, quotations with "> "."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.lists: list[list] = []  # [ordered, next number] per open list
        self.quote = 0
        self.marker = ""  # the marker the next line of a list item starts with

    def gap(self) -> None:
        if self.lines and self.lines[-1] != "" and not self.lists:
            self.lines.append("")

    def write(self, content: str) -> None:
        quote = "> " * self.quote
        first = rest = ""
        if self.lists:
            indent = "   " * (len(self.lists) - 1)
            first = indent + (self.marker or "   ")
            rest = indent + " " * len(self.marker or "   ")
            self.marker = ""
        for number, line in enumerate(content.split("\n")):
            self.lines.append((quote + (first if number == 0 else rest) + line).rstrip())

    def token(self, token: Token) -> None:
        kind = token.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            self.gap()
            self.lists.append([kind == "ordered_list_open", int(token.attrGet("start") or 1)])
        elif kind in ("bullet_list_close", "ordered_list_close"):
            self.lists.pop()
            self.gap()
        elif kind == "list_item_open":
            ordered, number = self.lists[-1]
            self.marker = f"{number}. " if ordered else "- "
            self.lists[-1][1] = number + 1
        elif kind == "blockquote_open":
            self.quote += 1
        elif kind == "blockquote_close":
            self.quote -= 1
            self.gap()
        elif kind == "inline":
            self.write(_inline_plain(token))
        elif kind in ("paragraph_close", "heading_close"):
            self.gap()
        elif kind in ("fence", "code_block"):
            self.write("\n".join("    " + line for line in token.content.rstrip("\n").split("\n")))
            self.gap()
        elif kind == "hr":
            self.write("----")
            self.gap()

    def text(self) -> str:
        return "\n".join(self.lines).strip()


def markdown_plain(text: str) -> str:
    """The same Markdown as readable plain text (for text emails, SMS and CAP)."""
    if not text or not text.strip():
        return ""
    writer = _PlainWriter()
    for token in _markdown.parse(text):
        writer.token(token)
    return writer.text()


# A message in one language ------------------------------------------------------------------


def _part_text(message, part: str, language: str) -> str:
    """The part in ``language``, or in English when that language's text is empty (the
    compose form asks for both, so this is a safety net rather than a rule)."""
    text = getattr(message, f"{part}_{language}", "") if language != "en" else ""
    return text or getattr(message, f"{part}_en", "")


def message_parts(message, language: str) -> dict:
    """A message's parts in ``language`` (``"en"`` or ``"es"``; other values read English).

    Returns::

        {
            "language": "es",
            "kind": "emergency",
            "kind_title": "Emergencia",           # KIND_TITLES, in that language
            "title": "…", "title_html": "…",      # the title is plain text, escaped for HTML
            "location_html": SafeString, "location_plain": str,
            "event_html": …, "event_plain": …,
            "actions_html": …, "actions_plain": …,
            "assistance_html": …, "assistance_plain": …,
            "sections": [  # the non-empty parts in order, with their headings
                {"part": "location", "heading": "Ubicación", "html": …, "plain": …}, …
            ],
        }
    """
    language = "es" if (language or "").lower().startswith("es") else "en"
    with override(language):
        headings = {
            "location": gettext("Location"),
            "event": gettext("Event"),
            "actions": gettext("Actions to take"),
            "assistance": gettext("Assistance"),
        }
        kind_title = str(KIND_TITLES.get(MessageKind(message.kind), message.kind))
    title = message.title_es if language == "es" and message.title_es else message.title_en
    parts: dict = {
        "language": language,
        "kind": message.kind,
        "kind_title": kind_title,
        "title": title,
        "title_html": conditional_escape(title),
        "sections": [],
    }
    for part in PARTS:
        text = _part_text(message, part, language)
        html, plain = render_markdown(text), markdown_plain(text)
        parts[f"{part}_html"], parts[f"{part}_plain"] = html, plain
        if plain or html:
            parts["sections"].append(
                {"part": part, "heading": headings[part], "html": html, "plain": plain}
            )
    return parts
