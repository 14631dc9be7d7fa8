"""Appointments benchmark: a year of bookings for Lima, availability speed, bookings per second.

Run from the project root: ``.venv/bin/python benchmarks/appointments.py`` (or ``make bench``).
It needs PostgreSQL: ``DATABASE_URL`` (default postgres://postgres@127.0.0.1:5432/acs_bench)
names a database it creates and drops itself, so the name must contain "bench".
See benchmarks/README.md for what is measured and what is switched off.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _common import free_port, heading, redis_answers  # noqa: E402 — beside this script
from _scratch_db import bench_database, database_create, database_drop  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/acs_bench"
SEAT_SCALE = 14  # see README: Lima's shipped seats hold ~20,000 bookings a year, not 100,000
PAST_DAYS = FUTURE_DAYS = 182
BATCH = 2_000
AVAILABILITY_CALLS = 200
WARM_UP_CALLS = 5
CLIENT_THREADS = 32
LOAD_SECONDS = 20.0
LOAD_MAX_BOOKINGS = 4_000
# Tried on 2 cores: gthread 4x4 and 2x8 with --preload were best for bookings (2x8 by a nose);
# sync workers lose keep-alive and were ~30% slower. 2x16 books as fast as 2x8 (276-284/s)
# and takes round requests faster (655/s against 540/s, same code, same hour): with a
# thread for each of the 32 clients, more requests meet in each group commit
# (acs/appointments/services/intake.py). docs/deployment.md says the same. BENCH_GUNICORN_ARGS
# overrides.
GUNICORN_ARGS = os.environ.get(
    "BENCH_GUNICORN_ARGS", "--workers 2 --worker-class gthread --threads 16 --preload"
).split()
LOCAL_REDIS = "redis://127.0.0.1:6379/13"
RULES_TABLE = '"appointments_openingrule"'
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
GIVEN_ENVIRONMENT = frozenset(os.environ)

FIRST_NAMES = "Ana Bruno Carla Diego Elena Fernando Gabriela Hugo Inés Jorge Karina Luis María "
FIRST_NAMES += "Nicolás Olga Pedro Rosa Santiago Teresa Víctor John Mary James Linda Robert Susan"
LAST_NAMES = "Quispe Flores Sánchez Rodríguez García Rojas Huamán Mamani Díaz Torres Chávez "
LAST_NAMES += "Ramírez Mendoza Vargas Castillo Smith Johnson Williams Brown Jones Miller Davis"
FIRST, LAST = FIRST_NAMES.split(), LAST_NAMES.split()


# Environment and database ------------------------------------------------------------------


def configure() -> dict[str, str]:
    """Set the environment Django and gunicorn read; refuse anything but a bench PostgreSQL."""
    config = bench_database(DEFAULT_DATABASE_URL)
    var_dir = tempfile.mkdtemp(prefix="acs-bench-")
    os.environ.update(_cache_and_broker())
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "acs.settings",
            "ACS_VAR_DIR": var_dir,
            # The proof of work is a cost paid by the citizen's browser, not the server.
            "ACS_POW_ENABLED": "false",
            "ACS_BOOKING_RATE_PER_ADDRESS": str(10**9),
            "ACS_BOOKING_RATE_PER_EMAIL": str(10**9),
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
        }
    )
    return config


def _cache_and_broker() -> dict[str, str]:
    """Production keeps rate limits and the task queue in Redis; use it when there is one
    (REDIS_URL, or a local server), else process memory, never the demo's files."""
    url = os.environ.get("REDIS_URL") or LOCAL_REDIS
    if redis_answers(url):
        return {"REDIS_URL": url, "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", url)}
    return {"CACHE_URL": "locmemcache://", "CELERY_BROKER_URL": "memory://"}


def _scratch_redis_empty() -> None:
    """Empty the local Redis database the benchmark chose itself; never one it was given."""
    if "REDIS_URL" not in GIVEN_ENVIRONMENT and os.environ.get("REDIS_URL") == LOCAL_REDIS:
        import redis

        redis.Redis.from_url(LOCAL_REDIS).flushdb()


# Figures ------------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.2f} ms"


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def cpu_of(pids) -> dict[int, float]:
    """CPU seconds (user + system) each process has used, from /proc."""
    found = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return found


