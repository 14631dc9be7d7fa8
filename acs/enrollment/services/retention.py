"""Retention: keep personal data only while it serves the citizen, then let it go.

Periodic jobs (``tasks``) call these once a day. Each works post by post in the post's own
time zone, owns its transactions, and is safe to run twice, or twice at once: claims are
conditional updates, deletions re-check their conditions inside the transaction.

**Whose post.** An account serves every post, and its trips and home may lie in several
districts; the rules are those of the post where the account was opened (``Enrollee.post``):
its clock, its ``trip_retention_days``, its idle-account days, its deletion tally. So each
record falls under exactly one rule, the one the account's own emails speak of, and a post
that changes its settings changes them for the accounts opened there.

**The boundary, the same for every rule.** Ages are counted in whole days of the post's
calendar (its local "today" minus the local date of the moment), and a rule takes effect when
the age is *more than* the setting. With the default 30 days a trip that ended 30 days ago is
kept and one that ended 31 days ago is purged; a residence confirmed 365 days ago is not asked
yet, one confirmed 366 days ago is; a request of 60 days ago can still be answered, one of 61
days ago has expired. "More than N days before today" is, as an instant, "before the post's
midnight that starts the day ``today - N``", so every filter below compares with such a
midnight and can use an index.

- ``trips_purge``: trips (with their stops and companions) ended more than
  ``post.trip_retention_days`` ago;
- ``residences_reconfirm_request`` / ``residence_keep`` / ``residences_expire``: the yearly
  "do you still live here?" email, its one-click answer, and the residence going inactive when
  nobody answers within 60 days;
- ``idle_accounts_warn`` / ``idle_accounts_delete``: accounts with nothing active for
  ``post.idle_account_days`` are warned, then deleted ``post.idle_account_warning_days`` later
  unless the owner signs in; ``unverified_accounts_delete``: accounts whose address was never
  confirmed go after 7 days, without a warning (we cannot know the address is theirs).

Deleted accounts leave only a count (``DeletionTally``, reason "inactive"); nothing here writes
the audit log, which would keep the very personal data being deleted.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from django.core import signing
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from acs.core import clock
from acs.core.outbox.queue import NewEmail, emails_queue
from acs.enrollment.models import DeletionTally, Enrollee, Residence, Trip
from acs.posts.models import Post

logger = logging.getLogger(__name__)

RECONFIRM_AFTER_DAYS = 365  # a residence is asked again once it is more than a year old
RECONFIRM_ANSWER_DAYS = 60  # ... and goes inactive when the question is older than this
UNVERIFIED_ACCOUNT_DAYS = 7  # the verification link's own life (identity.tokens.VERIFY_AGE)
# Deleting an account deletes its trips, residences, contacts, ... in one transaction; take
# a bounded number at a time so that the first run over a large post stays short.
DELETE_BATCH = 500

KEEP_SALT = "acs.enrollment.residence-keep"
# Longer than the 60 days the question stays open; the link also dies once answered, since
# it carries the ``confirmed_at`` that the answer moves on.
KEEP_AGE = 70 * 24 * 3600


# --- Time -----------------------------------------------------------------------------------


def _older_than(post: Post, now: datetime, days: int) -> datetime:
    """Moments before this instant are *more than* ``days`` whole local days before today."""
    return clock.midnight(post, clock.today(post, now) - timedelta(days=days))


def _posts() -> QuerySet[Post]:
    return Post.objects.order_by("pk")


# --- Trips ----------------------------------------------------------------------------------


def trips_purge(*, now: datetime | None = None) -> int:
    """Delete trips (their stops and companions with them) that ended more than
    ``post.trip_retention_days`` days before the post's today. A trip ends on its departure
    date, or on the local date it was ended early if that is earlier. Returns how many trips
    went; running it again deletes nothing."""
    now = now or timezone.now()
    purged = 0
    for post in _posts():
        cutoff = clock.today(post, now) - timedelta(days=post.trip_retention_days)
        of_post = Trip.objects.filter(enrollee__post=post)
        with transaction.atomic(durable=True):
            # Two filtered deletes rather than one with an OR, so the first can use the
            # departure index; trips ended early are few.
            _, by_model = of_post.filter(departure__lt=cutoff).delete()
            purged += by_model.get("enrollment.Trip", 0)
            _, by_model = of_post.filter(ended_early_at__lt=clock.midnight(post, cutoff)).delete()
            purged += by_model.get("enrollment.Trip", 0)
    if purged:
        logger.info("purged %d ended trips", purged)
    return purged


# --- Residence: the yearly question ---------------------------------------------------------


def residence_keep_token(residence: Residence) -> str:
    """The token of the "yes, I still live here" link: it names the residence and the
    confirmation it asks about, so it works once."""
    return signing.dumps([residence.pk, residence.confirmed_at.isoformat()], salt=KEEP_SALT)


def residence_from_keep_token(token: str) -> Residence | None:
    """The active residence the token asks about, or ``None`` when the token is forged,
    older than 70 days, or already answered (the confirmation moved on). The link works
    under any post's address: the account, and so its home, is the same from every post."""
    try:
        value = signing.loads(token, salt=KEEP_SALT, max_age=KEEP_AGE)
    except signing.BadSignature:  # includes SignatureExpired
        return None
    if not (isinstance(value, list) and len(value) == 2 and isinstance(value[0], int)):
        return None
    residence = (
        Residence.objects.select_related("region", "enrollee")
        .filter(pk=value[0], active=True)
        .first()
    )
    if residence is None or residence.confirmed_at.isoformat() != value[1]:
        return None
    return residence


