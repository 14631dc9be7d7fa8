"""A service's release settings: first come, or request rounds on a weekly schedule
(docs/release-rounds.md). Changed by staff from the back office, one audited transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from acs.appointments.constants import (
    AUDIT_SERVICE_ROUNDS_CHANGED,
    WAITLIST_ACTIVE,
    ReleaseMode,
    RoundState,
)
from acs.appointments.models import Round, Service, WaitlistEntry
from acs.core import clock
from acs.core.audit import audit_record, diff

FIELDS = [
    "release_mode",
    "round_weekday",
    "round_opens",
    "round_weeks_ahead",
    "round_window_hours",
]
MOST_WEEKS_AHEAD = 26
# Under a week, so that a service never has two windows open at once.
MOST_WINDOW_HOURS = 167


class RoundSettingsError(Exception):
    """A refusal staff can read; ``code`` is stable for pages and tests."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class RoundSettings:
    release_mode: str
    round_weekday: int
    round_opens: time
    round_weeks_ahead: int
    round_window_hours: int


@dataclass(frozen=True)
class RoundSettingsResult:
    service: Service
    changed: bool


def _gives_a_day(settings: RoundSettings) -> bool:
    """Whether a round on this schedule gives out at least one day: its days run from the
    day after the window closes to the Sunday ``round_weeks_ahead`` weeks after the opening's
    week (``rounds.round_days``). Counted in days from that week's Monday, on the post's
    clock (a daylight-saving hour either way moves no window across a whole day here)."""
    opens = settings.round_opens
    minutes = settings.round_weekday * 24 * 60 + opens.hour * 60 + opens.minute
    closes_day = (minutes + settings.round_window_hours * 60) // (24 * 60)
    return closes_day + 1 <= 7 * settings.round_weeks_ahead + 6


def round_settings_check(settings: RoundSettings) -> None:
    """Plain-words refusals of settings that cannot work, whatever the service."""
    if settings.release_mode not in ReleaseMode.values:
        raise RoundSettingsError("mode", _("Choose how appointments are given."))
    if not 0 <= settings.round_weekday <= 6:
        raise RoundSettingsError("weekday", _("Choose the weekday a round opens."))
    if not 0 <= settings.round_weeks_ahead <= MOST_WEEKS_AHEAD:
        raise RoundSettingsError(
            "weeks_ahead",
            _("A round can give out a week from 0 to %(most)d weeks ahead.")
            % {"most": MOST_WEEKS_AHEAD},
        )
    if not 1 <= settings.round_window_hours <= MOST_WINDOW_HOURS:
        raise RoundSettingsError(
            "window",
            _(
                "The request window lasts from 1 to %(most)d hours, so that one round closes "
                "before the next opens."
            )
            % {"most": MOST_WINDOW_HOURS},
        )
    if settings.release_mode == ReleaseMode.ROUNDS and not _gives_a_day(settings):
        raise RoundSettingsError(
            "no_day",
            _(
                "With these settings the request window closes after the last day the round "
                "gives out, so a round would give out nothing. Choose more weeks ahead or a "
                "shorter window."
            ),
        )


def _check_service(service: Service, settings: RoundSettings) -> None:
    """Refusals that depend on the service's state now (its row locked)."""
    open_round = (
        Round.objects.filter(service=service, state=RoundState.OPEN).order_by("-opens_at").first()
    )
    if open_round is not None:
        # Another schedule now could open a second round whose days overlap this one's, and
        # a switch to first come would let people book the seats this round is drawing.
        raise RoundSettingsError(
            "round_open",
            _(
                "A round of this service is taking requests until %(closes)s. Change the "
                "settings once it has been drawn."
            )
            % {"closes": clock.when_text(service.post, open_round.closes_at)},
        )
    if settings.release_mode == ReleaseMode.ROUNDS and service.release_mode != ReleaseMode.ROUNDS:
        waiting = WaitlistEntry.objects.filter(service=service, status__in=WAITLIST_ACTIVE).count()
        if waiting:
            # A seat offered from the waitlist could not be booked once the service is drawn.
            raise RoundSettingsError(
                "waitlist",
                ngettext(
                    "%(count)d request is on this service's waitlist. Switch to request "
                    "rounds once nobody is waiting.",
                    "%(count)d requests are on this service's waitlist. Switch to request "
                    "rounds once nobody is waiting.",
                    waiting,
                )
                % {"count": waiting},
            )


def service_rounds_update(
    *, service: Service, settings: RoundSettings, actor: AbstractBaseUser
) -> RoundSettingsResult:
    """Change how a service's seats are given (first come or request rounds) and the rounds'
    schedule, in one transaction with its audit entry (before and after).

    Refused, changing nothing, while a round of the service is open (the new schedule would
    apply only to rounds not opened yet anyway), when switching to rounds while people wait
    on the waitlist, and for settings under which a round would give out no day. Saving what
    is already there changes nothing and writes no entry.
    """
    round_settings_check(settings)
    with transaction.atomic(durable=True):
        service = Service.objects.select_for_update().select_related("post").get(pk=service.pk)
        after = {name: getattr(settings, name) for name in FIELDS}
        changes = diff(service, after, FIELDS)
        if not changes:
            return RoundSettingsResult(service=service, changed=False)
        _check_service(service, settings)
        for name in FIELDS:
            setattr(service, name, after[name])
        service.save(update_fields=FIELDS)
        audit_record(
            actor=actor,
            action=AUDIT_SERVICE_ROUNDS_CHANGED,
            target=service,
            summary=f"{service}: {', '.join(changes)} changed",
            changes=changes,
        )
    return RoundSettingsResult(service=service, changed=True)
