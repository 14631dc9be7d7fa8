"""Enrollment benchmark: who to reach in a crisis, among 1,000,000 enrollees.

Run from the project root: ``.venv/bin/python benchmarks/enrollment.py`` (or ``make bench``).
It needs PostgreSQL: ``DATABASE_URL`` (default
postgres://postgres@127.0.0.1:5432/acs_enroll_bench) names a database it creates and drops
itself, so the name must contain "bench". See benchmarks/README.md.

Options:
  --keep      leave the database (and its 1,000,000 enrollees) in place at the end
  --reuse     start from the database a ``--keep`` run left, if the same builder made its data
              (else build afresh); migrations still run; keeps the database again
  --runs N    timed evaluations of the query (default 20)
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import statistics
import sys
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _common import database_only_settings, heading, ms  # noqa: E402 — beside this script
from _scratch_db import (  # noqa: E402 — beside this script
    bench_database,
    database_create,
    database_drop,
    database_note,
    database_note_set,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/acs_enroll_bench"
ENROLLEES = 1_000_000
TARGET_REACHED = 100_000
WINDOW_DAYS = 7
TIMED_RUNS = 20
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def configure() -> dict[str, str]:
    """Refuse anything but a PostgreSQL database whose name says it is for benchmarks."""
    config = bench_database(DEFAULT_DATABASE_URL)
    database_only_settings()
    return config


# Build ---------------------------------------------------------------------------------------

# Every enrollee gets one "place", by id: 60 % travel (arrival from 60 days ago to 60 days
# ahead, 1–45 days long; a quarter of the trips stop in a second region; 2 % of them ended
# early), 40 % live in Peru. Regions are spread evenly (the multipliers of the id are prime to
# 26, the number of regions). 3 % of the accounts are inactive, 2 % have not verified their
# email, 5 % opted out of emergency messages by email (a fifth of those still take them by
# SMS), and 10 % opted in to weather messages. The dates are relative to the day of the build.
BUILD_SQL = [
    """
    INSERT INTO enrollment_enrollee (post_id, email, password, full_name, date_of_birth, status,
        language, passport_number, created_at, last_active_at, email_verified_at, active,
        session_epoch)
    SELECT %(post)s, 'traveler' || i || '@example.org', '!', 'Traveler ' || i,
        DATE '1950-01-01' + ((i * 7919) %% 20000)::int,
        CASE WHEN i %% 20 = 0 THEN 'family' ELSE 'citizen' END,
        CASE WHEN i %% 3 = 0 THEN 'es' ELSE 'en' END, '',
        now() - (i %% 700) * interval '1 day', now(),
        CASE WHEN i %% 50 <> 1 THEN now() END, i %% 33 <> 0, 0
    FROM generate_series(1::bigint, %(count)s) AS i
    """,
    """
    INSERT INTO enrollment_trip (enrollee_id, public_id, arrival, departure, purpose, lodging,
        ended_early_at, created_at)
    SELECT e.id, gen_random_uuid(), a.arrival, a.arrival + ((e.id * 31) %% 45)::int, 'Tourism',
        '', CASE WHEN e.id %% 50 = 0 THEN now() - interval '3 days' END, now()
    FROM enrollment_enrollee e
    CROSS JOIN LATERAL (SELECT %(today)s::date - 60 + ((e.id * 7) %% 121)::int AS arrival) a
    WHERE e.id %% 10 < 6
    """,
    """
    INSERT INTO enrollment_tripstop (trip_id, region_id, place)
    SELECT t.id, (%(regions)s::bigint[])[1 + (t.enrollee_id * 11) %% 26], ''
    FROM enrollment_trip t
    UNION ALL
    SELECT t.id, (%(regions)s::bigint[])[1 + (t.enrollee_id * 11 + 5) %% 26], ''
    FROM enrollment_trip t WHERE t.id %% 4 = 0
    """,
    """
    INSERT INTO enrollment_residence (enrollee_id, region_id, place, confirmed_at, active)
    SELECT e.id, (%(regions)s::bigint[])[1 + (e.id * 17) %% 26], '',
        now() - (e.id %% 365) * interval '1 day', true
    FROM enrollment_enrollee e WHERE e.id %% 10 >= 6
    """,
    """
    INSERT INTO enrollment_messagepreference (enrollee_id, kind, channel, delivery, enabled)
    SELECT e.id, 'emergency', 'email', 'immediate', false
    FROM enrollment_enrollee e WHERE e.id %% 20 = 7
    UNION ALL
    SELECT e.id, 'emergency', 'sms', 'immediate', true
    FROM enrollment_enrollee e WHERE e.id %% 100 = 7
    UNION ALL
    SELECT e.id, 'weather', 'email', 'digest', true
    FROM enrollment_enrollee e WHERE e.id %% 10 = 3
    """,
]


def build_note(today) -> str:
    """What the data is, for ``--reuse``: a digest of the builder and the number of people,
    and the day it was built for (the trips' dates are relative to it)."""
    digest = hashlib.sha256("\n".join([str(ENROLLEES), *BUILD_SQL]).encode()).hexdigest()
    return f"acs enrollment benchmark data {digest[:16]} as of {today:%Y-%m-%d}"


def build(post) -> None:
    from django.db import connection

    today = post_today(post)
    params = {
        "post": post.pk,
        "count": ENROLLEES,
        "today": today,
        "regions": list(post.regions.order_by("code").values_list("pk", flat=True)),
    }
    with connection.cursor() as cursor:
        for statement in BUILD_SQL:
            started = time.perf_counter()
            cursor.execute(statement, params)
            table = statement.split("INTO ")[1].split()[0]
            print(
                f"  {table:32} {cursor.rowcount:>10,} rows  {time.perf_counter() - started:6.1f} s"
            )
        # What autovacuum does to a live database (since PostgreSQL 13 it vacuums tables that
        # only receive inserts, too): statistics for the planner, and the visibility map that
        # lets an index-only scan skip the table.
        started = time.perf_counter()
        cursor.execute("VACUUM (ANALYZE)")
        print(f"  VACUUM (ANALYZE) {time.perf_counter() - started:6.1f} s")


def row_counts() -> dict[str, int]:
    from acs.enrollment.models import Enrollee, MessagePreference, Residence, Trip, TripStop

    return {
        model._meta.verbose_name_plural: model.objects.count()
        for model in (Enrollee, Trip, TripStop, Residence, MessagePreference)
    }


def post_today(post):
    from django.utils import timezone

    return timezone.localdate(timezone=post.zone)


# Measure -------------------------------------------------------------------------------------


def query(post, region_ids):
    from acs.enrollment.constants import MessageKind
    from acs.enrollment.selectors import enrollees_to_reach

    starts = post_today(post)
    return enrollees_to_reach(
        post=post,
        region_ids=region_ids,
        starts=starts,
        ends=starts + timedelta(days=WINDOW_DAYS - 1),
        kind=MessageKind.EMERGENCY,
    )


def region_set(post) -> tuple[list[int], list[str], int]:
    """Regions in code order, added until about ``TARGET_REACHED`` people are to be reached."""
    ids: list[int] = []
    codes: list[str] = []
    found = 0
    for region in post.regions.order_by("code"):
        trial = query(post, [*ids, region.pk]).count()
        if ids and abs(trial - TARGET_REACHED) > abs(found - TARGET_REACHED):
            break
        ids.append(region.pk)
        codes.append(region.code)
        found = trial
    return ids, codes, found


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile: the smallest value at least ``share`` of them reach."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def cursor_plan(people) -> str:
    """``EXPLAIN (ANALYZE, BUFFERS)`` of the query as the iterator runs it: a server-side
    cursor, which PostgreSQL plans for its first rows (``cursor_tuple_fraction``), so its
    plan may differ from the one of a plain ``SELECT``."""
    from django.db import connection, transaction

    sql, params = people.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"EXPLAIN (ANALYZE, BUFFERS) DECLARE bench_plan NO SCROLL CURSOR FOR {sql}",
            params,
        )
        return "\n".join(row[0] for row in cursor.fetchall())