# The outbox's kinds for the two retention emails (built in ``emails``).
RESIDENCE_EMAIL = "enrollment.residence_reconfirm"
IDLE_EMAIL = "enrollment.idle_warning"


def residences_reconfirm_request(*, now: datetime | None = None) -> list[int]:
    """Ask "do you still live here?" of every active residence last confirmed more than 365
    days ago that has not been asked yet. Each is claimed with a conditional update
    (``reconfirm_requested_at`` from empty to ``now``) and emailed only if this run claimed
    it, so two runs at once send one email. Returns the ids of the residences asked."""
    now = now or timezone.now()
    asked: list[int] = []
    for post in _posts():
        due = Residence.objects.filter(
            enrollee__post=post,
            active=True,
            reconfirm_requested_at__isnull=True,
            confirmed_at__lt=_older_than(post, now, RECONFIRM_AFTER_DAYS),
        )
        with transaction.atomic(durable=True):
            emails = []
            for pk, to, language in list(
                due.values_list("pk", "enrollee__email", "enrollee__language")
            ):
                # The claim's conditions are on the row itself (no join), so that PostgreSQL
                # re-checks them on the row another run may just have claimed.
                claimed = Residence.objects.filter(
                    pk=pk, active=True, reconfirm_requested_at__isnull=True
                ).update(reconfirm_requested_at=now)
                if claimed:
                    emails.append(NewEmail(RESIDENCE_EMAIL, to, language, {"residence_id": pk}))
                    asked.append(pk)
            # The questions and their emails commit together (docs/mail.md).
            emails_queue(emails=emails)
    return asked


def residence_keep(*, residence: Residence) -> bool:
    """The enrollee still lives there: confirmed as of now, the question answered. Returns
    ``False`` (and changes nothing) if the residence went inactive meanwhile."""
    now = timezone.now()
    with transaction.atomic(durable=True):
        kept = Residence.objects.filter(pk=residence.pk, active=True).update(
            confirmed_at=now, reconfirm_requested_at=None
        )
    if kept:
        residence.confirmed_at, residence.reconfirm_requested_at = now, None
    return bool(kept)


def residences_expire(*, now: datetime | None = None) -> int:
    """Residences whose question went unanswered for more than 60 days become inactive (they
    no longer receive messages for the region, nor keep the account from being idle).
    Returns how many; running it again changes nothing."""
    now = now or timezone.now()
    expired = 0
    for post in _posts():
        with transaction.atomic(durable=True):
            expired += Residence.objects.filter(
                enrollee__post=post,
                active=True,
                reconfirm_requested_at__lt=_older_than(post, now, RECONFIRM_ANSWER_DAYS),
            ).update(active=False)
    return expired


# --- Idle accounts --------------------------------------------------------------------------


def _idle(post: Post, now: datetime) -> QuerySet[Enrollee]:
    """Enrollees of ``post`` with nothing active: no trip ending today or later, no active
    residence, and no sign-in (or, never signed in, no creation) within
    ``post.idle_account_days``."""
    today = clock.today(post, now)
    seen_before = _older_than(post, now, post.idle_account_days)
    current_trip = Trip.objects.filter(enrollee=OuterRef("pk"), departure__gte=today).filter(
        Q(ended_early_at__isnull=True) | Q(ended_early_at__gte=clock.midnight(post, today))
    )
    home = Residence.objects.filter(enrollee=OuterRef("pk"), active=True)
    return Enrollee.objects.filter(
        Q(last_sign_in_at__lt=seen_before)
        | Q(last_sign_in_at__isnull=True, created_at__lt=seen_before),
        ~Exists(current_trip),
        ~Exists(home),
        post=post,
    )


