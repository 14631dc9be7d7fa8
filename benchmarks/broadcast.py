"""Broadcast benchmark: one emergency message to 100,000 enrollees, through the real pipeline.

Run from the project root: ``.venv/bin/python benchmarks/broadcast.py`` (or ``make bench``).
It needs PostgreSQL: ``DATABASE_URL`` (default
postgres://postgres@127.0.0.1:5432/acs_broadcast_bench) names a database it creates and drops
itself, so the name must contain "bench". The broker is Redis when one answers (``REDIS_URL``,
else redis://127.0.0.1:6379/13, a scratch database emptied before and after), else the
demo's folder broker in a temporary folder. The SMTP server is a local aiosmtpd sink in a
process of its own, which counts what it receives per recipient. See benchmarks/README.md.

It prints, in one run:
- the ceiling: the sink driven by a plain smtplib loop over one, then two, reused
  connections with a pre-rendered message (nothing else: no database, no rendering);
- the pipeline with one, then two, ``celery worker --pool=solo`` processes: the officer
  presses "send" (``message_publish``: 100,000 rows written in one transaction), and the
  script times the first email, the last one, and checks that every recipient got exactly
  one copy and every row is SENT.

Options:
  --recipients N   people the message reaches (default 100,000)
  --ceiling N      messages in each ceiling run (default 20,000)
  --publish-only   build the data, time ``message_publish`` (the delivery rows written in
                   the publishing transaction) and the rows written, and stop: no workers,
                   no sink
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _common import free_port, heading, redis_answers  # noqa: E402 — beside this script
from _scratch_db import bench_database, database_create, database_drop  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/acs_broadcast_bench"
LOCAL_REDIS = "redis://127.0.0.1:6379/13"
GIVEN_ENVIRONMENT = frozenset(os.environ)
RECIPIENTS = 100_000
CEILING_MESSAGES = 20_000
ELSEWHERE_SHARE = 5  # one person in this many more lives elsewhere (not reached)
TARGET_SECONDS = 120
RUN_TIMEOUT = 1800


# Environment ----------------------------------------------------------------------------------


def configure() -> dict:
    """Set the environment Django and the workers read; refuse anything but a bench
    PostgreSQL."""
    config = bench_database(DEFAULT_DATABASE_URL)
    var_dir = tempfile.mkdtemp(prefix="acs-bench-")
    redis_url = os.environ.get("REDIS_URL") or LOCAL_REDIS
    broker = redis_url if redis_answers(redis_url) else "filesystem://"
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "acs.settings",
            "ACS_VAR_DIR": var_dir,
            "CELERY_BROKER_URL": broker,
            "CACHE_URL": "locmemcache://",
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
        }
    )
    return config


def _scratch_redis_empty() -> None:
    """Empty the local Redis database the benchmark chose itself; never one it was given."""
    if "REDIS_URL" not in GIVEN_ENVIRONMENT and os.environ["CELERY_BROKER_URL"] == LOCAL_REDIS:
        import redis

        redis.Redis.from_url(LOCAL_REDIS).flushdb()


# The SMTP sink, in a process of its own ---------------------------------------------------


def _sink_main(port: int, pipe, shared) -> None:
    """Accept everything; count messages per recipient; answer the parent's questions."""
    import logging

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)
    counts: Counter = Counter()

    class Handler:
        async def handle_EHLO(self, server, session, envelope, hostname, responses):
            # Offer PIPELINING (RFC 2920), as production relays (Postfix, Exchange, SES) do:
            # the workers then send each envelope in one write. The ceiling's smtplib does
            # not use it. aiosmtpd reads pipelined commands one by one, in order.
            session.host_name = hostname
            return [*responses[:-1], "250-PIPELINING", responses[-1]]

        async def handle_DATA(self, server, session, envelope):
            now = time.monotonic()
            with shared.get_lock():
                if shared[0] == 0:
                    shared[1] = now
                shared[0] += 1
                shared[2] = now
            counts.update(envelope.rcpt_tos)
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    pipe.send("ready")
    while True:
        command = pipe.recv()
        if command == "reset":
            counts.clear()
            with shared.get_lock():
                shared[0], shared[1], shared[2] = 0, 0.0, 0.0
            pipe.send("ok")
        elif command == "stats":
            pipe.send((sum(counts.values()), len(counts), sum(1 for n in counts.values() if n > 1)))
        else:
            controller.stop()
            pipe.send("stopped")
            return


