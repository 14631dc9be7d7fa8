"""A letter: what one email says, in the recipient's language, as plain text and HTML, in the
one layout every email of the product shares.

An app writes two templates that extend ``core/email/_layout.txt`` and
``core/email/_layout.html`` (the post's name above the heading, the emergency hotline after
the body, the post and where to write with questions at the foot), builds their context and
calls ``letter_render``; ``Letter.email`` then makes the email with the headers every email
carries. Rendering is separate from making the email because messages to many render one
letter per language and make thousands of emails from it (``acs.alerts.letters``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation

if TYPE_CHECKING:
    from acs.posts.models import Post


@dataclass(frozen=True)
class Letter:
    """An email's words, in ``language``: the same for every recipient it is sent to."""

    subject: str
    text: str
    html: str
    language: str
    reply_to: tuple[str, ...] = ()

    def email(
        self,
        *,
        to: list[str],
        message_id: str,
        headers: dict[str, str] | None = None,
        email_class: type[EmailMultiAlternatives] = EmailMultiAlternatives,
    ) -> EmailMultiAlternatives:
        """The email of this letter to ``to``, named ``message_id``; ``headers`` adds to the
        ones every email carries. ``email_class`` for an email with parts of its own (a
        booking's inline QR code)."""
        email = email_class(
            subject=self.subject,
            body=self.text,
            to=to,
            reply_to=list(self.reply_to),
            headers={
                "Message-ID": message_id,
                # Tells vacation responders and ticket systems not to answer (RFC 3834).
                "Auto-Submitted": "auto-generated",
                **(headers or {}),
            },
        )
        email.attach_alternative(self.html, "text/html")
        return email


def layout_context(post: Post) -> dict[str, Any]:
    """What the layout shows of the post that writes: its name at the head, its emergency
    hotline after the body, where to write with questions at the foot."""
    return {
        "post_name": post.display_name,
        "hotline": post.hotline,
        "public_email": post.public_email,
    }


def letter_render(
    *, post: Post, language: str, template: str, subject: str, context: dict[str, Any]
) -> Letter:
    """Render ``template``.txt and ``template``.html (both extending the layout) for a
    recipient who reads ``language``, whatever language is active; replies go to the post.

    Words and links in ``subject`` and ``context`` are the caller's: make them under
    ``translation.override(language)`` too (a link's path carries its language)."""
    with translation.override(language):
        values = {**layout_context(post), "language": language, **context}
        return Letter(
            subject=str(subject),
            text=render_to_string(f"{template}.txt", values),
            html=render_to_string(f"{template}.html", values),
            language=language,
            reply_to=(post.public_email,) if post.public_email else (),
        )
