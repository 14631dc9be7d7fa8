"""Reading a booking request sent to the API: every field checked, every problem reported
under the field's name, before anything is written or any proof-of-work is spent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils.translation import gettext as _

from acs.appointments import selectors
from acs.appointments.availability import parse_slot_key
from acs.appointments.models import Service
from acs.appointments.services import PersonData
from acs.core import clock
from acs.core.forms.passport import is_us_passport, normalize_passport
from acs.core.forms.phone import phone_to_e164
from acs.posts.models import Post

LANGUAGES = ("en", "es")
EARLIEST_BIRTH = date(1900, 1, 1)
MOST_PEOPLE = 10  # the model's ceiling for ``Service.max_people``; bounds the work per request


class _EmailValidator(EmailValidator):
    """Django's email check, with its verdict on each domain kept by the process: the domain's
    pattern (a letter of any script, then up to 63 more) was a thirtieth of a request's CPU at
    a release moment, and a crowd writes from a handful of domains."""

    def validate_domain_part(self, domain_part: str) -> bool:
        return _domain_valid(domain_part)


_plain_validator = EmailValidator()


@lru_cache(maxsize=4096)
def _domain_valid(domain_part: str) -> bool:
    return _plain_validator.validate_domain_part(domain_part)


validate_email = _EmailValidator()


class FieldErrors(Exception):
    """One or more fields are wrong; ``errors`` maps a field path to ``{code, message}``."""

    def __init__(self, errors: dict[str, dict[str, str]]) -> None:
        super().__init__("invalid fields")
        self.errors = errors


@dataclass(frozen=True)
class BookingRequest:
    service: Service
    starts_at: datetime
    people: list[PersonData]
    email: str
    phone: str
    language: str


class _Errors(dict):
    def add(self, field: str, code: str, message: str) -> None:
        self.setdefault(field, {"code": code, "message": str(message)})


def _text(
    data: dict, field: str, errors: _Errors, *, path: str = "", max_length: int, required=True
) -> str:
    """The field's text, stripped; "" (and an error when required) if it is missing."""
    path = path or field
    value = data.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.add(path, "required", _("This field is required."))
        return ""
    if not isinstance(value, str):
        errors.add(path, "invalid", _("Expected text."))
        return ""
    value = value.strip()
    if len(value) > max_length:
        errors.add(
            path, "too_long", _("At most %(count)d characters, please.") % {"count": max_length}
        )
        return ""
    return value


def _email(data: dict, errors: _Errors) -> str:
    email = _text(data, "email", errors, max_length=254)
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors.add("email", "invalid_email", _("Enter a valid email address."))
    return email.lower()


def _phone(data: dict, post: Post, errors: _Errors) -> str:
    """The phone in E.164; a number without + is read as one of the post's country."""
    raw = _text(data, "phone", errors, max_length=40)
    if not raw:
        return ""
    try:
        return phone_to_e164(raw, post.country_code)
    except ValidationError:
        errors.add("phone", "invalid_phone", _("Enter a valid phone number."))
        return ""


def _language(data: dict, errors: _Errors) -> str:
    language = data.get("language", "en")
    if language not in LANGUAGES:
        errors.add("language", "invalid_language", _("The language must be “en” or “es”."))
        return "en"
    return language


def _service(data: dict, post: Post, errors: _Errors) -> Service | None:
    slug = _text(data, "service", errors, max_length=50)
    if not slug:
        return None
    service = selectors.service_get(post=post, slug=slug)
    if service is None:
        errors.add("service", "unknown_service", _("There is no such service to book."))
        return service
    if service.requires_benefits_ack and data.get("benefits_ack") is not True:
        errors.add(
            "benefits_ack",
            "benefits_ack_required",
            _("Please confirm you have read the federal benefits information."),
        )
    return service


def _start(data: dict, errors: _Errors) -> datetime | None:
    raw = _text(data, "start", errors, max_length=20)
    starts_at = parse_slot_key(raw) if raw else None
    if raw and starts_at is None:
        errors.add("start", "invalid_start", _("Use a start time as the availability lists it."))
    return starts_at


def _date_of_birth(person: dict, path: str, today: date, errors: _Errors) -> date | None:
    raw = _text(person, "date_of_birth", errors, path=path, max_length=10)
    if not raw:
        return None
    try:
        born = date.fromisoformat(raw)
    except ValueError:
        born = None
    if born is None or born < EARLIEST_BIRTH:
        errors.add(path, "invalid_date", _("Enter the date as YYYY-MM-DD."))
        return None
    if born > today:
        errors.add(path, "future_date", _("A date of birth cannot be in the future."))
        return None
    return born


