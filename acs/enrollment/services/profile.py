"""The rest of the citizen's self-service: profile and phones, emergency contacts, the privacy
release, message preferences, and the account's deletion (its download is a read:
``selectors.enrollee_export``).

Each service is keyword-only and owns one transaction; a refusal is a ``ValidationError`` with
a plain message (and a stable ``code``) and saves nothing. A citizen's changes to their own
record write no audit entry (the audit log is for staff) but mark the account active.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from acs.core import clock
from acs.enrollment.constants import (
    PRIVACY_FIELDS,
    Channel,
    Language,
    MessageKind,
    PhoneKind,
)
from acs.enrollment.models import (
    DeletionTally,
    EmergencyContact,
    Enrollee,
    MessagePreference,
    Phone,
    PrivacyRelease,
    validate_e164,
)
from acs.enrollment.selectors import KindChoice
from acs.enrollment.services.accounts import account_email_queue, enrollee_touch

# Profile -----------------------------------------------------------------------------------


def profile_update(
    *,
    enrollee: Enrollee,
    full_name: str,
    date_of_birth: date,
    status: str,
    language: str,
    email: str,
    passport_number: str = "",
) -> Enrollee:
    """Change the enrollee's own details. A new email address must be confirmed again: it is
    marked unverified and a link goes to it (the account pages wait until it is opened)."""
    email = email.strip().lower()
    changed_email = email != enrollee.email
    with transaction.atomic(durable=True):
        enrollee_touch(enrollee=enrollee)
        if changed_email and Enrollee.objects.filter(email=email).exclude(pk=enrollee.pk).exists():
            raise ValidationError(
                _("This email address cannot be used. Please choose another one."),
                code="email_taken",
            )
        enrollee.full_name = " ".join(full_name.split())
        enrollee.date_of_birth = date_of_birth
        enrollee.status = status
        enrollee.language = language
        enrollee.passport_number = passport_number.strip()
        fields = ["full_name", "date_of_birth", "status", "language", "passport_number"]
        if changed_email:
            enrollee.email = email
            enrollee.email_verified_at = None
            fields += ["email", "email_verified_at"]
        enrollee.full_clean(exclude=["password", "post"])
        enrollee.save(update_fields=fields)
        if changed_email:
            account_email_queue(enrollee=enrollee, kind="verify")
    return enrollee


@dataclass(frozen=True)
class PhoneData:
    """A phone as the phones form gives it back; ``public_id`` is None for a new one."""

    public_id: uuid.UUID | None
    number: str  # E.164
    kind: str = PhoneKind.MOBILE
    sms_capable: bool = False


def phones_set(*, enrollee: Enrollee, phones: Sequence[PhoneData]) -> None:
    """The enrollee's phones become ``phones``: listed ids are changed, ``None`` ids added,
    the others removed. Refused: a number that is not in international form, the same number
    twice, an id that is not one of the enrollee's phones."""
    numbers = [phone.number for phone in phones]
    for number in numbers:
        validate_e164(number)
    if len(set(numbers)) != len(numbers):
        raise ValidationError(_("Each number can be given only once."), code="duplicate_phone")
    with transaction.atomic(durable=True):
        enrollee_touch(enrollee=enrollee)
        existing = {phone.public_id: phone for phone in Phone.objects.filter(enrollee=enrollee)}
        listed = {phone.public_id for phone in phones if phone.public_id is not None}
        if listed - existing.keys():
            raise ValidationError(
                _("A phone number in the list was changed elsewhere. Please try again."),
                code="unknown_phone",
            )
        # Removed first, so that a number moved from one row to another does not collide
        # with itself on the (enrollee, number) constraint.
        Phone.objects.filter(enrollee=enrollee).exclude(public_id__in=listed).delete()
        changed = [phone for phone in phones if phone.public_id is not None]
        for phone in changed:
            row = existing[phone.public_id]
            row.number, row.kind, row.sms_capable = phone.number, phone.kind, phone.sms_capable
        # Two rows may swap numbers: clear the changed ones first, then write them back.
        Phone.objects.bulk_update(
            [Phone(pk=existing[p.public_id].pk, number=f"+{i}") for i, p in enumerate(changed)],
            ["number"],
        )
        Phone.objects.bulk_update(
            [existing[phone.public_id] for phone in changed], ["number", "kind", "sms_capable"]
        )
        Phone.objects.bulk_create(
            Phone(
                enrollee=enrollee,
                number=phone.number,
                kind=phone.kind,
                sms_capable=phone.sms_capable,
            )
            for phone in phones
            if phone.public_id is None
        )


# Emergency contacts ------------------------------------------------------------------------