def children_of(parent: int) -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == parent:
                pids.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return pids


def database_backends() -> list[int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return [row[0] for row in cursor.fetchall()]


# 2. A year of bookings ----------------------------------------------------------------------


def _person_count(rng: random.Random, most: int) -> int:
    count = rng.choices([1, 2, 3, 4], weights=[70, 20, 7, 3])[0]
    return min(count, most)


def _slot_starts(service, day: date, rules_by_day) -> list[datetime]:
    from acs.appointments import availability

    rules = rules_by_day.get(day.weekday())
    if not rules or availability.holiday_name(service.post.country_code, day):
        return []
    # The same private helper availability uses, so the data sits on slots the app offers.
    return [local.astimezone(UTC) for local in availability.local_times(service, day, rules)]


def _fill(day_offset: int, horizon: int) -> float:
    """How full a slot is: the past nearly full, the near future filling up, the far future
    (beyond the booking horizon, reached only by staff) nearly empty."""
    if day_offset < 0:
        return 0.92
    if day_offset <= horizon:
        return max(0.15, 0.95 - 0.8 * day_offset / horizon)
    return 0.05


class Builder:
    def __init__(self, now: datetime, rng: random.Random) -> None:
        self.now = now
        self.rng = rng
        self.codes: set[str] = set()
        self.people_serial = 0
        self.bookings: list = []
        self.people: list[list] = []
        self.rows = 0
        self.person_rows = 0

    def code(self) -> str:
        from acs.appointments.models import CODE_ALPHABET

        while True:
            raw = "".join(self.rng.choice(CODE_ALPHABET) for _ in range(8))
            code = f"{raw[:4]}-{raw[4:]}"
            if code not in self.codes:
                self.codes.add(code)
                return code

    def status(self, starts_at: datetime) -> str:
        if starts_at >= self.now:
            return "booked"
        return self.rng.choices(["served", "no_show", "late_refused"], weights=[88, 9, 3])[0]

    def add(self, service, starts_at: datetime, count: int, status: str) -> None:
        from acs.appointments.constants import ACTIVE
        from acs.appointments.models import Booking, BookingPerson

        rng = self.rng
        family = rng.choice(LAST)
        booking = Booking(
            post_id=service.post_id,
            service=service,
            starts_at=starts_at,
            people_count=count,
            status=status,
            token=secrets.token_urlsafe(24),
            code=self.code(),
            email=f"{family.lower()}.{self.people_serial}@example.org",
            phone=f"+519{rng.randrange(10**8):08d}",
            language=rng.choice(["es", "es", "en"]),
            cancelled_at=starts_at - timedelta(days=rng.randint(1, 20))
            if status == "cancelled"
            else None,
        )
        members = []
        for _ in range(count):
            self.people_serial += 1
            passport = f"H{self.people_serial:08d}"
            members.append(
                BookingPerson(
                    service=service,
                    full_name=f"{rng.choice(FIRST)} {family} {rng.choice(LAST)}",
                    date_of_birth=date(1940, 1, 1) + timedelta(days=rng.randrange(30_000)),
                    passport_number=passport,
                    identity_key=hashlib.sha256(f"passport:{passport}".encode()).hexdigest(),
                    active=status in ACTIVE,
                )
            )
        self.bookings.append(booking)
        self.people.append(members)
        if len(self.bookings) >= BATCH:
            self.flush()

    def flush(self) -> None:
        from acs.appointments.models import Booking, BookingPerson

        if not self.bookings:
            return
        Booking.objects.bulk_create(self.bookings)
        people = []
        for booking, members in zip(self.bookings, self.people, strict=True):
            for person in members:
                person.booking = booking
                people.append(person)
        BookingPerson.objects.bulk_create(people)
        self.rows += len(self.bookings)
        self.person_rows += len(people)
        self.bookings, self.people = [], []

    def fill_slot(self, service, starts_at: datetime, fill: float) -> None:
        free = service.seats_per_slot
        target = round(free * fill * self.rng.uniform(0.8, 1.1))
        while free > 0 and target > 0:
            count = min(_person_count(self.rng, service.max_people), free)
            self.add(service, starts_at, count, self.status(starts_at))
            free -= count
            target -= count
            # Cancelled bookings hold no seat, but they are rows every query has to skip.
            if self.rng.random() < (0.15 if starts_at < self.now else 0.08):
                count = _person_count(self.rng, service.max_people)
                self.add(service, starts_at, count, "cancelled")


def build_year(post) -> None:
    from django.db import connection
    from django.db.models import F
    from django.utils import timezone

    from acs.appointments.models import Service

    heading("2. A year of bookings")
    Service.objects.filter(post=post).update(seats_per_slot=F("seats_per_slot") * SEAT_SCALE)
    services = list(Service.objects.filter(post=post).select_related("post"))
    now = timezone.now()
    today = now.astimezone(post.zone).date()
    builder = Builder(now, random.Random(20250101))
    started = time.perf_counter()
    for service in services:
        rules_by_day: dict[int, list] = {}
        for rule in service.opening_rules.all():
            rules_by_day.setdefault(rule.weekday, []).append(rule)
        for offset in range(-PAST_DAYS, FUTURE_DAYS + 1):
            day = today + timedelta(days=offset)
            fill = _fill(offset, service.horizon_days)
            for starts_at in _slot_starts(service, day, rules_by_day):
                builder.fill_slot(service, starts_at, fill)
    builder.flush()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # what autovacuum would have done on a live database
    elapsed = time.perf_counter() - started
    print(f"services (seats x{SEAT_SCALE}):")
    for service in services:
        print(f"  {service.slug:24} {service.seats_per_slot:3} seats/slot")
    print(f"Booking rows:        {builder.rows:>9,}")
    print(f"BookingPerson rows:  {builder.person_rows:>9,}")
    print(f"built in:            {elapsed:9.1f} s ({builder.rows / elapsed:,.0f} bookings/s)")


# 3. Availability ----------------------------------------------------------------------------


def call_figures(times: list[float], cpu: list[float], query_counts: set[int]) -> dict:
    figures = {
        "median": statistics.median(times),
        "p95": p95(times),
        "cpu": statistics.mean(cpu),
        "queries": sorted(query_counts),
        "calls": len(times),
    }
    print(
        f"  all {figures['calls']} calls: median {ms(figures['median'])}  p95 {ms(figures['p95'])}"
        f"  python CPU {ms(figures['cpu'])}  queries per call {figures['queries']}"
    )
    return figures


def availability_in_process(post) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from acs.appointments import selectors
    from acs.appointments.availability import slots_between

    heading("3a. availability.slots_between(service, today, today + 60 days)")
    today = timezone.now().astimezone(post.zone).date()
    all_times: list[float] = []
    all_cpu: list[float] = []
    query_counts: set[int] = set()
    for service in selectors.services_bookable(post):
        for _ in range(WARM_UP_CALLS):
            slots_between(service, today, today + timedelta(days=60))
        times = []
        cpu_started = time.process_time()
        for _ in range(AVAILABILITY_CALLS):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                found = slots_between(service, today, today + timedelta(days=60))
                times.append(time.perf_counter() - started)
            query_counts.add(len(queries))
        cpu = (time.process_time() - cpu_started) / AVAILABILITY_CALLS
        all_cpu.append(cpu)
        slots = sum(len(day) for day in found.values())
        print(
            f"  {service.slug:24} {slots:4} slots  median {ms(statistics.median(times))}"
            f"  p95 {ms(p95(times))}  python CPU {ms(cpu)}  queries {len(queries)}"
        )
        all_times += times
    return call_figures(all_times, all_cpu, query_counts)


def availability_over_http(post) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from acs.appointments import selectors

    heading("3b. GET /api/v1/services/<slug>/availability?days=60 (django.test.Client)")
    refreshes = 0
    client = Client(HTTP_HOST="127.0.0.1")
    all_times: list[float] = []
    all_cpu: list[float] = []
    query_counts: set[int] = set()
    for service in selectors.services_bookable(post):
        path = f"/api/v1/services/{service.slug}/availability?days=60"
        for _ in range(WARM_UP_CALLS):
            assert client.get(path).status_code == 200  # noqa: S101
        times = []
        cpu_started = time.process_time()
        for _ in range(AVAILABILITY_CALLS):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(path)
                times.append(time.perf_counter() - started)
            assert response.status_code == 200  # noqa: S101
            # Once a second the process re-reads the post, its services and their rules
            # (ACS_BOOKING_RULES_SECONDS): three more queries on that call, counted apart.
            if any(RULES_TABLE in query["sql"] for query in queries.captured_queries):
                refreshes += 1
            else:
                query_counts.add(len(queries))
        cpu = (time.process_time() - cpu_started) / AVAILABILITY_CALLS
        all_cpu.append(cpu)
        print(
            f"  {service.slug:24} {len(response.content):7,} B  median "
            f"{ms(statistics.median(times))}  p95 {ms(p95(times))}  python CPU {ms(cpu)}"
            f"  queries {len(queries)}"
        )
        all_times += times
    print(f"  calls that re-read the post's services and rules (once a second): {refreshes}")
    return call_figures(all_times, all_cpu, query_counts)


# 4. Bookings per second ---------------------------------------------------------------------


def gunicorn_start(port: int, log_path: Path) -> subprocess.Popen:
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "acs.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        *GUNICORN_ARGS,
    ]
    with log_path.open("w") as log:
        server = subprocess.Popen(  # noqa: S603 — our own gunicorn with fixed arguments
            command, cwd=ROOT, env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT
        )
    try:
        _wait_until_ready(server, port, log_path)
    except BaseException:
        gunicorn_stop(server)  # never leave a server behind, even on Ctrl-C
        raise
    return server