def backend_cpu() -> float | None:
    """CPU seconds (user + system) the PostgreSQL backend of this connection has used, from
    /proc; None when the server is not on this machine."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def measure(post, region_ids, runs: int) -> dict:
    people = query(post, region_ids).values_list("pk", flat=True)
    list(people.iterator(chunk_size=10_000))  # warm the cache as a live database would be
    times, server_cpu, client_cpu = [], [], []
    for _ in range(runs):
        server_before, client_before = backend_cpu(), time.process_time()
        started = time.perf_counter()
        count = sum(1 for _ in people.iterator(chunk_size=10_000))
        times.append(time.perf_counter() - started)
        client_cpu.append(time.process_time() - client_before)
        server_after = backend_cpu()
        if server_before is not None and server_after is not None:
            server_cpu.append(server_after - server_before)
    tracemalloc.start()
    count = sum(1 for _ in people.iterator(chunk_size=10_000))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "count": count,
        "times": times,
        "median": statistics.median(times),
        "p95": percentile(times, 0.95),
        "server_cpu": statistics.median(server_cpu) if server_cpu else None,
        "client_cpu": statistics.median(client_cpu),
        "peak": peak,
        "plan": cursor_plan(people),
    }


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="leave the database at the end")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="start from a database a --keep run left, if its data is current; implies --keep",
    )
    parser.add_argument("--runs", type=int, default=TIMED_RUNS, help="timed evaluations")
    options = parser.parse_args()
    if options.runs < 1:
        parser.error("--runs must be at least 1")
    return options


def prepare(config: dict, reuse: bool):
    """Migrate, seed Lima and build the data, or find them already there; returns the post
    and the build time in seconds (None when the data was reused)."""
    kept = reuse and database_note(config) is not None
    if not kept:
        database_create(config)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from acs.posts.models import Post

    heading("1. Migrate and seed Lima (26 regions)")
    call_command("migrate", verbosity=0)
    call_command("post_seed", "lima")
    post = Post.objects.get(slug="lima")
    note = build_note(post_today(post))
    heading(f"2. Build {ENROLLEES:,} enrollees (INSERT … SELECT generate_series)")
    if kept and database_note(config) == note:
        print(f"  reusing the data of an earlier run (--reuse): {note}")
        return post, None
    if kept:
        print("  the kept data is from another builder or day: building afresh")
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE enrollment_enrollee RESTART IDENTITY CASCADE")
    started = time.perf_counter()
    build(post)
    seconds = time.perf_counter() - started
    database_note_set(config, note)
    return post, seconds


def main() -> int:
    options = arguments()
    keep = options.keep or options.reuse
    config = configure()
    print(f"database {config['NAME']} on {config['HOST']}:{config['PORT']}; {os.cpu_count()} CPUs")
    started = time.perf_counter()
    try:
        post, build_seconds = prepare(config, options.reuse)
        from django.db import connection

        rows = row_counts()
        for name, count in rows.items():
            print(f"  {name:24} {count:>10,}")
        if build_seconds is not None:
            print(f"  build time {build_seconds:.0f} s")
        heading("3. Choose a region set holding about 100,000 people to reach")
        ids, codes, _found = region_set(post)
        print(f"  regions {', '.join(codes)}")
        heading(f"4. enrollees_to_reach, {WINDOW_DAYS} days from today, kind emergency")
        print(query(post, ids).values_list("pk", flat=True).query)
        figures = measure(post, ids, options.runs)
        print(f"\n{figures['plan']}")
        print("\n  each run: " + ", ".join(f"{t * 1000:.0f}" for t in figures["times"]) + " ms")
        heading("Figures")
        built = "reused" if build_seconds is None else f"{build_seconds:.0f} s"
        print(f"  enrollees                        {rows['enrollees']:>10,}")
        print(f"  build                            {built:>10}")
        print(f"  regions in the set               {len(ids):>10}")
        print(f"  people reached (one row each)    {figures['count']:>10,}")
        print(f"  query, median of {options.runs:<3}            {ms(figures['median'])}")
        print(f"  query, p95 of {options.runs:<3}               {ms(figures['p95'])}")
        if figures["server_cpu"] is not None:
            print(f"  PostgreSQL CPU per query, median {ms(figures['server_cpu'])}")
        print(f"  Python CPU per query, median     {ms(figures['client_cpu'])}")
        print(f"  peak Python memory, id iterator  {figures['peak'] / 2**20:>10.1f} MiB")
        verdict = "meets" if figures["median"] < 1.0 else "MISSES"
        print(f"  target < 1 s (median):           {verdict} target")
        print(f"  load average                     {os.getloadavg()[0]:>10.2f}")
        print(f"  PostgreSQL {connection.pg_version}")
    finally:
        if keep:
            from django.db import connections

            connections.close_all()
            print(f"\nkept database {config['NAME']} (--reuse starts from it; drop it when done)")
        else:
            database_drop(config)
    print(f"\ntotal run time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
