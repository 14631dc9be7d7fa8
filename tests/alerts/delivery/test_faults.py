"""Faults of the services around the workers, with real ``celery worker`` processes on the
real broker (as in ``test_exactly_once.py``; fixtures in ``conftest.py``):

- PostgreSQL restarted in the middle of a broadcast: the workers carry on by themselves
  (nobody restarts them), nobody is missed, every row ends SENT, and a repeat carries its
  row's Message-ID. PostgreSQL only: an embedded SQLite file has no server to restart.
  The restart is ``pg_ctlcluster … restart -m fast`` of the machine's one cluster: it
  breaks every other connection to that server for a second or two, this test's own too.
- The broker unreachable while an officer publishes: publishing still succeeds, and once
  the broker answers again the sweeper gets every email out.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
from django.db import DatabaseError, connection

from acs.alerts import tasks
from acs.alerts.constants import OPEN, MessageStatus
from acs.alerts.models import Delivery
from tests.alerts.delivery.conftest import outcome, require, residents

pytestmark = pytest.mark.django_db(transaction=True)

KNOBS = {
    "ACS_DELIVERY_BATCH_SIZE": 25,
    "ACS_DELIVERY_CLAIM_TIMEOUT": 6,
    "ACS_DELIVERY_REQUEUE_AFTER": 6,
}


def configure(settings, workers, **knobs) -> None:
    """The delivery knobs, for the sweeper in this process and for the workers."""
    for name, value in (KNOBS | knobs).items():
        setattr(settings, name, value)
        workers.env[name] = str(value)


def sweep() -> None:
    """The sweeper, as beat runs it; a database that is away is the next pass's business."""
    try:
        tasks.sweep()
    except DatabaseError:
        connection.close()  # a broken connection: the next query opens a new one


def open_rows(message) -> int:
    return Delivery.objects.filter(message=message, status__in=OPEN).count()


def sweep_until_sent(message, sink, addresses: list[str], workers, deadline: float) -> None:
    """Sweep every second until every row is final and every address has a copy."""
    started = time.monotonic()
    while True:
        try:
            done = (
                sink.reached() >= len(addresses)
                and all(address in sink.copies() for address in addresses)
                and Delivery.objects.filter(message=message).count() == len(addresses)
                and not open_rows(message)
            )
        except DatabaseError:
            connection.close()
            done = False
        if done:
            return
        elapsed = time.monotonic() - started
        assert elapsed < deadline, (
            f"{sink.reached()} of {len(addresses)} reached after {elapsed:.0f} s; "
            f"statuses: {list(Delivery.objects.values_list('status').distinct())}\n"
            + workers.logs_text()
        )
        sweep()
        time.sleep(1)


# PostgreSQL restarted mid-broadcast ----------------------------------------------------------


def _cluster() -> list[str]:
    """``pg_ctlcluster`` arguments for the test database's server, when it is this machine's
    own cluster (else the test cannot restart it: skipped, or failed under CI)."""
    config = connection.settings_dict
    local = (config["HOST"] or "localhost") in ("localhost", "127.0.0.1", "::1")
    versions = sorted(Path("/etc/postgresql").glob("*/main")) if local else []
    command = shutil.which("pg_ctlcluster")
    if not (local and versions and command):
        require("a local PostgreSQL cluster to restart (pg_ctlcluster)", f"host {config['HOST']}")
    port = str(config["PORT"] or 5432)
    for cluster in versions:
        settings_file = cluster / "postgresql.conf"
        if f"port = {port}" in settings_file.read_text():
            return [command, "--skip-systemctl-redirect", cluster.parent.name, "main"]
    require(f"the PostgreSQL cluster on port {port}", "none in /etc/postgresql")
    return []


def restart_postgresql(cluster: list[str]) -> float:
    """Restart the server (fast: open transactions are cut); returns the seconds it took."""
    started = time.monotonic()
    subprocess.run([*cluster, "restart", "-m", "fast"], check=True, timeout=60)  # noqa: S603
    connection.close()  # this process's connection died with the server
    return time.monotonic() - started


@pytest.mark.serial  # the restart breaks every connection to the server, other tests' too
def test_workers_recover_from_a_postgresql_restart_mid_broadcast_and_nobody_is_missed(
    lima, published, smtp_sink, live_workers, routed_tasks, settings
):
    if connection.vendor != "postgresql":
        pytest.skip(
            "SQLite is embedded: there is no database server to restart "
            "(CI's PostgreSQL pass runs this test)"
        )
    recipients = 900
    cluster = _cluster()
    configure(settings, live_workers)
    smtp_sink.delay = 0.010
    names = ["w1", "w2", "w3"]
    for name in names:
        live_workers.start(name)
    addresses = residents(lima, recipients)
    live_workers.wait_ready(*names)

    started = time.monotonic()
    message = published(kind="emergency")
    while smtp_sink.reached() < recipients // 4:  # both workers in full swing
        assert time.monotonic() - started < 60, live_workers.logs_text()
        time.sleep(0.01)
    reached_at_restart = smtp_sink.reached()
    restart_seconds = restart_postgresql(cluster)

    sweep_until_sent(message, smtp_sink, addresses, live_workers, deadline=90)
    elapsed = time.monotonic() - started

    figures = outcome(message, smtp_sink, addresses)
    # Each worker had at most two messages whose outcome it could not record when its
    # connection broke: the one whose SENT mark was on its way (pipelined), and the next,
    # on the wire. Both are in doubt (``outcome``).
    assert figures["duplicates"] <= 2 * len(names)
    assert live_workers.alive() == names, "a worker died of the restart:\n" + (
        live_workers.logs_text()
    )
    errors = sum(live_workers.log(name).count("OperationalError") for name in names)
    print(
        f"\n{recipients} emails on postgresql with "
        f"{routed_tasks.up.conf.broker_url.split(':')[0]}: PostgreSQL restarted after "
        f"{reached_at_restart} ({restart_seconds:.1f} s down); the same {len(names)} workers "
        f"carried on ({errors} OperationalError lines in their logs); 0 missed; "
        f"{figures['duplicates']} duplicates with the original Message-ID; "
        f"{figures['in_doubt']} rows in doubt; every row sent in {elapsed:.1f} s"
    )


# The broker down while a message is published ------------------------------------------------


def test_publishing_succeeds_with_the_broker_down_and_the_sweeper_sends_everything_after(
    lima, published, smtp_sink, live_workers, routed_tasks, settings
):
    recipients = 60
    configure(settings, live_workers, ACS_DELIVERY_CLAIM_TIMEOUT=4, ACS_DELIVERY_REQUEUE_AFTER=2)
    live_workers.start("w1")
    addresses = residents(lima, recipients)
    live_workers.wait_ready("w1")

    with routed_tasks.broker_down():
        message = published(kind="emergency")  # the officer's request
        assert message.status == MessageStatus.PUBLISHED
        time.sleep(1)
    assert smtp_sink.copies() == {}  # nothing could reach the workers

    started = time.monotonic()
    sweep_until_sent(message, smtp_sink, addresses, live_workers, deadline=45)
    figures = outcome(message, smtp_sink, addresses)
    assert figures["duplicates"] == 0
    print(
        f"\n{recipients} emails published with the broker down: all sent "
        f"{time.monotonic() - started:.1f} s after it came back, no duplicate"
    )