def _wait_until_ready(server: subprocess.Popen, port: int, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{log_path.read_text()[-3000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer within 60 s")


def gunicorn_stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


class SlotPool:
    """Free seats as the availability said, less what this run booked. A slot leaves the pool
    when we fill it; two threads may still race for its last seat, which is the point."""

    def __init__(self, entries: list[list]) -> None:
        self.open = entries
        self.lock = threading.Lock()

    def pick(self, rng: random.Random) -> list | None:
        with self.lock:
            return rng.choice(self.open) if self.open else None

    def booked(self, entry: list, count: int) -> None:
        with self.lock:
            entry[2] -= count
            if entry[2] <= 0 and entry in self.open:
                self.open.remove(entry)

    def refused(self, entry: list, count: int) -> None:
        with self.lock:
            entry[2] = min(entry[2], count - 1)
            if entry[2] <= 0 and entry in self.open:
                self.open.remove(entry)


def fetch_pool(port: int, services) -> SlotPool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    entries = []
    for service in services:
        connection.request("GET", f"/api/v1/services/{service.slug}/availability?days=60")
        data = json.loads(connection.getresponse().read())
        for day in data["days"]:
            entries += [
                [service, slot["start"], slot["free"]] for slot in day["slots"] if slot["free"]
            ]
    connection.close()
    return SlotPool(entries)


class Load:
    def __init__(self, port: int, pool: SlotPool) -> None:
        self.port = port
        self.pool = pool
        self.serial = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.statuses: Counter = Counter()
        self.latencies: list[float] = []
        self.max_ok = LOAD_MAX_BOOKINGS

    def next_serial(self) -> int:
        with self.lock:
            self.serial += 1
            return self.serial

    def body(self, service, start: str, count: int, rng: random.Random) -> bytes:
        people = []
        serial = 0
        for _ in range(count):
            serial = self.next_serial()
            people.append(
                {
                    "full_name": f"{rng.choice(FIRST)} {rng.choice(LAST)} {rng.choice(LAST)}",
                    "date_of_birth": str(date(1940, 1, 1) + timedelta(days=rng.randrange(29_000))),
                    "passport_number": f"{600_000_000 + serial:09d}",
                }
            )
        body = {
            "service": service.slug,
            "start": start,
            "people": people,
            "email": f"load.{serial}@example.org",
            "phone": f"+51 9{rng.randrange(10**8):08d}",
            "language": rng.choice(["es", "en"]),
            "benefits_ack": True,
            "altcha": "",
        }
        return json.dumps(body).encode()

    def record(self, status: int, elapsed: float) -> bool:
        with self.lock:
            self.statuses[status] += 1
            self.latencies.append(elapsed)
            if status == 201 and self.statuses[201] >= self.max_ok:
                self.stop.set()
        return status == 201

    def client(self, seed: int) -> None:
        rng = random.Random(seed)
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Content-Type": "application/json", "Connection": "keep-alive"}
        while not self.stop.is_set():
            entry = self.pool.pick(rng)
            if entry is None:
                break
            service, start, free = entry
            count = min(_person_count(rng, service.max_people), max(free, 1))
            body = self.body(service, start, count, rng)
            started = time.perf_counter()
            try:
                connection.request("POST", "/api/v1/bookings", body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                connection.close()  # reopened by the next request
                status = 0
            if self.record(status, time.perf_counter() - started):
                self.pool.booked(entry, count)
            elif status == 409:
                self.pool.refused(entry, count)
        connection.close()

    def run(self, seconds: float, threads: int = CLIENT_THREADS) -> float:
        workers = [
            threading.Thread(target=self.client, args=(seed,), daemon=True)
            for seed in range(threads)
        ]
        started = time.perf_counter()
        for worker in workers:
            worker.start()
        self.stop.wait(seconds)
        self.stop.set()
        for worker in workers:
            worker.join()
        return time.perf_counter() - started


def overbooked_slots() -> int:
    """One query: slots whose active bookings hold more people than the service seats."""
    from django.db import connection

    from acs.appointments.models import Booking, Service

    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT count(*) FROM (
                SELECT b.service_id, b.starts_at
                FROM {Booking._meta.db_table} b
                JOIN {Service._meta.db_table} s ON s.id = b.service_id
                WHERE b.status IN ('booked', 'checked_in')
                GROUP BY b.service_id, b.starts_at, s.seats_per_slot
                HAVING SUM(b.people_count) > s.seats_per_slot
            ) AS over
            """  # noqa: S608 — table names from the models, no input
        )
        return cursor.fetchone()[0]


def bookings_per_second(post, var_dir: Path) -> dict:
    from acs.appointments import selectors

    heading("4. POST /api/v1/bookings under load")
    print("gunicorn " + " ".join(GUNICORN_ARGS))
    services = list(selectors.services_bookable(post))
    port = free_port()
    server = gunicorn_start(port, var_dir / "gunicorn.log")
    try:
        pool = fetch_pool(port, services)
        print(f"slots with free seats in the next 60 days: {len(pool.open):,}")
        warm = Load(port, pool)
        warm.max_ok = 3 * CLIENT_THREADS  # every worker thread loads its code, opens its connection
        warm.run(60.0)
        load = Load(port, pool)
        load.serial = warm.serial
        app, database = children_of(server.pid), database_backends()
        app_before, database_before = cpu_of(app), cpu_of(database)
        client_before = time.process_time()
        elapsed = load.run(LOAD_SECONDS)
        client_cpu = time.process_time() - client_before
        app_cpu = cpu_used(app_before, children_of(server.pid))
        database_cpu = cpu_used(database_before, database_backends())
        load_after = os.getloadavg()[0]
        trivial = ceiling_django(port, server)
    finally:
        gunicorn_stop(server)
    inserts = ceiling_inserts()
    statements = queries_per_booking(post)
    ok = load.statuses[201]
    figures = {
        "elapsed": elapsed,
        "ok": ok,
        "taken": load.statuses[409],
        "other": sum(n for status, n in load.statuses.items() if status not in (201, 409)),
        "rate": ok / elapsed,
        "requests": sum(load.statuses.values()) / elapsed,
        "p50": statistics.median(load.latencies),
        "p95": p95(load.latencies),
        "app_cpu": app_cpu / max(ok, 1),
        "database_cpu": database_cpu / max(ok, 1),
        "client_cpu": client_cpu / max(ok, 1),
        "overbooked": overbooked_slots(),
        "load": load_after,
        "statements": len(statements),
        "trivial": trivial,
        "inserts": inserts,
    }
    figures["capacity"] = os.cpu_count() / (figures["app_cpu"] + figures["database_cpu"])
    print(f"{CLIENT_THREADS} client threads for {elapsed:.1f} s; statuses {dict(load.statuses)}")
    print(
        f"201 booked {ok:,}  409 taken {figures['taken']:,}  other {figures['other']:,}  "
        f"=> {figures['rate']:.0f} bookings/s ({figures['requests']:.0f} requests/s)"
    )
    print(f"latency p50 {ms(figures['p50'])}  p95 {ms(figures['p95'])}")
    print(
        f"CPU per booking: gunicorn {ms(figures['app_cpu'])}, PostgreSQL "
        f"{ms(figures['database_cpu'])}, load client {ms(figures['client_cpu'])} => "
        f"{os.cpu_count()} otherwise idle cores would serve ~{figures['capacity']:.0f} bookings/s"
    )
    print(f"slots over capacity (one SQL query): {figures['overbooked']}")
    print(f"load average (1 min) at the end of the load: {load_after:.1f}")
    print(
        f"statements per booking (web process, in process, BEGIN and COMMIT included): "
        f"{len(statements)}"
    )
    for sql in statements:
        print(f"  {' '.join(sql.split())[:110]}")
    print("same-run ceilings, 32 clients each:")
    failed = f", {trivial['other']} failed" if trivial["other"] else ""
    print(
        f"  trivial Django view (GET /healthz: middleware + SELECT 1), same gunicorn: "
        f"{trivial['rate']:.0f} requests/s, gunicorn CPU {ms(trivial['app_cpu'])} per request"
        f"{failed}"
    )
    print(
        f"  bare INSERT + COMMIT in PostgreSQL (psycopg, no Django): {inserts['rate']:.0f}/s, "
        f"PostgreSQL CPU {ms(inserts['database_cpu'])} per insert"
    )
    return figures


def queries_per_booking(post) -> list[str]:
    """One booking through the API in this process (django.test.Client), its SQL captured:
    the statements the web process sends, BEGIN and COMMIT included."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from acs.appointments import selectors

    client = Client(HTTP_HOST="127.0.0.1")
    service = selectors.services_bookable(post).order_by("-seats_per_slot").first()
    days = client.get(f"/api/v1/services/{service.slug}/availability?days=60").json()["days"]
    free = [slot["start"] for day in days for slot in day["slots"] if slot["free"] >= 2]
    load = Load(0, SlotPool([]))
    load.serial = 900_000
    rng = random.Random(7)
    statements = []
    for start in free[:2]:  # the first warms the process's copy of the post and services
        with CaptureQueriesContext(connection) as queries:
            response = client.post(
                "/api/v1/bookings",
                load.body(service, start, 1, rng),
                content_type="application/json",
            )
        assert response.status_code == 201, response.content  # noqa: S101
        statements = [query["sql"] for query in queries.captured_queries]
    return statements


def ceiling_django(port: int, server: subprocess.Popen, seconds: float = 10.0) -> dict:
    """The same gunicorn, the same 32 keep-alive clients, a trivial Django view: ``GET
    /healthz`` (every middleware, then ``SELECT 1``). No booking can beat it on this machine
    at this moment."""
    stop = threading.Event()
    counts: Counter = Counter()
    lock = threading.Lock()

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while not stop.is_set():
            try:
                connection.request("GET", "/healthz", headers={"Connection": "keep-alive"})
                response = connection.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                connection.close()
                status = 0
            with lock:
                counts[status] += 1
        connection.close()

    app = children_of(server.pid)
    before = cpu_of(app)
    threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENT_THREADS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    ok = counts[200]
    return {
        "rate": ok / elapsed,
        "app_cpu": cpu_used(before, children_of(server.pid)) / max(ok, 1),
        "other": sum(n for status, n in counts.items() if status != 200),
    }


def ceiling_inserts(seconds: float = 10.0) -> dict:
    """32 connections, each inserting one row per transaction (``INSERT`` then ``COMMIT``)
    into a table of its own: the commits per second PostgreSQL gives on this machine now,
    with no Python web process in the way."""
    import psycopg
    from django.db import connection as django_connection

    settings = django_connection.settings_dict
    params = {
        "host": settings["HOST"] or None,
        "port": settings["PORT"] or None,
        "user": settings["USER"] or None,
        "password": settings["PASSWORD"] or None,
        "dbname": settings["NAME"],
    }
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute(
            "CREATE TABLE IF NOT EXISTS bench_ceiling "
            "(id bigserial PRIMARY KEY, email text, created_at timestamptz DEFAULT now())"
        )
    stop = threading.Event()
    done = [0] * CLIENT_THREADS
    connections = [psycopg.connect(**params, autocommit=True) for _ in range(CLIENT_THREADS)]
    pids = [connection.info.backend_pid for connection in connections]

    def insert(number: int) -> None:
        connection = connections[number]
        while not stop.is_set():
            connection.execute(
                "INSERT INTO bench_ceiling (email) VALUES (%s)", [f"c{number}@example.org"]
            )
            done[number] += 1

    before = cpu_of(pids)
    threads = [
        threading.Thread(target=insert, args=(n,), daemon=True) for n in range(CLIENT_THREADS)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    database_cpu = cpu_used(before, pids)
    for connection in connections:
        connection.close()
    total = sum(done)
    return {"rate": total / elapsed, "database_cpu": database_cpu / max(total, 1)}


def cpu_used(before: dict[int, float], pids: list[int]) -> float:
    """CPU seconds used since ``before`` by ``pids`` (a process new since then counts whole)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in cpu_of(pids).items())


# Main ---------------------------------------------------------------------------------------


def summary(build_rows: int, in_process: dict, over_http: dict, load: dict) -> None:
    def verdict(ok: bool) -> str:
        return "meets target" if ok else "MISSES target"

    constant = len(in_process["queries"]) == 1 and len(over_http["queries"]) == 1
    fast = over_http["p95"] < 0.05 and in_process["p95"] < 0.05
    heading("Figures")
    print(f"  Booking rows built                  {build_rows:>10,}")
    for label, figures in (("in process", in_process), ("over the API", over_http)):
        print(
            f"  availability 60 days, {label:13} median {ms(figures['median'])}  "
            f"p95 {ms(figures['p95'])}  queries/call {figures['queries']}"
        )
    print(f"    query count constant across calls: {'yes' if constant else 'NO'}")
    print(f"    target p95 < 50 ms and constant:   {verdict(fast and constant)}")
    print(
        f"  bookings/s (201 only)               {load['rate']:10.0f}   "
        f"p50 {ms(load['p50'])}  p95 {ms(load['p95'])}"
    )
    print(
        f"    CPU per booking                   gunicorn {ms(load['app_cpu'])}  "
        f"PostgreSQL {ms(load['database_cpu'])}  => ~{load['capacity']:.0f}/s on idle cores"
    )
    print(f"    target >= 200 bookings/s:          {verdict(load['rate'] >= 200)}")
    total = load["app_cpu"] + load["database_cpu"]
    print(f"    target CPU <= 10 ms per booking:   {verdict(total <= 0.010)} ({ms(total)})")
    print(f"    statements per booking            {load['statements']:10}")
    print(
        f"    ceilings, same run                trivial view {load['trivial']['rate']:.0f}/s, "
        f"bare INSERT {load['inserts']['rate']:.0f}/s"
    )
    print(f"  slots over capacity                 {load['overbooked']:>10}")


def main() -> int:
    config = configure()
    var_dir = Path(os.environ["ACS_VAR_DIR"])
    print(f"database {config['NAME']} on {config['HOST']}:{config['PORT']}; var dir {var_dir}")
    cache = os.environ.get("REDIS_URL") or os.environ["CACHE_URL"]
    print(f"cache {cache}; task broker {os.environ['CELERY_BROKER_URL']}; {os.cpu_count()} CPUs")
    started = time.perf_counter()
    try:
        database_create(config)
        _scratch_redis_empty()
        import django

        django.setup()
        from django.core.management import call_command

        from acs.appointments.models import Booking
        from acs.posts.models import Post

        heading("1. Migrate and seed Lima")
        call_command("migrate", verbosity=0)
        call_command("post_seed", "lima")
        post = Post.objects.get(slug="lima")
        build_year(post)
        rows = Booking.objects.count()
        in_process = availability_in_process(post)
        over_http = availability_over_http(post)
        load = bookings_per_second(post, var_dir)
        summary(rows, in_process, over_http, load)
    finally:
        database_drop(config)
        shutil.rmtree(var_dir, ignore_errors=True)
        _scratch_redis_empty()
    print(f"\ntotal run time {time.perf_counter() - started:.0f} s")
    return 0 if load["overbooked"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