class Sink:
    def __init__(self, context) -> None:
        self.port = free_port()
        self.shared = context.Array("d", 3)  # messages, first at, last at (monotonic)
        self.pipe, child = context.Pipe()
        self.process = context.Process(target=_sink_main, args=(self.port, child, self.shared))
        self.process.start()
        if self.pipe.recv() != "ready":
            sys.exit("the SMTP sink did not start")

    def ask(self, command: str):
        self.pipe.send(command)
        return self.pipe.recv()

    @property
    def received(self) -> int:
        return int(self.shared[0])

    def stop(self) -> None:
        self.ask("stop")
        self.process.join(10)


# The ceiling: plain smtplib, pre-rendered messages -------------------------------------------


def _ceiling_main(port: int, count: int, offset: int, data: bytes, start) -> None:
    import smtplib

    start.wait()
    smtp = smtplib.SMTP("127.0.0.1", port)
    for number in range(offset, offset + count):
        smtp.sendmail("acs-lima@example.gov", [f"ceiling{number}@example.org"], data)
    smtp.quit()


def ceiling(context, sink: Sink, connections: int, count: int, data: bytes) -> dict:
    sink.ask("reset")
    start = context.Event()
    share = count // connections
    clients = [
        context.Process(target=_ceiling_main, args=(sink.port, share, n * share, data, start))
        for n in range(connections)
    ]
    for client in clients:
        client.start()
    time.sleep(0.5)  # every client process is up and waiting
    started = time.monotonic()
    start.set()
    for client in clients:
        client.join()
    seconds = time.monotonic() - started
    sent = share * connections
    if sink.received != sent:
        sys.exit(f"the sink got {sink.received} of {sent} messages")
    return {"messages": sent, "seconds": seconds, "rate": sent / seconds}


# Build ----------------------------------------------------------------------------------------

BUILD_SQL = [
    """
    INSERT INTO enrollment_enrollee (post_id, email, password, full_name, date_of_birth, status,
        language, passport_number, created_at, last_active_at, email_verified_at, active,
        session_epoch)
    SELECT %(post)s, 'person' || i || '@example.org', '!', 'Person ' || i,
        DATE '1950-01-01' + ((i * 7919) %% 20000)::int, 'citizen',
        CASE WHEN i %% 3 = 0 THEN 'es' ELSE 'en' END, '',
        now(), now(), now(), true, 0
    FROM generate_series(1::bigint, %(count)s) AS i
    """,
    """
    INSERT INTO enrollment_residence (enrollee_id, region_id, place, confirmed_at, active)
    SELECT e.id, CASE WHEN e.id %% %(elsewhere)s = 0 THEN %(other)s ELSE %(region)s END, '',
        now(), true
    FROM enrollment_enrollee e
    """,
]


def build(post, recipients: int) -> None:
    """``recipients`` people living in Cusco, and a fifth as many again in Arequipa (not
    reached); a third read Spanish. Then VACUUM ANALYZE, as autovacuum would."""
    from django.db import connection

    total = recipients * ELSEWHERE_SHARE // (ELSEWHERE_SHARE - 1)
    params = {
        "post": post.pk,
        "count": total,
        "elsewhere": ELSEWHERE_SHARE,
        "region": post.regions.get(code="PE-CUS").pk,
        "other": post.regions.get(code="PE-ARE").pk,
    }
    with connection.cursor() as cursor:
        for statement in BUILD_SQL:
            started = time.perf_counter()
            cursor.execute(statement, params)
            table = statement.split("INTO ")[1].split()[0]
            print(
                f"  {table:32} {cursor.rowcount:>10,} rows  {time.perf_counter() - started:6.1f} s"
            )
        cursor.execute("VACUUM (ANALYZE)")


