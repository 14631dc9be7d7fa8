"""Network benchmark: does Lima stay as fast when 269 other posts share the database?

Run from the project root: ``.venv/bin/python benchmarks/network.py`` (or ``make bench``).
It needs PostgreSQL: ``DATABASE_URL`` (default
postgres://postgres@127.0.0.1:5432/acs_network_bench) names a database it creates and drops
itself, so the name must contain "bench". See benchmarks/README.md.

Two builds in one database, measured the same way:
  A  Lima alone: its regions, its services with a year of bookings (appointments.py's
     builder) and its share of the enrollees (enrollment.py's builder);
  B  the same Lima data, untouched, plus the other posts (pycountry countries; the countries
     with the most regions get a second post taking half of them), their services, their
     enrollees and a year of their bookings.

Options (defaults are the issue's sizes):
  --posts N          posts in build B, Lima included (default 270)
  --enrollees N      enrollees in build B, Lima's included (default 1,000,000)
  --lima-share F     Lima's share of the enrollees (default 0.25: enough people in its regions
                     to reach ~100,000 in a week)
  --bookings N       bookings of the other posts over the year (default 1,000,000)
  --calls N          timed availability calls (default 200)
  --runs N           timed targeting evaluations (default 20)
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import appointments  # noqa: E402 — beside this script: the year of bookings for Lima
import enrollment  # noqa: E402 — beside this script: Lima's enrollees, the targeting query
from _common import database_only_settings, heading, ms  # noqa: E402
from _scratch_db import bench_database, database_create, database_drop  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/acs_network_bench"
AVAILABILITY_TARGET = 0.050  # p95, seconds
TARGETING_TARGET = 1.0  # median, seconds, as enrollment.py reports it
WARM_UP_CALLS = 5
# A post abroad: the United States has no American Citizen Services unit of its own.
NOT_A_HOST = {"US"}
ZONE_TABLE = Path("/usr/share/zoneinfo/zone.tab")


def configure() -> dict[str, str]:
    config = bench_database(DEFAULT_DATABASE_URL)
    database_only_settings()
    return config


def timed(label: str, started: float) -> None:
    print(f"  {label:40} {time.perf_counter() - started:6.1f} s", flush=True)


# Build A: Lima alone -------------------------------------------------------------------------


def build_lima(enrollees: int):
    from django.core.management import call_command
    from django.db import connection

    from acs.posts.models import Post

    call_command("post_seed", "lima")
    post = Post.objects.get(slug="lima")
    appointments.build_year(post)
    params = {
        "post": post.pk,
        "count": enrollees,
        "today": enrollment.post_today(post),
        "regions": list(post.regions.order_by("code").values_list("pk", flat=True)),
    }
    # enrollment.py's builder spreads people over exactly 26 regions (Peru's).
    assert len(params["regions"]) == 26  # noqa: S101
    heading(f"Lima's {enrollees:,} enrollees (enrollment.py's INSERT … SELECT)")
    with connection.cursor() as cursor:
        for statement in enrollment.BUILD_SQL:
            started = time.perf_counter()
            cursor.execute(statement, params)
            table = statement.split("INTO ")[1].split()[0]
            timed(f"{table} {cursor.rowcount:,} rows", started)
    vacuum()
    return post


def vacuum() -> None:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")  # what autovacuum does to a live database
    timed("VACUUM (ANALYZE)", started)


# Build B: the other posts --------------------------------------------------------------------


def _zones() -> dict[str, str]:
    """A time zone per country (the first listed), from the system's zone table."""
    zones: dict[str, str] = {}
    if ZONE_TABLE.exists():
        for line in ZONE_TABLE.read_text().splitlines():
            if line and not line.startswith("#"):
                country, _coordinates, zone = line.split("\t")[:3]
                zones.setdefault(country, zone)
    return zones