def _contact_check(name: str, phone: str, email: str) -> None:
    if not name.strip():
        raise ValidationError(_("Enter the name of your contact."), code="contact_name")
    if not (phone or email.strip()):
        raise ValidationError(
            _("Give a phone number or an email address, so that we can reach them."),
            code="unreachable",
        )
    if phone:
        validate_e164(phone)


def contact_add(
    *, enrollee: Enrollee, name: str, relation: str = "", phone: str = "", email: str = ""
) -> EmergencyContact:
    """Someone the post may call if something happens to the enrollee. ``phone`` is E.164;
    at least one of phone and email is needed."""
    _contact_check(name, phone, email)
    with transaction.atomic(durable=True):
        enrollee_touch(enrollee=enrollee)
        return EmergencyContact.objects.create(
            enrollee=enrollee,
            name=" ".join(name.split()),
            relation=relation.strip(),
            phone=phone,
            email=email.strip().lower(),
        )


def contact_update(
    *, contact: EmergencyContact, name: str, relation: str = "", phone: str = "", email: str = ""
) -> EmergencyContact:
    _contact_check(name, phone, email)
    with transaction.atomic(durable=True):
        enrollee_touch(enrollee=contact.enrollee)
        contact.name = " ".join(name.split())
        contact.relation = relation.strip()
        contact.phone = phone
        contact.email = email.strip().lower()
        contact.save(update_fields=["name", "relation", "phone", "email"])
    return contact


def contact_delete(*, contact: EmergencyContact) -> None:
    with transaction.atomic(durable=True):
        enrollee_touch(enrollee=contact.enrollee)
        contact.delete()


# Privacy release and message preferences ---------------------------------------------------


def privacy_set(*, enrollee: Enrollee, **choices: bool) -> PrivacyRelease:
    """Whom the post may tell about the enrollee: each of ``PRIVACY_FIELDS`` a separate yes or
    no (a name left out means no: nothing is released without consent)."""
    unknown = set(choices) - set(PRIVACY_FIELDS)
    if unknown:
        raise TypeError(f"unknown privacy choices: {sorted(unknown)}")
    values = {name: bool(choices.get(name, False)) for name in PRIVACY_FIELDS}
    with transaction.atomic(durable=True):
        enrollee_touch(enrollee=enrollee)
        release, _created = PrivacyRelease.objects.update_or_create(
            enrollee=enrollee, defaults=values
        )
    return release


def preferences_set(
    *, enrollee: Enrollee, choices: Mapping[str, KindChoice], language: str | None = None
) -> None:
    """The enrollee's choice for each kind in ``choices`` (the others keep theirs), written as
    one row per channel so that their rows, not the defaults, decide from now on. Text
    messages are not sent yet; the choice is kept for when they are, and needs a phone that
    can receive them. ``language`` (if given) is the language of every message."""
    kinds = [MessageKind(kind) for kind in choices]
    wants_sms = any(choice.sms for choice in choices.values())
    if wants_sms and not enrollee.phones.filter(sms_capable=True).exists():
        raise ValidationError(
            _("To get text messages, first add a mobile number that can receive them."),
            code="no_sms_phone",
        )
    with transaction.atomic(durable=True):
        enrollee_touch(enrollee=enrollee)
        MessagePreference.objects.filter(enrollee=enrollee, kind__in=kinds).delete()
        MessagePreference.objects.bulk_create(
            MessagePreference(
                enrollee=enrollee,
                kind=kind,
                channel=channel,
                enabled=getattr(choices[kind], channel),
                delivery=choices[kind].delivery,
            )
            for kind in kinds
            for channel in (Channel.EMAIL, Channel.SMS)
        )
        if language is not None and language != enrollee.language:
            enrollee.language = Language(language)
            enrollee.save(update_fields=["language"])


# Everything about the person: read, download, delete ---------------------------------------


def enrollee_delete(*, enrollee: Enrollee) -> None:
    """The enrollee deletes their account: the row and everything hanging off it are gone at
    once; all that remains is one more in the post's count of accounts deleted this month
    (the post's month), in the same transaction."""
    post = enrollee.post
    month = clock.today(post).replace(day=1)
    key = {"post": post, "month": month, "reason": DeletionTally.Reason.SELF}
    with transaction.atomic(durable=True):
        # Create the month's row if it is missing (two deletions at once: one insert wins, the
        # other does nothing), then count in the database, never read-modify-write in Python.
        DeletionTally.objects.bulk_create([DeletionTally(**key)], ignore_conflicts=True)
        DeletionTally.objects.filter(**key).update(count=F("count") + 1)
        Enrollee.objects.filter(pk=enrollee.pk).delete()