def officers():
    from django.contrib.auth.models import Permission, User

    def user(name: str, codes: list[str]) -> User:
        person = User.objects.create_user(username=name, email=f"{name}@example.org")
        person.user_permissions.set(
            Permission.objects.filter(content_type__app_label="alerts", codename__in=codes)
        )
        return User.objects.get(pk=person.pk)

    return (
        user("writer", ["view_message", "draft_message"]),
        user("approver", ["view_message", "approve_message", "send_message"]),
    )


def draft(post, writer, number: int):
    from datetime import timedelta

    from django.utils import timezone

    from acs.alerts import services

    now = timezone.now()
    return services.message_draft_create(
        post=post,
        actor=writer,
        kind="emergency",
        title_en=f"Earthquake in Cusco (benchmark run {number})",
        title_es=f"Sismo en Cusco (prueba {number})",
        location_en="Cusco region, and the roads into it.",
        location_es="Región Cusco y sus carreteras de acceso.",
        event_en="A magnitude 6.8 earthquake struck **Cusco** at 14:05. Aftershocks are likely.",
        event_es="Un sismo de magnitud 6,8 sacudió **Cusco** a las 14:05. Habrá réplicas.",
        actions_en="- Stay away from damaged buildings.\n- Follow the local authorities.\n"
        "- Tell your family you are safe.",
        actions_es="- Aléjese de edificios dañados.\n- Siga a las autoridades locales.\n"
        "- Avise a su familia que está bien.",
        assistance_en="U.S. Embassy Lima: [+51 1 618 2000](tel:+5116182000)",
        assistance_es="Embajada de EE. UU. en Lima: [+51 1 618 2000](tel:+5116182000)",
        regions=[post.regions.get(code="PE-CUS")],
        effective_from=now - timedelta(minutes=5),
        effective_until=now + timedelta(days=2),
    )


def sample_bytes(message) -> bytes:
    """One real recipient's email, as the workers build it (for the ceiling runs)."""
    from acs.alerts.letters import WireCache
    from acs.core.mail.addresses import message_id_for

    row = message.deliveries.order_by("pk").first()
    return WireCache().email_bytes(row, message, message_id_for(row.token))[1]


# The pipeline -------------------------------------------------------------------------------


