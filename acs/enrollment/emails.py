"""Emails to enrollees: one plain-text body and one HTML alternative, in the enrollee's language.

Every kind has the same shape — a heading, a few paragraphs, at most one button with its
link, a closing note — so the kinds are Python functions that fill that shape (a ``Note``,
``KINDS``) and share two templates in the mail kit's layout (``acs.core.mail``). Workers
build and send these from the outbox's rows (the builders at the end, registered as
``OUTBOX_KINDS``; docs/mail.md); a request never does. Building a message changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.mail import EmailMultiAlternatives
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from acs.core import clock
from acs.core.mail.addresses import message_id, site_url
from acs.core.mail.letters import letter_render
from acs.enrollment.identity import tokens
from acs.enrollment.models import Enrollee, Residence
from acs.enrollment.services.accounts import ACCOUNT_EMAIL
from acs.enrollment.services.retention import IDLE_EMAIL, RESIDENCE_EMAIL
from acs.posts.routing import post_override


@dataclass
class Note:
    """What an account email says, in the active language (the letter is made from it)."""

    subject: str
    heading: str
    paragraphs: list[str]
    action_label: str = ""
    action_url: str = ""
    closing: list[str] = field(default_factory=list)


def link(name: str, **kwargs: str) -> str:
    """An absolute link to an enrollment page, in the active language."""
    return site_url(reverse(f"enrollment:{name}", kwargs=kwargs or None))


def _not_you() -> str:
    return _("If you did not ask for this, you can ignore this email; nothing will change.")


def _verify(enrollee: Enrollee) -> Note:
    return Note(
        subject=_("Confirm your email to finish enrolling"),
        heading=_("Confirm your email address"),
        paragraphs=[
            _(
                "Thank you for enrolling with the %(post)s. Confirm that this address is yours "
                "so that we can reach you in an emergency."
            )
            % {"post": enrollee.post.display_name},
            _("The link works for 7 days."),
        ],
        action_label=_("Confirm my email"),
        action_url=link("verify", token=tokens.verify_email(enrollee)),
        closing=[_not_you()],
    )


def _sign_in_link(enrollee: Enrollee) -> Note:
    return Note(
        subject=_("Your sign-in link"),
        heading=_("Sign in to your enrollment"),
        paragraphs=[
            _("Use this button to sign in without your password. It works once, for 30 minutes.")
        ],
        action_label=_("Sign in"),
        action_url=link("sign-in-link-use", token=tokens.sign_in_link(enrollee)),
        closing=[_not_you()],
    )


def _password_reset(enrollee: Enrollee) -> Note:
    return Note(
        subject=_("Choose a new password"),
        heading=_("Choose a new password"),
        paragraphs=[
            _(
                "Someone asked to reset the password of your enrollment. If it was you, choose "
                "a new one with this button. It works for one hour."
            )
        ],
        action_label=_("Choose a new password"),
        action_url=link("password-reset", token=tokens.password_reset(enrollee)),
        closing=[_not_you()],
    )


def _already_enrolled(enrollee: Enrollee) -> Note:
    return Note(
        subject=_("You already have an enrollment"),
        heading=_("You already have an enrollment"),
        paragraphs=[
            _(
                "Someone tried to enroll again with this email address. You already have an "
                "account, so nothing new was created. Sign in to see or change your trips."
            ),
            _("Forgot your password? The sign-in page can email you a link instead."),
        ],
        action_label=_("Sign in"),
        action_url=link("sign-in"),
        closing=[_not_you()],
    )


def _password_changed(enrollee: Enrollee) -> Note:
    return Note(
        subject=_("Your password was changed"),
        heading=_("Your password was changed"),
        paragraphs=[
            _(
                "The password of your enrollment was just changed, and every other device was "
                "signed out."
            ),
            _(
                "If you did not do this, choose a new password at once with the link on the "
                "sign-in page, and tell us."
            ),
        ],
        action_label=_("Sign in"),
        action_url=link("sign-in"),
    )


# Each kind of email: a function from the enrollee to its note. Others add their own.
KINDS: dict[str, Callable[[Enrollee], Note]] = {
    "verify": _verify,
    "sign_in_link": _sign_in_link,
    "password_reset": _password_reset,
    "already_enrolled": _already_enrolled,
    "password_changed": _password_changed,
}


def enrollee_message(enrollee: Enrollee, kind: str) -> EmailMultiAlternatives:
    """Build (not send) the email of ``kind`` for ``enrollee``, in their language."""
    if kind not in KINDS:
        raise ValueError(f"unknown enrollment email kind: {kind!r}")
    with translation.override(enrollee.language), post_override(enrollee.post):
        note = KINDS[kind](enrollee)
    letter = letter_render(
        post=enrollee.post,
        language=enrollee.language,
        template="enrollment/email/note",
        subject=note.subject,
        context={"note": note, "heading": note.heading},
    )
    return letter.email(to=[enrollee.email], message_id=message_id())


# Retention (``services.retention``): the yearly residence question and the idle warning.
# (Imports are local so that this section stays an append to the module.)


def _residence_reconfirm(enrollee: Enrollee) -> Note:
    """ "Do you still live here?": one button keeps the residence (its page asks for one more
    click, since mail scanners open links); moving is done in the account."""
    from datetime import timedelta

    from django.utils import timezone

    from acs.core.clock import long_date
    from acs.enrollment.services.retention import RECONFIRM_ANSWER_DAYS, residence_keep_token

    residence = enrollee.residences.select_related("region").filter(active=True).first()
    if residence is None:
        raise ValueError(f"enrollee {enrollee.pk} has no active residence to ask about")
    asked = residence.reconfirm_requested_at or timezone.now()
    answer_by = clock.today(enrollee.post, asked) + timedelta(days=RECONFIRM_ANSWER_DAYS)
    where = residence.region.name
    if residence.place:
        where = f"{residence.place}, {where}"
    return Note(
        subject=_("Do you still live in %(region)s?") % {"region": residence.region.name},
        heading=_("Do you still live here?"),
        paragraphs=[
            _(
                "Your enrollment with the %(post)s says that you live in %(where)s. Once a "
                "year we ask whether that is still true, so that messages about the region "
                "reach the people who are there."
            )
            % {"post": enrollee.post.display_name, "where": where},
            _(
                "If you still live there, open the “Yes, I still live here” link and confirm "
                "on the page it opens. You do not need to sign in."
            ),
            _("If you have moved, sign in and change your residence: %(url)s")
            % {"url": link("sign-in")},
            _(
                "If we do not hear from you by %(date)s, we will mark this residence as no "
                "longer current, and messages for the people who live in the region will stop "
                "reaching you. Your trips and the rest of your enrollment stay as they are."
            )
            % {"date": long_date(answer_by)},
        ],
        action_label=_("Yes, I still live here"),
        action_url=link("residence-keep", token=residence_keep_token(residence)),
    )


def _idle_warning(enrollee: Enrollee) -> Note:
    from django.utils.translation import ngettext

    from acs.core.clock import long_date
    from acs.enrollment.services.retention import idle_deletion_day

    post = enrollee.post
    days = post.idle_account_days
    return Note(
        subject=_("Your enrollment will be deleted unless you sign in"),
        heading=_("Do you want to keep your enrollment?"),
        paragraphs=[
            ngettext(
                "Your enrollment with the %(post)s has had no current trip, no residence and "
                "no sign-in for more than %(days)d day.",
                "Your enrollment with the %(post)s has had no current trip, no residence and "
                "no sign-in for more than %(days)d days.",
                days,
            )
            % {"post": post.display_name, "days": days},
            _(
                "To keep it, sign in by %(date)s. After that date we will delete it, with "
                "everything in it."
            )
            % {"date": long_date(idle_deletion_day(enrollee))},
            _("If you no longer need it, you do not have to do anything."),
        ],
        action_label=_("Sign in to keep my enrollment"),
        action_url=link("sign-in"),
    )


KINDS.update(
    {
        "residence_reconfirm": _residence_reconfirm,
        "idle_warning": _idle_warning,
    }
)


# The outbox's builders (acs/core/outbox/registry.py): from a row's arguments to its email,
# or None when there is nothing to send any more. Each checks, when the worker gets to it,
# that its reason still holds, so a late or repeated email says nothing stale. Links are
# made here, from the account as it is now: a sign-in link is never older than the sign-in
# it follows, and a confirmation link goes to the address it confirms.


def account_email_build(*, enrollee_id: int, kind: str) -> EmailMultiAlternatives | None:
    """An account email (``KINDS``); none if the account is gone."""
    enrollee = Enrollee.objects.select_related("post").filter(pk=enrollee_id).first()
    return enrollee_message(enrollee, kind) if enrollee is not None else None


def residence_reconfirm_build(*, residence_id: int) -> EmailMultiAlternatives | None:
    """The yearly "do you still live here?"; none if it was answered or the residence ended."""
    residence = (
        Residence.objects.select_related("enrollee__post")
        .filter(pk=residence_id, active=True, reconfirm_requested_at__isnull=False)
        .first()
    )
    if residence is None:
        return None
    return enrollee_message(residence.enrollee, "residence_reconfirm")


def idle_warning_build(*, enrollee_id: int) -> EmailMultiAlternatives | None:
    """ "Your enrollment will be deleted unless you sign in"; none if they signed in since."""
    enrollee = (
        Enrollee.objects.select_related("post")
        .filter(pk=enrollee_id, inactivity_warned_at__isnull=False)
        .first()
    )
    return enrollee_message(enrollee, "idle_warning") if enrollee is not None else None


OUTBOX_KINDS = {
    ACCOUNT_EMAIL: account_email_build,
    RESIDENCE_EMAIL: residence_reconfirm_build,
    IDLE_EMAIL: idle_warning_build,
}