def _top_level_codes(country: str) -> list[str]:
    import pycountry

    subdivisions = pycountry.subdivisions.get(country_code=country) or []
    return sorted(sub.code for sub in subdivisions if sub.parent_code is None)


def post_plan(posts: int) -> list[tuple[str, str, list[str] | None]]:
    """(slug, country, district) of each post besides Lima: one per country with at least two
    regions, then a second post in the countries with the most regions, taking the second half
    of them (``district``; None means every region no other post serves)."""
    import pycountry

    regions = {
        country.alpha_2: _top_level_codes(country.alpha_2) for country in pycountry.countries
    }
    hosts = sorted(
        code
        for code, codes in regions.items()
        if len(codes) >= 2 and code not in NOT_A_HOST | {"PE"}
    )
    wanted = posts - 1
    plan: list[tuple[str, str, list[str] | None]] = [
        (f"post-{code.lower()}", code, None) for code in hosts[:wanted]
    ]
    splittable = sorted(
        (code for code in hosts if len(regions[code]) >= 4), key=lambda c: (-len(regions[c]), c)
    )
    for code in splittable[: wanted - len(plan)]:
        codes = regions[code]
        plan.append((f"post-{code.lower()}-2", code, codes[len(codes) // 2 :]))
    if len(plan) < wanted:
        sys.exit(f"pycountry offers {len(plan) + 1} posts, not {posts}")
    return plan


def build_posts(posts: int) -> list:
    """The other posts through ``post_create`` and their services through ``services_seed``,
    as ``post_seed`` writes Lima's (Lima's services and hours for every post)."""
    import pycountry

    from acs.appointments.services import services_seed
    from acs.demo.shipped import SERVICES_DIR
    from acs.posts.services import post_create

    entries = json.loads((SERVICES_DIR / "lima.json").read_text())
    zones = _zones()
    created = []
    started = time.perf_counter()
    for slug, country, district in post_plan(posts):
        name = pycountry.countries.get(alpha_2=country).name
        post = post_create(
            slug=slug,
            name=f"U.S. post {slug[5:].upper()}",
            city=name[:100],
            country_code=country,
            time_zone=zones.get(country, "UTC"),
            street_address=f"1 Embassy Road\n{name}",
            main_phone="+1 202 501 4444",
            emergency_phone="+1 202 501 4444",
            district=district,
        )
        services_seed(post=post, entries=entries)
        created.append(post)
    timed(f"{len(created)} posts and their services", started)
    return created


OTHER_ENROLLEES_SQL = [
    """
    INSERT INTO enrollment_enrollee (post_id, email, password, full_name, date_of_birth, status,
        language, passport_number, created_at, last_active_at, email_verified_at, active,
        session_epoch)
    SELECT (%(posts)s::bigint[])[1 + i %% cardinality(%(posts)s::bigint[])],
        'network' || i || '@example.org', '!', 'Traveler ' || i,
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
    WHERE e.id > %(after)s AND e.id %% 10 < 6
    """,
    # The post's regions in code order, one array per post; the second stop is the next region
    # (every post has at least two, so it is never the first one again).
    """
    WITH district AS (
        SELECT post_id, array_agg(id ORDER BY code) AS regions FROM posts_region GROUP BY post_id
    ), trip AS (
        SELECT t.id, t.enrollee_id, d.regions, cardinality(d.regions) AS n
        FROM enrollment_trip t
        JOIN enrollment_enrollee e ON e.id = t.enrollee_id
        JOIN district d ON d.post_id = e.post_id
        WHERE e.id > %(after)s
    )
    INSERT INTO enrollment_tripstop (trip_id, region_id, place)
    SELECT id, regions[1 + (enrollee_id * 11) %% n], '' FROM trip
    UNION ALL
    SELECT id, regions[1 + (enrollee_id * 11 + 1) %% n], '' FROM trip WHERE id %% 4 = 0
    """,
    """
    WITH district AS (
        SELECT post_id, array_agg(id ORDER BY code) AS regions FROM posts_region GROUP BY post_id
    )
    INSERT INTO enrollment_residence (enrollee_id, region_id, place, confirmed_at, active)
    SELECT e.id, d.regions[1 + (e.id * 17) %% cardinality(d.regions)], '',
        now() - (e.id %% 365) * interval '1 day', true
    FROM enrollment_enrollee e JOIN district d ON d.post_id = e.post_id
    WHERE e.id > %(after)s AND e.id %% 10 >= 6
    """,
    """
    INSERT INTO enrollment_messagepreference (enrollee_id, kind, channel, delivery, enabled)
    SELECT e.id, 'emergency', 'email', 'immediate', false
    FROM enrollment_enrollee e WHERE e.id > %(after)s AND e.id %% 20 = 7
    UNION ALL
    SELECT e.id, 'emergency', 'sms', 'immediate', true
    FROM enrollment_enrollee e WHERE e.id > %(after)s AND e.id %% 100 = 7
    UNION ALL
    SELECT e.id, 'weather', 'email', 'digest', true
    FROM enrollment_enrollee e WHERE e.id > %(after)s AND e.id %% 10 = 3
    """,
]

# A year of bookings over every service of the other posts: six months back, six ahead, in
# office hours (UTC) on the half hour. Their exact slots do not matter: availability reads one
# service's bookings, so these rows only make the table and its indexes a network's size. Past
# rows are served (83 %), no-show (9 %) or cancelled (8 %); future ones booked or cancelled.
# Codes have no dash, so they never meet the ``XXXX-XXXX`` codes of Lima's bookings.
OTHER_BOOKINGS_SQL = """
    INSERT INTO appointments_booking (post_id, service_id, starts_at, people_count, status,
        token, code, email, phone, language, created_at, cancelled_late, reschedule_count,
        cancelled_at)
    SELECT s.post_id, s.id, b.starts_at, 1 + (i %% 7 = 0)::int + (i %% 31 = 0)::int,
        CASE
            WHEN i %% 12 = 5 THEN 'cancelled'
            WHEN b.starts_at >= now() THEN 'booked'
            WHEN i %% 11 = 3 THEN 'no_show'
            ELSE 'served'
        END,
        'network-' || i, 'N' || lpad(upper(to_hex(i)), 8, '0'),
        'booker' || i || '@example.org', '+1 202 555 0100', 'en', now(), false, 0,
        CASE WHEN i %% 12 = 5 THEN b.starts_at - interval '3 days' END
    FROM generate_series(1::bigint, %(count)s) AS i
    JOIN appointments_service s
        ON s.id = (%(services)s::bigint[])[1 + i %% cardinality(%(services)s::bigint[])]
    CROSS JOIN LATERAL (
        SELECT date_trunc('day', now()) + ((i * 7919) %% 365 - 182) * interval '1 day'
            + interval '13 hours' + (i %% 14) * interval '30 minutes' AS starts_at
    ) b
"""


def build_network(lima, options) -> None:
    from django.db import connection

    from acs.appointments.models import Service
    from acs.enrollment.models import Enrollee

    others = build_posts(options.posts)
    other_enrollees = options.enrollees - lima_enrollees(options)
    params = {
        "posts": [post.pk for post in others],
        "count": other_enrollees,
        "today": enrollment.post_today(lima),
        "after": Enrollee.objects.order_by("-pk").values_list("pk", flat=True).first() or 0,
        "services": list(
            Service.objects.exclude(post=lima).order_by("pk").values_list("pk", flat=True)
        ),
    }
    with connection.cursor() as cursor:
        for statement in OTHER_ENROLLEES_SQL:
            started = time.perf_counter()
            cursor.execute(statement, params)
            table = statement.split("INSERT INTO ")[1].split()[0]
            # The next statement joins this table: without fresh statistics the planner
            # takes it for Lima-sized and picks a nested loop (two minutes instead of seconds).
            rows = cursor.rowcount
            cursor.execute(f"ANALYZE posts_region, {table}")
            timed(f"{table} {rows:,} rows", started)
        started = time.perf_counter()
        cursor.execute(OTHER_BOOKINGS_SQL, {**params, "count": options.bookings})
        timed(f"appointments_booking {cursor.rowcount:,} rows", started)
    vacuum()


def lima_enrollees(options) -> int:
    return round(options.enrollees * options.lima_share)


# Measure -------------------------------------------------------------------------------------


def plan_shape(sql: str, params=None, *, cursor_for: bool = False) -> list[str]:
    """The plan's nodes, indented, with the table or index each reads: what must not change.
    Costs and row estimates are left out, since more data changes them."""
    from django.db import connection, transaction

    statement = f"DECLARE bench_shape NO SCROLL CURSOR FOR {sql}" if cursor_for else sql
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {statement}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    lines: list[str] = []

    def walk(node: dict, depth: int) -> None:
        label = node["Node Type"]
        if node.get("Join Type", "Inner") != "Inner":
            label = f"{label} ({node['Join Type']})"
        if node.get("Index Name"):
            label += f" using {node['Index Name']}"
        if node.get("Relation Name"):
            label += f" on {node['Relation Name']}"
        lines.append("  " * depth + label)
        for child in node.get("Plans", []):
            walk(child, depth + 1)

    walk(plan[0]["Plan"], 0)
    return lines


def lima_service(lima, slug: str | None):
    from acs.appointments import selectors

    services = selectors.services_bookable(lima).order_by("order")
    return services.get(slug=slug) if slug else services.first()


def measure_availability(service, calls: int) -> dict:
    """``slots_between`` over the service's whole horizon, as appointments.py times it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from acs.appointments.availability import slots_between
    from acs.appointments.models import Booking

    today = timezone.now().astimezone(service.post.zone).date()
    last = today + timedelta(days=service.horizon_days)
    for _ in range(WARM_UP_CALLS):
        slots_between(service, today, last)
    times, query_counts = [], set()
    cpu_started = time.process_time()
    for _ in range(calls):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            found = slots_between(service, today, last)
            times.append(time.perf_counter() - started)
        query_counts.add(len(queries))
    cpu = (time.process_time() - cpu_started) / calls
    seats = next(q["sql"] for q in queries if Booking._meta.db_table in q["sql"])
    return {
        "slots": sum(len(day) for day in found.values()),
        "median": statistics.median(times),
        "p95": appointments.p95(times),
        "cpu": cpu,
        "queries": sorted(query_counts),
        "shape": plan_shape(seats),
    }


def measure_targeting(lima, region_ids: list[int], runs: int) -> dict:
    people = enrollment.query(lima, region_ids).values_list("pk", flat=True)
    figures = enrollment.measure(lima, region_ids, runs)
    sql, params = people.query.sql_with_params()
    figures["shape"] = plan_shape(sql, params, cursor_for=True)
    return figures


def measure(label: str, lima, service, region_ids: list[int], options) -> dict:
    heading(f"{label}: availability of {service.slug}, {service.horizon_days} days")
    availability = measure_availability(service, options.calls)
    print(
        f"  {availability['slots']} slots, {options.calls} calls: median "
        f"{ms(availability['median'])}  p95 {ms(availability['p95'])}  python CPU "
        f"{ms(availability['cpu'])}  queries per call {availability['queries']}"
    )
    print("  plan of the seats query:")
    print("\n".join(f"    {line}" for line in availability["shape"]))
    heading(f"{label}: enrollees_to_reach, Lima, {len(region_ids)} regions")
    targeting = measure_targeting(lima, region_ids, options.runs)
    print(
        f"  {targeting['count']:,} people, {options.runs} runs: median "
        f"{ms(targeting['median'])}  p95 {ms(targeting['p95'])}"
    )
    if targeting["server_cpu"] is not None:
        print(f"  PostgreSQL CPU per query, median {ms(targeting['server_cpu'])}")
    print("  plan of the cursor:")
    print("\n".join(f"    {line}" for line in targeting["shape"]))
    return {"availability": availability, "targeting": targeting, "load": os.getloadavg()[0]}


def summary(alone: dict, network: dict, sizes: dict) -> None:
    def met(ok: bool) -> str:
        return "met" if ok else "not met"

    heading("Figures")
    for name, count in sizes.items():
        print(f"  {name:36} {count:>12,}")
    print(f"  {'':36} {'Lima alone':>12} {'network':>12}")
    rows = [
        ("availability median", "availability", "median"),
        ("availability p95", "availability", "p95"),
        ("targeting median", "targeting", "median"),
        ("targeting p95", "targeting", "p95"),
    ]
    for label, part, key in rows:
        print(f"  {label:36} {ms(alone[part][key]):>12} {ms(network[part][key]):>12}")
    print(
        f"  {'people reached':36} {alone['targeting']['count']:>12,} "
        f"{network['targeting']['count']:>12,}"
    )
    print(f"  {'load average at the end':36} {alone['load']:>12.2f} {network['load']:>12.2f}")
    for part, name in (("availability", "availability seats query"), ("targeting", "targeting")):
        same = alone[part]["shape"] == network[part]["shape"]
        print(f"  plan of the {name}: {'the same' if same else 'DIFFERENT'} in both builds")
        if not same:
            changes = difflib.unified_diff(
                alone[part]["shape"],
                network[part]["shape"],
                "Lima alone",
                "network",
                n=1,
                lineterm="",
            )
            print("\n".join(f"    {line}" for line in changes))
    for label, figures in (("Lima alone", alone), ("network", network)):
        fast = figures["availability"]["p95"] < AVAILABILITY_TARGET
        quick = figures["targeting"]["median"] < TARGETING_TARGET
        print(f"  {label}: availability p95 < 50 ms {met(fast)}; targeting < 1 s {met(quick)}")


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=270)
    parser.add_argument("--enrollees", type=int, default=1_000_000)
    parser.add_argument("--lima-share", type=float, default=0.25)
    parser.add_argument("--bookings", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--runs", type=int, default=enrollment.TIMED_RUNS)
    parser.add_argument("--service", help="Lima's service to measure (default: the first)")
    options = parser.parse_args()
    if options.posts < 2 or options.calls < 1 or options.runs < 1:
        parser.error("--posts must be at least 2, --calls and --runs at least 1")
    return options


def main() -> int:
    options = arguments()
    config = configure()
    print(f"database {config['NAME']} on {config['HOST']}:{config['PORT']}; {os.cpu_count()} CPUs")
    started = time.perf_counter()
    try:
        database_create(config)
        import django

        django.setup()
        from django.core.management import call_command

        from acs.appointments.models import Booking
        from acs.enrollment.models import Enrollee

        heading("A. Migrate; Lima alone")
        call_command("migrate", verbosity=0)
        lima = build_lima(lima_enrollees(options))
        service = lima_service(lima, options.service)
        heading("Lima's regions holding about 100,000 people to reach")
        region_ids, codes, _found = enrollment.region_set(lima)
        print(f"  regions {', '.join(codes)}")
        alone = measure("A. Lima alone", lima, service, region_ids, options)
        sizes = {
            "Lima: enrollees": Enrollee.objects.count(),
            "Lima: bookings": Booking.objects.count(),
        }
        heading(f"B. The network: {options.posts - 1} more posts")
        build_network(lima, options)
        from acs.posts.models import Post

        sizes |= {
            "network: posts": Post.objects.count(),
            "network: enrollees": Enrollee.objects.count(),
            "network: bookings": Booking.objects.count(),
        }
        network = measure("B. The network", lima, service, region_ids, options)
        summary(alone, network, sizes)
    finally:
        database_drop(config)
    print(f"\ntotal run time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