class Workers:
    def __init__(self, sink: Sink, logs: Path) -> None:
        self.logs = logs
        self.env = os.environ | {"EMAIL_URL": f"smtp://127.0.0.1:{sink.port}"}
        self.processes: list[tuple[subprocess.Popen, Path]] = []

    def start(self, count: int) -> None:
        from acs.core.queues import Queues

        for number in range(count):
            log = self.logs / f"worker-{len(self.processes)}-{number}.log"
            process = subprocess.Popen(  # noqa: S603 — our own interpreter and arguments
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "acs",
                    "worker",
                    "--pool=solo",
                    f"--queues={Queues.DELIVERY}",
                    f"--hostname=bench{number}@%h",
                    "--prefetch-multiplier=1",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "--loglevel=INFO",
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log.open("w"),
                stderr=subprocess.STDOUT,
            )
            self.processes.append((process, log))
        deadline = time.monotonic() + 60
        for process, log in self.processes:
            while " ready." not in log.read_text(errors="replace"):
                if process.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"a worker did not start:\n{log.read_text(errors='replace')}")
                time.sleep(0.1)

    def stop(self) -> None:
        for process, _log in self.processes:
            if process.poll() is None:
                process.terminate()
        for process, _log in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes = []


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes and their waited-for children (/proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return total / ticks


def _backend_pids() -> list[int]:
    """The PostgreSQL backends serving the benchmark's database, but this script's own (the
    workers'; other databases on the same server are other people's work)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return [pid for (pid,) in cursor.fetchall()]


def broadcast(
    post, people, sink: Sink, workers: Workers, count: int, number: int, expected: int
) -> dict:
    """Publish a message to everyone with ``count`` workers running; time it."""
    from django.db import close_old_connections

    from acs.alerts import services
    from acs.alerts.constants import DeliveryStatus

    writer, approver = people
    message = draft(post, writer, number)
    services.message_approve(message=message, actor=approver)
    workers.start(count)
    sink.ask("reset")
    worker_pids = [process.pid for process, _log in workers.processes]
    backends_before = {pid: _cpu_seconds([pid]) for pid in _backend_pids()}
    cpu_before = _cpu_seconds(worker_pids)
    pressed = time.monotonic()
    services.message_publish(message=message, actor=approver)  # commits, queues the fan-out
    committed = time.monotonic()
    deadline = committed + RUN_TIMEOUT
    while sink.received < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    finished = time.monotonic()
    # The workers' backends live as long as their connections (kept between tasks).
    cpu = (
        _cpu_seconds(worker_pids) - cpu_before,
        sum(_cpu_seconds([pid]) - backends_before.get(pid, 0.0) for pid in _backend_pids()),
    )
    total, distinct, duplicates = sink.ask("stats")
    first, last = sink.shared[1], sink.shared[2]
    workers.stop()
    close_old_connections()
    statuses = Counter(
        message.deliveries.values_list("status", flat=True).order_by().iterator(chunk_size=10_000)
    )
    rows = sum(statuses.values())
    return {
        "workers": count,
        "rows": rows,
        "publish": committed - pressed,
        "first": first - pressed,
        "total": last - pressed if total else finished - pressed,
        "after_commit": last - committed if total else finished - committed,
        "steady": (total - 1) / (last - first) if total > 1 and last > first else 0.0,
        "received": total,
        "distinct": distinct,
        "duplicates": duplicates,
        "all_sent": rows == expected and statuses == Counter({DeliveryStatus.SENT.value: rows}),
        "statuses": dict(statuses),
        "cpu_worker_ms": 1000 * cpu[0] / max(total, 1),
        "cpu_postgres_ms": 1000 * cpu[1] / max(total, 1),
        "message": message,
    }


def publish_only(post, people) -> None:
    """Publish one message to everyone, with no worker running; time the officer's request,
    then the fan-out's steps run here as a worker would run them."""
    from acs.alerts import services
    from acs.alerts.services import outbox

    writer, approver = people
    message = draft(post, writer, 1)
    services.message_approve(message=message, actor=approver)
    pressed = time.monotonic()
    services.message_publish(message=message, actor=approver)  # commits, queues
    seconds = time.monotonic() - pressed
    print(f"  the officer's request (message_publish)   {seconds:9.3f} s")
    started = time.monotonic()
    written = outbox.deliveries_write_all(message_id=message.pk)
    print(
        f"  the fan-out's steps, one after another    {written:>9,} rows"
        f"   {time.monotonic() - started:7.2f} s"
    )


def show(run: dict) -> None:
    rate = run["rows"] / run["total"] if run["total"] else 0
    print(f"  the officer's request (message_publish)   {run['publish']:9.3f} s")
    print(f"  time to the first email (from 'send')     {run['first']:9.2f} s")
    print(f"  total time (from 'send' to the last)      {run['total']:9.1f} s")
    print(f"  emails/s over the total time              {rate:9.0f}")
    print(f"  emails/s from the first to the last       {run['steady']:9.0f}")
    print(
        f"  CPU per email: workers {run['cpu_worker_ms']:.2f} ms, "
        f"PostgreSQL {run['cpu_postgres_ms']:.2f} ms"
    )
    print(
        f"  received {run['received']:,} by {run['distinct']:,} recipients, "
        f"{run['duplicates']} duplicates; rows: {run['statuses']}"
    )


def summary(ceilings: dict, runs: dict) -> bool:
    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    heading("Figures")
    for connections, figures in ceilings.items():
        print(
            f"  ceiling, smtplib over {connections} connection(s)   {figures['rate']:7.0f} "
            f"emails/s ({figures['messages']:,} in {figures['seconds']:.1f} s)"
        )
    for count, run in runs.items():
        rate = run["rows"] / run["total"]
        print(
            f"  pipeline, {count} worker(s)                 {rate:7.0f} emails/s "
            f"({run['rows']:,} in {run['total']:.1f} s; first after {run['first']:.2f} s; "
            f"{run['cpu_worker_ms'] + run['cpu_postgres_ms']:.2f} ms CPU per email)"
        )
    for count, run in runs.items():
        rate, ceiling_rate = run["rows"] / run["total"], ceilings[count]["rate"]
        print(
            f"  target: {count} worker(s) >= 70 % of the {count}-connection ceiling "
            f"({rate:.0f} vs {ceiling_rate:.0f}; {rate / ceiling_rate:.0%}): "
            f"{verdict(rate >= 0.7 * ceiling_rate)}"
        )
    slowest_publish = max(run["publish"] for run in runs.values())
    slowest_first = max(run["first"] for run in runs.values())
    print(
        f"  target: the officer's request < 1 s ({slowest_publish:.3f} s): "
        f"{verdict(slowest_publish < 1)}"
    )
    print(f"  target: the first email < 5 s ({slowest_first:.2f} s): {verdict(slowest_first < 5)}")
    two = runs[2]
    ceiling_seconds = RECIPIENTS / ceilings[2]["rate"]
    under = two["total"] < TARGET_SECONDS * two["rows"] / RECIPIENTS
    print(
        f"  target: {RECIPIENTS:,} emails in under {TARGET_SECONDS} s with two workers "
        f"(scaled to {two['rows']:,}): {verdict(under)}; the same-run ceiling needs "
        f"{ceiling_seconds:.0f} s for {RECIPIENTS:,}"
        + ("" if ceiling_seconds < TARGET_SECONDS else ", so the hardware does not allow it here")
    )
    exact = all(run["duplicates"] == 0 and run["all_sent"] for run in runs.values())
    print(f"  every recipient exactly once, every row SENT: {'yes' if exact else 'NO'}")
    return exact


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=RECIPIENTS)
    parser.add_argument("--ceiling", type=int, default=CEILING_MESSAGES)
    parser.add_argument(
        "--publish-only",
        action="store_true",
        help="time message_publish (the rows written) and stop: no workers, no sink",
    )
    return parser.parse_args()


