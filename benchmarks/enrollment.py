"""Enrollment benchmark: who to reach in a crisis, among 1,000,000 enrollees.

Run from the project root: ``.venv/bin/python benchmarks/enrollment.py`` (or ``make bench``).
It needs PostgreSQL: ``DATABASE_URL`` (default
postgres://postgres@127.0.0.1:5432/acs_enroll_bench) names a database it creates and drops
itself, so the name must contain "bench". See benchmarks/README.md.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _scratch_db import database_create, database_drop  # noqa: E402 — beside this script

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/acs_enroll_bench"
ENROLLEES = 1_000_000
TARGET_REACHED = 100_000
WINDOW_DAYS = 7
TIMED_RUNS = 5


def configure() -> dict[str, str]:
    """Refuse anything but a PostgreSQL database whose name says it is for benchmarks."""
    import environ

    url = os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    config = environ.Env.db_url_config(url)
    if "postgresql" not in config["ENGINE"]:
        sys.exit(f"This benchmark needs PostgreSQL; DATABASE_URL is {url!r}.")
    if "bench" not in config["NAME"]:
        sys.exit(
            f"The benchmark creates and drops its database; {config['NAME']!r} does not look "
            "like a benchmark database (its name must contain 'bench')."
        )
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "acs.settings",
            "ACS_VAR_DIR": tempfile.mkdtemp(prefix="acs-bench-"),
            "CACHE_URL": "locmemcache://",
            "CELERY_BROKER_URL": "memory://",
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
        }
    )
    return config


def heading(text: str) -> None:
    print(f"\n== {text}", flush=True)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


# Build ---------------------------------------------------------------------------------------

# Every enrollee gets one "place", by id: 60 % travel (arrival from 60 days ago to 60 days
# ahead, 1–45 days long; a quarter of the trips stop in a second region; 2 % of them ended
# early), 40 % live in Peru. Regions are spread evenly. 3 % of the accounts are inactive, 5 %
# opted out of emergency messages by email, and 10 % opted in to weather messages.
BUILD_SQL = [
    """
    INSERT INTO enrollment_enrollee (post_id, email, password, full_name, date_of_birth, status,
        language, passport_number, created_at, last_active_at, email_verified_at, active)
    SELECT %(post)s, 'traveler' || i || '@example.org', '!', 'Traveler ' || i,
        DATE '1950-01-01' + ((i * 7919) %% 20000)::int,
        CASE WHEN i %% 20 = 0 THEN 'family' ELSE 'citizen' END,
        CASE WHEN i %% 3 = 0 THEN 'es' ELSE 'en' END, '',
        now() - (i %% 700) * interval '1 day', now(), now(), i %% 33 <> 0
    FROM generate_series(1::bigint, %(count)s) AS i
    """,
    """
    INSERT INTO enrollment_trip (enrollee_id, arrival, departure, purpose, lodging,
        ended_early_at, created_at)
    SELECT e.id, a.arrival, a.arrival + ((e.id * 31) %% 45)::int, 'Tourism', '',
        CASE WHEN e.id %% 50 = 0 THEN now() - interval '3 days' END, now()
    FROM enrollment_enrollee e
    CROSS JOIN LATERAL (SELECT %(today)s::date - 60 + ((e.id * 7) %% 121)::int AS arrival) a
    WHERE e.id %% 10 < 6
    """,
    """
    INSERT INTO enrollment_tripstop (trip_id, region_id, place)
    SELECT t.id, (%(regions)s::bigint[])[1 + (t.enrollee_id * 13) %% 26], ''
    FROM enrollment_trip t
    UNION ALL
    SELECT t.id, (%(regions)s::bigint[])[1 + (t.enrollee_id * 13 + 5) %% 26], ''
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
    SELECT e.id, 'weather', 'email', 'digest', true
    FROM enrollment_enrollee e WHERE e.id %% 10 = 3
    """,
]


def build(post) -> dict[str, int]:
    from django.db import connection

    from acs.enrollment.models import Enrollee, MessagePreference, Residence, Trip, TripStop

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
        started = time.perf_counter()
        cursor.execute("ANALYZE")
        print(f"  ANALYZE {time.perf_counter() - started:6.1f} s")
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


def measure(post, region_ids) -> dict:
    people = query(post, region_ids).values_list("pk", flat=True)
    list(people.iterator(chunk_size=10_000))  # warm the cache as a live database would be
    times = []
    for _ in range(TIMED_RUNS):
        started = time.perf_counter()
        count = sum(1 for _ in people.iterator(chunk_size=10_000))
        times.append(time.perf_counter() - started)
    tracemalloc.start()
    count = sum(1 for _ in people.iterator(chunk_size=10_000))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    plan = people.explain(analyze=True, buffers=True)
    return {"count": count, "median": statistics.median(times), "peak": peak, "plan": plan}


def main() -> int:
    config = configure()
    print(f"database {config['NAME']} on {config['HOST']}:{config['PORT']}; {os.cpu_count()} CPUs")
    started = time.perf_counter()
    try:
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
        heading(f"2. Build {ENROLLEES:,} enrollees (INSERT … SELECT generate_series)")
        build_started = time.perf_counter()
        rows = build(post)
        build_seconds = time.perf_counter() - build_started
        for name, count in rows.items():
            print(f"  {name:24} {count:>10,}")
        print(f"  build time {build_seconds:.0f} s")
        heading("3. Choose a region set holding about 100,000 people to reach")
        ids, codes, _found = region_set(post)
        print(f"  regions {', '.join(codes)}")
        heading(f"4. enrollees_to_reach, {WINDOW_DAYS} days from today, kind emergency")
        print(query(post, ids).query)
        figures = measure(post, ids)
        print(f"\n{figures['plan']}")
        heading("Figures")
        print(f"  enrollees                        {rows['enrollees']:>10,}")
        print(f"  build                            {build_seconds:>10.0f} s")
        print(f"  regions in the set               {len(ids):>10}")
        print(f"  people reached (one row each)    {figures['count']:>10,}")
        print(f"  query, median of {TIMED_RUNS}            {ms(figures['median'])}")
        print(f"  peak Python memory, id iterator  {figures['peak'] / 2**20:>10.1f} MiB")
        verdict = "meets" if figures["median"] < 1.0 else "MISSES"
        print(f"  target < 1 s:                    {verdict} target")
        print(f"  PostgreSQL {connection.pg_version}")
    finally:
        database_drop(config)
    print(f"\ntotal run time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