def idle_deletion_day(enrollee: Enrollee) -> date:
    """The last day (post-local) on which signing in keeps a warned account; it is deleted
    by the first run after it."""
    post = enrollee.post
    warned = enrollee.inactivity_warned_at or timezone.now()
    return clock.today(post, warned) + timedelta(days=post.idle_account_warning_days)


def idle_accounts_warn(*, now: datetime | None = None) -> list[int]:
    """Warn every idle, active account not yet warned: "your enrollment will be deleted unless
    you sign in by <date>". Each is claimed with a conditional update of
    ``inactivity_warned_at`` and emailed only by the run that claimed it. A warning belongs
    to one idle spell: one whose account is no longer idle is withdrawn. Returns the ids
    warned."""
    now = now or timezone.now()
    warned: list[int] = []
    for post in _posts():
        idle = _idle(post, now)
        with transaction.atomic(durable=True):
            Enrollee.objects.filter(post=post, inactivity_warned_at__isnull=False).exclude(
                pk__in=idle.values("pk")
            ).update(inactivity_warned_at=None)
            due = idle.filter(active=True, inactivity_warned_at__isnull=True)
            emails = []
            for pk, to, language in list(due.values_list("pk", "email", "language")):
                # No join in this UPDATE (the rest are EXISTS probes), so PostgreSQL re-checks
                # ``inactivity_warned_at IS NULL`` on a row another run just claimed.
                if due.filter(pk=pk).update(inactivity_warned_at=now):
                    emails.append(NewEmail(IDLE_EMAIL, to, language, {"enrollee_id": pk}))
                    warned.append(pk)
            # The warnings and their emails commit together (docs/mail.md).
            emails_queue(emails=emails)
    return warned


def _tally_add(*, post: Post, now: datetime, count: int) -> None:
    """Add ``count`` to the post's "inactive" deletions of this (local) month. Inside the
    caller's transaction; the increment is done by the database, so concurrent runs add up,
    and the row is created on first use (``get_or_create`` recovers from a racing insert
    through the unique constraint)."""
    if not count:
        return
    month = clock.today(post, now).replace(day=1)
    tally, _created = DeletionTally.objects.get_or_create(
        post=post, month=month, reason=DeletionTally.Reason.INACTIVE
    )
    DeletionTally.objects.filter(pk=tally.pk).update(count=F("count") + count)


def _delete_in_batches(post: Post, now: datetime, candidates: QuerySet[Enrollee]) -> int:
    """Delete ``candidates`` a batch at a time: each batch locks its rows, re-checks them
    (the queryset is evaluated again inside the transaction) and tallies what it deleted."""
    deleted = 0
    while True:
        with transaction.atomic(durable=True):
            ids = list(candidates.select_for_update().values_list("pk", flat=True)[:DELETE_BATCH])
            if not ids:
                return deleted
            _, by_model = Enrollee.objects.filter(pk__in=ids).delete()
            count = by_model.get("enrollment.Enrollee", 0)
            _tally_add(post=post, now=now, count=count)
        deleted += count
        if count < len(ids):  # another run took some of these: leave the rest to it
            return deleted


def idle_accounts_delete(*, now: datetime | None = None) -> int:
    """Delete the accounts warned more than ``post.idle_account_warning_days`` days ago that
    are still idle and have not signed in since (a sign-in withdraws the warning), with
    everything they hold, and count them in ``DeletionTally`` (reason "inactive") in the same
    transaction. Returns how many; running it again deletes nothing."""
    now = now or timezone.now()
    deleted = 0
    for post in _posts():
        candidates = _idle(post, now).filter(
            Q(last_sign_in_at__isnull=True) | Q(last_sign_in_at__lt=F("inactivity_warned_at")),
            inactivity_warned_at__lt=_older_than(post, now, post.idle_account_warning_days),
        )
        deleted += _delete_in_batches(post, now, candidates)
    if deleted:
        logger.info("deleted %d idle enrollment accounts", deleted)
    return deleted


def unverified_accounts_delete(*, now: datetime | None = None) -> int:
    """Delete accounts whose email address was never confirmed, 7 days after they were made:
    the verification link has died by then, and a warning would go to an address nobody
    proved is theirs. Counted as "inactive" deletions. Measured from the moment of sign-up
    (as the link is), not in local days."""
    now = now or timezone.now()
    deleted = 0
    for post in _posts():
        candidates = Enrollee.objects.filter(
            post=post,
            email_verified_at__isnull=True,
            created_at__lt=now - timedelta(days=UNVERIFIED_ACCOUNT_DAYS),
        )
        deleted += _delete_in_batches(post, now, candidates)
    return deleted