def main() -> int:
    args = arguments()
    config = configure()
    var_dir = Path(os.environ["ACS_VAR_DIR"])
    print(f"database {config['NAME']} on {config['HOST']}:{config['PORT']}; var dir {var_dir}")
    print(f"task broker {os.environ['CELERY_BROKER_URL']}; {os.cpu_count()} CPUs")
    context = multiprocessing.get_context("spawn")
    started = time.perf_counter()
    sink = None
    exact = False
    try:
        database_create(config)
        _scratch_redis_empty()
        import django

        django.setup()
        from django.core.management import call_command

        from acs.posts.models import Post

        heading("1. Migrate, seed Lima, build the people")
        call_command("migrate", verbosity=0)
        call_command("post_seed", "lima")
        post = Post.objects.get(slug="lima")
        build(post, args.recipients)
        people = officers()
        if args.publish_only:
            heading("2. Publish only (no workers, no sink)")
            publish_only(post, people)
            return 0
        sink = Sink(context)
        workers = Workers(sink, var_dir)
        runs = {}
        for number, count in enumerate((1, 2), start=1):
            heading(f"{1 + number}. The pipeline with {count} worker(s)")
            runs[count] = broadcast(
                post, people, sink, workers, count, number, expected=args.recipients
            )
            show(runs[count])
        data = sample_bytes(runs[1]["message"])
        ceilings = {}
        for connections in (1, 2):
            heading(f"{3 + connections}. Ceiling: smtplib over {connections} connection(s)")
            ceilings[connections] = ceiling(context, sink, connections, args.ceiling, data)
            figures = ceilings[connections]
            print(
                f"  {figures['messages']:,} messages of {len(data):,} bytes in "
                f"{figures['seconds']:.1f} s: {figures['rate']:.0f}/s"
            )
        exact = summary(ceilings, runs)
    finally:
        if sink is not None:
            sink.stop()
        database_drop(config)
        shutil.rmtree(var_dir, ignore_errors=True)
        _scratch_redis_empty()
    print(f"\ntotal run time {time.perf_counter() - started:.0f} s")
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