def _person(person: Any, index: int, today: date, errors: _Errors) -> PersonData | None:
    where = f"people[{index}]"
    if not isinstance(person, dict):
        errors.add(where, "invalid", _("Each person is an object with a name and a birth date."))
        return None
    name = _text(person, "full_name", errors, path=f"{where}.full_name", max_length=150)
    born = _date_of_birth(person, f"{where}.date_of_birth", today, errors)
    passport = normalize_passport(
        _text(
            person,
            "passport_number",
            errors,
            path=f"{where}.passport_number",
            max_length=20,
            required=False,
        )
    )
    if passport and not is_us_passport(passport):
        errors.add(
            f"{where}.passport_number",
            "invalid_passport",
            _("A passport number is 9 digits, or a letter followed by 8 digits."),
        )
    if not name or born is None:
        return None
    return PersonData(full_name=name, date_of_birth=born, passport_number=passport)


def _people(
    data: dict, service: Service | None, today: date, errors: _Errors, *, request=False
) -> list:
    people = data.get("people")
    if not isinstance(people, list) or not people:
        errors.add("people", "required", _("List at least one person."))
        return []
    most = service.max_people if service else MOST_PEOPLE
    if len(people) > most:
        message = (
            _("One request can cover from 1 to %(most)d people.")
            if request
            else _("One booking can cover from 1 to %(most)d people.")
        )
        errors.add("people", "people_count", message % {"most": most})
        return []
    return [_person(person, index, today, errors) for index, person in enumerate(people)]


def booking_request_parse(data: dict, *, post: Post) -> BookingRequest:
    """Check a booking request against the post's rules; raise FieldErrors listing them all."""
    errors = _Errors()
    today = clock.today(post)
    service = _service(data, post, errors)
    starts_at = _start(data, errors)
    people = _people(data, service, today, errors)
    email = _email(data, errors)
    phone = _phone(data, post, errors)
    language = _language(data, errors)
    if errors or service is None or starts_at is None:
        raise FieldErrors(dict(errors))
    return BookingRequest(
        service=service,
        starts_at=starts_at,
        people=people,
        email=email,
        phone=phone,
        language=language,
    )


# Round requests ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoundRequestData:
    people: list[PersonData]
    email: str
    phone: str
    language: str
    choices: list[str]


CHOICE_PARTS = ("any", "am", "pm")


def _choices(data: dict, days: frozenset[str], most: int, errors: _Errors) -> list[str]:
    """The ranked choices as ``services.rounds`` stores them ("YYYY-MM-DD/am"), each a day
    the round offers; every wrong entry is reported under its own path."""
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices:
        errors.add("choices", "required", _("List at least one day that suits you."))
        return []
    if len(choices) > most:
        errors.add(
            "choices",
            "too_many_choices",
            _("Choose at most %(most)d days and times.") % {"most": most},
        )
        return []
    kept: list[str] = []
    for index, choice in enumerate(choices):
        where = f"choices[{index}]"
        if not isinstance(choice, dict):
            errors.add(where, "invalid", _("Each choice is an object with a day and a part."))
            continue
        day, part = choice.get("day"), choice.get("part", "any")
        if not isinstance(day, str) or day not in days:
            errors.add(f"{where}.day", "invalid_day", _("Choose each day from the round's days."))
            continue
        if part not in CHOICE_PARTS:
            errors.add(
                f"{where}.part", "invalid_part", _("The part of the day is “any”, “am” or “pm”.")
            )
            continue
        if f"{day}/{part}" not in kept:
            kept.append(f"{day}/{part}")
    return kept


def round_request_parse(
    data: dict, *, service: Service, days: list[date], most_choices: int
) -> RoundRequestData:
    """Check a round request against the service and its open round's days; raise
    FieldErrors listing every problem, before any proof of work is spent."""
    errors = _Errors()
    post = service.post
    people = _people(data, service, clock.today(post), errors, request=True)
    email = _email(data, errors)
    phone = _phone(data, post, errors)
    language = _language(data, errors)
    offered = frozenset(day.isoformat() for day in days)
    choices = _choices(data, offered, most_choices, errors)
    if errors:
        raise FieldErrors(dict(errors))
    return RoundRequestData(
        people=people, email=email, phone=phone, language=language, choices=choices
    )
