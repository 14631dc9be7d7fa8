"""Retention: each rule at its boundary days, in the post's own calendar.

The rule is the same everywhere: a thing N days old (local dates) is still inside an N-day
period, N + 1 days old is past it. Trips are purged 31 days after they end (default 30); a
residence is asked again once its confirmation is 366 days old and goes inactive when the
question is 61 days old; an account idle for 366 days is warned and deleted 31 days after the
warning unless its owner signs in. Each job run twice sends one email and deletes once.
"""

from __future__ import annotations

import re
import time as clock
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.core import mail, signing
from django.utils import timezone

from acs.celery import app as celery_app
from acs.core import tasks as core_tasks
from acs.core.constants import EmailStatus
from acs.core.models import OutgoingEmail
from acs.enrollment import tasks
from acs.enrollment.models import Companion, DeletionTally, Enrollee, Residence, Trip, TripStop
from acs.enrollment.services import retention
from acs.enrollment.services.accounts import enrollee_signed_in
from acs.enrollment.services.retention import IDLE_EMAIL, RESIDENCE_EMAIL
from acs.enrollment.services.trips import residence_set, trip_add
from tests.core.outbox import hold_emails
from tests.enrollment.factories import enrollee, region

pytestmark = pytest.mark.django_db

SITE = "https://acs.example.gov"
# 22:30 on 14 March 2027 in New York, the day clocks sprang forward (UTC−4 since 03:00); in
# UTC it is already the 15th.
NEW_YORK_NIGHT = datetime(2027, 3, 15, 2, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _site(settings):
    settings.ACS_SITE_URL = SITE


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Run a retention job the way the worker does: its emails go out once it commits."""

    def call(job, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return job(**kwargs)

    return call


# Builders ----------------------------------------------------------------------------------


def local_today(post, now: datetime) -> date:
    return now.astimezone(post.zone).date()


def local_noon(post, day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=post.zone)


def days_ago(post, now: datetime, days: int, *, hour: int = 12) -> datetime:
    """An instant at ``hour`` o'clock of the post's day ``days`` before ``now``'s."""
    day = local_today(post, now) - timedelta(days=days)
    return datetime.combine(day, time(hour), tzinfo=post.zone)


def ended_trip(person, *, departure: date, ended_early_at: datetime | None = None) -> Trip:
    """A trip (with a companion) that ended on ``departure``: the service refuses trips in
    the past, so it is made for today and moved back."""
    post = person.post
    start = timezone.localdate(timezone=post.zone)
    made = trip_add(
        enrollee=person,
        arrival=start,
        departure=start,
        stops=[(post.regions.order_by("code").first(), "")],
        companions=[("Luis Quispe", date(2015, 3, 2))],
    )
    Trip.objects.filter(pk=made.pk).update(
        arrival=departure - timedelta(days=5), departure=departure, ended_early_at=ended_early_at
    )
    return made


def home(person, code: str = "PE-CUS", *, confirmed_at: datetime | None = None) -> Residence:
    made = residence_set(enrollee=person, region=region(person.post, code), place="Urubamba")
    if confirmed_at is not None:
        Residence.objects.filter(pk=made.pk).update(confirmed_at=confirmed_at)
        made.refresh_from_db()
    return made


def idle_since(person, moment: datetime) -> Enrollee:
    """Last seen at ``moment``: made (and verified) then, never signed in since."""
    Enrollee.objects.filter(pk=person.pk).update(
        created_at=moment, email_verified_at=moment, last_sign_in_at=None
    )
    person.refresh_from_db()
    return person


def exists(obj) -> bool:
    return type(obj).objects.filter(pk=obj.pk).exists()


def link_in(message) -> str:
    """The path of the button's link in an email's plain text."""
    (url,) = re.findall(rf"^{re.escape(SITE)}\S+$", message.body, flags=re.MULTILINE)
    return urlsplit(url).path


# Trips -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("ended", "kept"), [(29, True), (30, True), (31, False)])
def test_a_trip_is_kept_30_days_after_it_ends_and_purged_on_the_31st(lima, ended, kept):
    now = timezone.now()
    gone = ended_trip(enrollee(lima), departure=local_today(lima, now) - timedelta(days=ended))
    assert retention.trips_purge(now=now) == (0 if kept else 1)
    assert exists(gone) is kept
    # Its stops and companions go with it.
    assert TripStop.objects.filter(trip_id=gone.pk).exists() is kept
    assert Companion.objects.filter(trip_id=gone.pk).exists() is kept


def test_a_post_with_another_setting_keeps_trips_its_own_number_of_days(lima, new_york):
    lima.trip_retention_days = 7
    lima.save(update_fields=["trip_retention_days"])
    now = timezone.now()
    lima_today = local_today(lima, now)
    seventh = ended_trip(enrollee(lima), departure=lima_today - timedelta(days=7))
    eighth = ended_trip(enrollee(lima), departure=lima_today - timedelta(days=8))
    # New York keeps the default 30 days.
    elsewhere = ended_trip(
        enrollee(new_york), departure=local_today(new_york, now) - timedelta(days=8)
    )
    assert retention.trips_purge(now=now) == 1
    assert exists(seventh)
    assert not exists(eighth)
    assert exists(elsewhere)


@pytest.mark.parametrize(("ended", "kept"), [(30, True), (31, False)])
def test_a_trip_ended_early_counts_from_the_day_it_ended(lima, ended, kept):
    now = timezone.now()
    today = local_today(lima, now)
    early = ended_trip(
        enrollee(lima),
        departure=today + timedelta(days=10),  # planned to last another ten days
        ended_early_at=days_ago(lima, now, ended, hour=23),
    )
    retention.trips_purge(now=now)
    assert exists(early) is kept


def test_trips_are_purged_by_the_post_calendar_across_daylight_saving(new_york):
    """Late on 14 March in New York (already the 15th in UTC): a trip that ended on 12
    February is 30 days old there, so it stays; one ended early on the evening of 11
    February (the 12th in UTC) is 31 days old and goes."""
    person = enrollee(new_york)
    thirty = ended_trip(person, departure=date(2027, 2, 12))
    thirty_one = ended_trip(person, departure=date(2027, 2, 11))
    early = ended_trip(
        person,
        departure=date(2027, 2, 20),
        ended_early_at=datetime(2027, 2, 11, 21, 0, tzinfo=new_york.zone),
    )
    assert local_today(new_york, NEW_YORK_NIGHT) == date(2027, 3, 14)
    assert retention.trips_purge(now=NEW_YORK_NIGHT) == 2
    assert exists(thirty)
    assert not exists(thirty_one)
    assert not exists(early)


def test_purging_twice_deletes_once(lima):
    now = timezone.now()
    ended_trip(enrollee(lima), departure=local_today(lima, now) - timedelta(days=40))
    assert retention.trips_purge(now=now) == 1
    assert retention.trips_purge(now=now) == 0


# Residence: the yearly question ------------------------------------------------------------


@pytest.mark.parametrize(("confirmed", "asked"), [(364, False), (365, False), (366, True)])
def test_a_residence_is_asked_again_once_its_confirmation_is_more_than_a_year_old(
    lima, run, confirmed, asked
):
    now = timezone.now()
    person = enrollee(lima)
    residence = home(person, confirmed_at=days_ago(lima, now, confirmed))
    assert run(retention.residences_reconfirm_request, now=now) == ([residence.pk] if asked else [])
    residence.refresh_from_db()
    assert (residence.reconfirm_requested_at == now) is asked
    assert [message.to for message in mail.outbox] == ([[person.email]] if asked else [])


def test_asking_twice_sends_one_email(lima, run):
    now = timezone.now()
    residence = home(enrollee(lima), confirmed_at=days_ago(lima, now, 400))
    assert run(retention.residences_reconfirm_request, now=now) == [residence.pk]
    assert run(retention.residences_reconfirm_request, now=now + timedelta(hours=1)) == []
    assert len(mail.outbox) == 1
    residence.refresh_from_db()
    assert residence.reconfirm_requested_at == now


def test_an_inactive_residence_is_not_asked(lima, run):
    now = timezone.now()
    person = enrollee(lima)
    old = home(person, confirmed_at=days_ago(lima, now, 400))
    home(person, "PE-ARE")  # moved: the old one is inactive, the new one fresh
    assert run(retention.residences_reconfirm_request, now=now) == []
    assert not Residence.objects.get(pk=old.pk).active
    assert mail.outbox == []


@pytest.mark.parametrize(("requested", "active"), [(59, True), (60, True), (61, False)])
def test_an_unanswered_question_makes_the_residence_inactive_after_60_days(lima, requested, active):
    now = timezone.now()
    residence = home(enrollee(lima), confirmed_at=days_ago(lima, now, 500))
    Residence.objects.filter(pk=residence.pk).update(
        reconfirm_requested_at=days_ago(lima, now, requested)
    )
    assert retention.residences_expire(now=now) == (0 if active else 1)
    residence.refresh_from_db()
    assert residence.active is active
    assert retention.residences_expire(now=now) == 0


def test_the_question_is_in_the_enrollees_language_with_one_keep_link(lima, run):
    now = timezone.now()
    person = enrollee(lima, language="es")
    home(person, confirmed_at=days_ago(lima, now, 400))
    run(retention.residences_reconfirm_request, now=now)
    (message,) = mail.outbox
    html = message.alternatives[0][0]
    assert 'lang="es"' in html
    answer_by = local_today(lima, now) + timedelta(days=60)
    assert f"{answer_by.day} de " in message.body  # "… 13 de enero de 2027", in Spanish
    assert f" de {answer_by.year}" in message.body
    assert link_in(message).startswith("/es/lima/enroll/account/residence/keep/")
    assert html.count("/residence/keep/") == 2  # the button, and the same link spelt out
    assert f"{SITE}/es/lima/enroll/sign-in/" in message.body  # where to change it


def test_the_keep_link_works_once(lima, run, client):
    now = timezone.now()
    residence = home(enrollee(lima), confirmed_at=days_ago(lima, now, 400))
    run(retention.residences_reconfirm_request, now=now)
    path = link_in(mail.outbox[0])

    # Opening the link (a person, or a mail scanner) shows the question and changes nothing.
    page = client.get(path)
    assert page.status_code == 200
    assert "Urubamba" in page.content.decode()
    assert "Yes, I still live here" in page.content.decode()
    residence.refresh_from_db()
    assert residence.reconfirm_requested_at == now

    kept = client.post(path)
    assert kept.status_code == 200
    assert "your residence is confirmed" in kept.content.decode()
    residence.refresh_from_db()
    assert residence.reconfirm_requested_at is None
    assert residence.active
    assert timezone.now() - residence.confirmed_at < timedelta(minutes=1)

    for again in (client.get(path), client.post(path)):
        assert again.status_code == 404
        assert "expired or was already used" in again.content.decode()
    # Answered, it is not asked again for another year.
    assert run(retention.residences_reconfirm_request) == []


def test_a_forged_or_expired_keep_link_is_not_found(lima, client, monkeypatch):
    residence = home(enrollee(lima), confirmed_at=timezone.now() - timedelta(days=400))
    good = retention.residence_keep_token(residence)
    forged = signing.dumps([residence.pk, residence.confirmed_at.isoformat()], salt="other")
    tampered = good[:-3] + "abc"
    started = clock.time()
    monkeypatch.setattr(signing.time, "time", lambda: started - 71 * 86400)
    expired = retention.residence_keep_token(residence)
    monkeypatch.undo()

    for token in (forged, tampered, expired):
        response = client.post(f"/en/lima/enroll/account/residence/keep/{token}/")
        assert response.status_code == 404
    assert Residence.objects.get(pk=residence.pk).confirmed_at == residence.confirmed_at
    # A residence that already went inactive cannot be kept either.
    Residence.objects.filter(pk=residence.pk).update(active=False)
    assert client.get(f"/en/lima/enroll/account/residence/keep/{good}/").status_code == 404


# Idle accounts -----------------------------------------------------------------------------


@pytest.mark.parametrize(("seen", "warned"), [(364, False), (365, False), (366, True)])
def test_an_account_unseen_for_more_than_its_idle_days_is_warned(lima, run, seen, warned):
    now = timezone.now()
    person = idle_since(enrollee(lima), days_ago(lima, now, seen))
    assert run(retention.idle_accounts_warn, now=now) == ([person.pk] if warned else [])
    person.refresh_from_db()
    assert (person.inactivity_warned_at == now) is warned
    assert len(mail.outbox) == int(warned)


def test_the_last_sign_in_counts_not_the_sign_up(lima, run):
    now = timezone.now()
    person = idle_since(enrollee(lima), days_ago(lima, now, 900))
    Enrollee.objects.filter(pk=person.pk).update(last_sign_in_at=days_ago(lima, now, 365))
    assert run(retention.idle_accounts_warn, now=now) == []
    Enrollee.objects.filter(pk=person.pk).update(last_sign_in_at=days_ago(lima, now, 366))
    assert run(retention.idle_accounts_warn, now=now) == [person.pk]


def test_a_post_with_another_setting_warns_after_its_own_number_of_days(new_york, run):
    new_york.idle_account_days = 90
    new_york.save(update_fields=["idle_account_days"])
    now = NEW_YORK_NIGHT
    ninety = idle_since(enrollee(new_york), days_ago(new_york, now, 90, hour=1))
    ninety_one = idle_since(enrollee(new_york), days_ago(new_york, now, 91, hour=23))
    assert run(retention.idle_accounts_warn, now=now) == [ninety_one.pk]
    assert not Enrollee.objects.get(pk=ninety.pk).inactivity_warned_at


@pytest.mark.parametrize(
    ("departure", "idle"),
    [(0, False), (5, False), (-1, True)],  # a trip ending today still counts
)
def test_a_current_trip_keeps_the_account(lima, run, departure, idle):
    now = timezone.now()
    person = idle_since(enrollee(lima), days_ago(lima, now, 800))
    ended_trip(person, departure=local_today(lima, now) + timedelta(days=departure))
    assert bool(run(retention.idle_accounts_warn, now=now)) is idle


def test_a_trip_ended_early_no_longer_keeps_the_account(lima, run):
    now = timezone.now()
    person = idle_since(enrollee(lima), days_ago(lima, now, 800))
    today = local_today(lima, now)
    ended_trip(person, departure=today + timedelta(days=9), ended_early_at=days_ago(lima, now, 1))
    assert run(retention.idle_accounts_warn, now=now) == [person.pk]


def test_an_active_residence_keeps_the_account_an_inactive_one_does_not(lima, run):
    now = timezone.now()
    person = idle_since(enrollee(lima), days_ago(lima, now, 800))
    residence = home(person)
    assert run(retention.idle_accounts_warn, now=now) == []
    Residence.objects.filter(pk=residence.pk).update(active=False)
    assert run(retention.idle_accounts_warn, now=now) == [person.pk]


def test_warning_twice_sends_one_email(lima, run):
    now = timezone.now()
    idle_since(enrollee(lima), days_ago(lima, now, 400))
    assert len(run(retention.idle_accounts_warn, now=now)) == 1
    assert run(retention.idle_accounts_warn, now=now + timedelta(days=1)) == []
    assert len(mail.outbox) == 1


def test_the_warning_names_the_last_day_to_sign_in_in_the_enrollees_language(lima, run):
    now = timezone.now()
    person = idle_since(enrollee(lima, language="es"), days_ago(lima, now, 400))
    run(retention.idle_accounts_warn, now=now)
    (message,) = mail.outbox
    last_day = local_today(lima, now) + timedelta(days=30)
    assert retention.idle_deletion_day(Enrollee.objects.get(pk=person.pk)) == last_day
    assert f"{last_day.day} de " in message.body
    assert f" de {last_day.year}" in message.body
    assert 'lang="es"' in message.alternatives[0][0]
    assert link_in(message) == "/es/lima/enroll/sign-in/"


@pytest.mark.parametrize(("warned", "deleted"), [(29, False), (30, False), (31, True)])
def test_a_warned_account_is_deleted_more_than_30_days_after_the_warning(lima, warned, deleted):
    now = timezone.now()
    person = idle_since(enrollee(lima), days_ago(lima, now, 500))
    ended_trip(person, departure=local_today(lima, now) - timedelta(days=200))
    Enrollee.objects.filter(pk=person.pk).update(inactivity_warned_at=days_ago(lima, now, warned))
    assert retention.idle_accounts_delete(now=now) == int(deleted)
    assert exists(person) is not deleted
    assert Trip.objects.filter(enrollee_id=person.pk).exists() is not deleted


def test_an_idle_account_is_never_deleted_without_a_warning(lima):
    now = timezone.now()
    person = idle_since(enrollee(lima), days_ago(lima, now, 2000))
    assert retention.idle_accounts_delete(now=now) == 0
    assert exists(person)


def test_signing_in_after_the_warning_keeps_the_account(lima, run):
    now = timezone.now()
    person = idle_since(enrollee(lima), days_ago(lima, now, 400))
    run(retention.idle_accounts_warn, now=now)
    enrollee_signed_in(enrollee=Enrollee.objects.get(pk=person.pk))
    later = now + timedelta(days=45)
    assert retention.idle_accounts_delete(now=later) == 0
    assert run(retention.idle_accounts_warn, now=later) == []
    assert exists(person)
    assert Enrollee.objects.get(pk=person.pk).inactivity_warned_at is None


def test_a_warning_is_withdrawn_when_the_account_has_something_active_again(lima, run):
    now = timezone.now()
    person = idle_since(enrollee(lima), days_ago(lima, now, 400))
    run(retention.idle_accounts_warn, now=now)
    home(person)  # e.g. set for them, without a sign-in
    later = now + timedelta(days=45)
    assert run(retention.idle_accounts_warn, now=later) == []
    assert Enrollee.objects.get(pk=person.pk).inactivity_warned_at is None
    assert retention.idle_accounts_delete(now=later) == 0
    assert exists(person)


def test_deleting_twice_deletes_once_and_the_tally_counts(lima, new_york):
    now = timezone.now()
    month = local_today(lima, now).replace(day=1)
    DeletionTally.objects.create(
        post=lima, month=month, reason=DeletionTally.Reason.INACTIVE, count=3
    )
    DeletionTally.objects.create(post=lima, month=month, reason=DeletionTally.Reason.SELF, count=7)
    for _ in range(2):
        person = idle_since(enrollee(lima), days_ago(lima, now, 500))
        Enrollee.objects.filter(pk=person.pk).update(inactivity_warned_at=days_ago(lima, now, 40))
    kept = enrollee(lima)

    assert retention.idle_accounts_delete(now=now) == 2
    assert retention.idle_accounts_delete(now=now) == 0
    assert list(Enrollee.objects.filter(post=lima)) == [kept]
    tallies = {
        (tally.post_id, tally.reason): tally.count
        for tally in DeletionTally.objects.filter(month=month)
    }
    assert tallies == {(lima.pk, "inactive"): 5, (lima.pk, "self"): 7}


def test_the_tally_row_is_made_for_a_new_month_in_the_post_calendar(new_york):
    person = idle_since(enrollee(new_york), datetime(2026, 1, 2, tzinfo=UTC))
    Enrollee.objects.filter(pk=person.pk).update(
        inactivity_warned_at=datetime(2027, 1, 5, tzinfo=UTC)
    )
    # 1 April 2027, 01:00 UTC is still 31 March in New York.
    assert retention.idle_accounts_delete(now=datetime(2027, 4, 1, 1, 0, tzinfo=UTC)) == 1
    tally = DeletionTally.objects.get()
    assert (tally.post, tally.month, tally.reason, tally.count) == (
        new_york,
        date(2027, 3, 1),
        DeletionTally.Reason.INACTIVE,
        1,
    )


@pytest.mark.parametrize(
    ("age", "deleted"),
    [(timedelta(days=7, minutes=-5), False), (timedelta(days=7, minutes=5), True)],
)
def test_an_account_never_verified_goes_after_7_days_without_a_warning(lima, age, deleted):
    now = timezone.now()
    unverified = enrollee(lima)
    verified = enrollee(lima)
    Enrollee.objects.filter(pk__in=[unverified.pk, verified.pk]).update(created_at=now - age)
    Enrollee.objects.filter(pk=verified.pk).update(email_verified_at=now - age)
    assert retention.unverified_accounts_delete(now=now) == int(deleted)
    assert exists(unverified) is not deleted
    assert exists(verified)
    assert mail.outbox == []
    if deleted:
        assert DeletionTally.objects.get(reason=DeletionTally.Reason.INACTIVE).count == 1


# Tasks -------------------------------------------------------------------------------------


def test_the_jobs_run_daily_on_the_periodic_queue():
    for name, task in [
        ("enrollment.trips-purge", "purge_ended_trips"),
        ("enrollment.residences-reconfirm", "reconfirm_residences"),
        ("enrollment.idle-accounts", "sweep_idle_accounts"),
    ]:
        entry = django_settings.CELERY_BEAT_SCHEDULE[name]
        assert entry["task"] == f"acs.enrollment.tasks.{task}"
        assert entry["task"] in celery_app.tasks
        assert entry["options"] == {"queue": "periodic"}
        assert len(entry["schedule"].hour) == 1
        assert len(entry["schedule"].minute) == 1


def test_the_periodic_tasks_call_the_services(lima, django_capture_on_commit_callbacks):
    now = timezone.now()
    person = idle_since(enrollee(lima), days_ago(lima, now, 400))
    asked = home(enrollee(lima), confirmed_at=days_ago(lima, now, 400))
    ended_trip(enrollee(lima), departure=local_today(lima, now) - timedelta(days=60))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.purge_ended_trips() == 1
        assert tasks.reconfirm_residences() == {"expired": 0, "asked": 1}
        assert tasks.sweep_idle_accounts() == {"unverified": 0, "deleted": 0, "warned": 1}
    assert sorted(message.to[0] for message in mail.outbox) == sorted(
        [person.email, asked.enrollee.email]
    )


def test_a_late_email_sends_nothing_stale(lima, run, monkeypatch):
    now = timezone.now()
    person = idle_since(enrollee(lima), days_ago(lima, now, 400))
    residence = home(enrollee(lima), confirmed_at=days_ago(lima, now, 400))
    hold_emails(monkeypatch)  # queued, but the broker has not delivered them yet
    assert run(retention.residences_reconfirm_request, now=now) == [residence.pk]
    assert run(retention.idle_accounts_warn, now=now) == [person.pk]
    # Answered (or signed in) before the worker got to the emails.
    assert retention.residence_keep(residence=residence)
    enrollee_signed_in(enrollee=person)
    monkeypatch.undo()

    rows = OutgoingEmail.objects.order_by("pk")
    assert [row.kind for row in rows] == [RESIDENCE_EMAIL, IDLE_EMAIL]
    assert [core_tasks.email_send(row.pk) for row in rows] == [EmailStatus.SKIPPED] * 2
    assert mail.outbox == []
