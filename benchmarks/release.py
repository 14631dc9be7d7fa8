"""Release benchmark: one request round of 20,000 requests for 2,000 seats.

Run from the project root: ``.venv/bin/python benchmarks/release.py``. It needs PostgreSQL:
``DATABASE_URL`` (default postgres://postgres@127.0.0.1:5432/acs_release_bench) names a
database it creates and drops itself, so the name must contain "bench".

It prints: requests accepted per second with 32 clients over HTTP against gunicorn, through
the JSON API and through the HTML request form (with CSRF), rate limits and the proof of work
switched on for both; the time and peak
memory of the draw, the time to settle (book the winners, tell the others), and proves that no
slot holds more people than its seats and nobody holds two seats. See benchmarks/README.md.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _common import free_port, heading, redis_answers  # noqa: E402 — beside this script
from _scratch_db import bench_database, database_create, database_drop  # noqa: E402
from appointments import (  # noqa: E402 — the booking benchmark's CPU accounting and ceiling
    ceiling_django,
    children_of,
    cpu_of,
    cpu_used,
    database_backends,
    gunicorn_start,
    gunicorn_stop,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/acs_release_bench"
REQUESTS = 20_000
# Of the 20,000: most through the JSON API (what an app sends, as the booking benchmark's load
# does), the rest through the HTML request form (what a browser sends); each rate is printed.
FORM_REQUESTS = 4_000
SEATS_PER_SLOT = 25  # 16 quarter-hours a day, 5 days: 80 slots, 2,000 seats
CLIENT_THREADS = 32
CONFIRM_TIMED = 1_000
# The proof of work stays on: the server verifies every solution (one HMAC, one SHA-256, one
# insert). Its difficulty is lowered so that the load client can pre-solve 20,000 challenges
# in seconds; verifying costs the server the same whatever the difficulty.
POW_MAX_NUMBER = 100
LOCAL_REDIS = "redis://127.0.0.1:6379/13"
GIVEN_ENVIRONMENT = frozenset(os.environ)


def configure() -> dict:
    config = bench_database(DEFAULT_DATABASE_URL)
    url = os.environ.get("REDIS_URL") or LOCAL_REDIS
    if redis_answers(url):
        os.environ.update({"REDIS_URL": url, "CELERY_BROKER_URL": url})
    else:
        os.environ.update({"CACHE_URL": "locmemcache://", "CELERY_BROKER_URL": "memory://"})
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "acs.settings",
            "ACS_VAR_DIR": tempfile.mkdtemp(prefix="acs-bench-"),
            "ACS_POW_ENABLED": "true",
            "ACS_POW_MAX_NUMBER": str(POW_MAX_NUMBER),
            "ACS_POW_TTL_SECONDS": "7200",
            "ACS_BOOKING_RATE_PER_ADDRESS": str(10**9),
            "ACS_BOOKING_RATE_PER_EMAIL": str(10**9),
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            # Each gunicorn thread keeps one PostgreSQL backend through the whole load (the
            # deployed 60 s would replace them mid-run, and the CPU of a backend that has
            # exited cannot be read from /proc any more).
            "CONN_MAX_AGE": "3600",
        }
    )
    return config


def _redis_empty() -> None:
    """Empty the scratch Redis database; one that was given keeps its data, less the queue
    of email tasks this run left there (nobody consumes them)."""
    import redis

    url = os.environ.get("REDIS_URL")
    if not url:
        return
    client = redis.Redis.from_url(url)
    if "REDIS_URL" not in GIVEN_ENVIRONMENT:
        client.flushdb()
    else:
        client.delete("default", "periodic", "delivery")


def round_build(post):
    """A service of 80 slots × 25 seats in one week (Monday to Friday, 08:00–12:00, 15 min)
    and its round, open now, giving exactly that week (a week without holidays)."""
    from datetime import time as clock_time

    from acs.appointments.availability import holiday_name
    from acs.appointments.constants import ReleaseMode
    from acs.appointments.models import OpeningRule, Round, Service
    from acs.appointments.services import rounds
    from acs.core import clock

    service = Service.objects.create(
        post=post,
        slug="release-bench",
        name_en="Passport renewal (rounds)",
        name_es="Renovación de pasaporte (rondas)",
        duration_minutes=15,
        seats_per_slot=SEATS_PER_SLOT,
        max_people=4,
        horizon_days=365,
        min_notice_hours=0,
        release_mode=ReleaseMode.ROUNDS,
    )
    OpeningRule.objects.bulk_create(
        [
            OpeningRule(service=service, weekday=d, opens=clock_time(8), closes=clock_time(12))
            for d in range(5)
        ]
    )
    now = clock.now()
    round_ = rounds.round_open(service=service, opens_at=now - timedelta(minutes=1))
    monday = clock.today(post) + timedelta(days=14 - clock.today(post).weekday())
    while any(holiday_name(post.country_code, monday + timedelta(days=d)) for d in range(5)):
        monday += timedelta(days=7)
    Round.objects.filter(pk=round_.pk).update(
        first_day=monday, last_day=monday + timedelta(days=4), closes_at=now + timedelta(hours=6)
    )
    return service, Round.objects.get(pk=round_.pk)


def solutions(count: int) -> list[str]:
    from acs.core import pow as proof_of_work

    return [proof_of_work.solve_for_tests(proof_of_work.challenge_create()) for _ in range(count)]


class Load:
    """32 clients, each with one keep-alive connection, posting the request form; requests
    ``first`` to ``first + count``, each with its own person and email."""

    def __init__(
        self, port: int, path: str, days: list[str], altchas: list[str], first: int, count: int
    ) -> None:
        self.port, self.path, self.days, self.altchas = port, path, days, altchas
        self.lock = threading.Lock()
        self.serial, self.end = first, first + count
        self.statuses: dict[int, int] = {}
        self.latencies: list[float] = []

    def take(self) -> int | None:
        with self.lock:
            if self.serial >= self.end:
                return None
            self.serial += 1
            return self.serial - 1

    def record(self, status: int, started: float) -> None:
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1
            self.latencies.append(time.perf_counter() - started)

    def body(self, number: int, token: str, rng: random.Random) -> str:
        people = rng.choices([1, 2, 3], weights=[60, 25, 15])[0]
        fields = {
            "csrfmiddlewaretoken": token,
            "people": people,
            "person-TOTAL_FORMS": people,
            "person-INITIAL_FORMS": 0,
            "person-MIN_NUM_FORMS": people,
            "person-MAX_NUM_FORMS": people,
            "contact-email": f"requester{number}@example.org",
            "contact-phone": "+51 987 654 321",
            "choice-TOTAL_FORMS": 5,
            "choice-INITIAL_FORMS": 0,
            "choice-MIN_NUM_FORMS": 0,
            "choice-MAX_NUM_FORMS": 5,
            "altcha": self.altchas[number],
        }
        for index in range(people):
            fields[f"person-{index}-full_name"] = f"Person {number} Number{index}"
            fields[f"person-{index}-date_of_birth_day"] = 1 + index
            fields[f"person-{index}-date_of_birth_month"] = 1 + number % 12
            fields[f"person-{index}-date_of_birth_year"] = 1950 + number % 60
            fields[f"person-{index}-passport_number"] = f"{number * 4 + index:09d}"
        for index, day in enumerate(rng.sample(self.days, rng.randint(1, 3))):
            fields[f"choice-{index}-day"] = day
            fields[f"choice-{index}-part"] = rng.choice(["am", "pm", "any"])
        return urlencode(fields)

    def client(self, seed: int) -> None:
        rng = random.Random(seed)
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        connection.request("GET", self.path)
        response = connection.getresponse()
        page = response.read().decode()
        cookie = response.getheader("Set-Cookie").split(";")[0]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
        while (number := self.take()) is not None:
            started = time.perf_counter()
            connection.request("POST", self.path, self.body(number, token, rng), headers)
            response = connection.getresponse()
            response.read()
            self.record(response.status, started)

    def run(self) -> float:
        threads = [threading.Thread(target=self.client, args=(n,)) for n in range(CLIENT_THREADS)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.perf_counter() - started


class ApiLoad(Load):
    """The same people and choices, as JSON to the API's requests endpoint (no cookie)."""

    def json_body(self, number: int, rng: random.Random) -> str:
        people = rng.choices([1, 2, 3], weights=[60, 25, 15])[0]
        return json.dumps(
            {
                "people": [
                    {
                        "full_name": f"Person {number} Number{index}",
                        "date_of_birth": f"{1950 + number % 60}-{1 + number % 12:02d}-"
                        f"{1 + index:02d}",
                        "passport_number": f"{number * 4 + index:09d}",
                    }
                    for index in range(people)
                ],
                "email": f"requester{number}@example.org",
                "phone": "+51 987 654 321",
                "choices": [
                    {"day": day, "part": rng.choice(["am", "pm", "any"])}
                    for day in rng.sample(self.days, rng.randint(1, 3))
                ],
                "altcha": self.altchas[number],
            }
        )

    def client(self, seed: int) -> None:
        rng = random.Random(seed)
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Content-Type": "application/json"}
        while (number := self.take()) is not None:
            started = time.perf_counter()
            connection.request("POST", self.path, self.json_body(number, rng), headers)
            response = connection.getresponse()
            response.read()
            self.record(response.status, started)


def _measured(server, load: Load, ok_status: int) -> dict:
    """Run ``load`` against ``server`` and read the CPU it cost gunicorn and PostgreSQL."""
    load_before = os.getloadavg()[0]
    app, database = children_of(server.pid), database_backends()
    app_before, database_before = cpu_of(app), cpu_of(database)
    client_before = time.process_time()
    elapsed = load.run()
    client_cpu = time.process_time() - client_before
    app_cpu = cpu_used(app_before, children_of(server.pid))
    database_cpu = cpu_used(database_before, database_backends())
    ok = load.statuses.get(ok_status, 0)
    figures = {
        "rate": ok / elapsed,
        "elapsed": elapsed,
        "p50": statistics.median(load.latencies),
        "p95": statistics.quantiles(load.latencies, n=20)[18],
        "app_cpu": app_cpu / max(ok, 1),
        "database_cpu": database_cpu / max(ok, 1),
        "client_cpu": client_cpu / max(ok, 1),
        "load": (load_before, os.getloadavg()[0]),
        "statuses": dict(sorted(load.statuses.items())),
    }
    figures["capacity"] = (os.cpu_count() or 1) / (figures["app_cpu"] + figures["database_cpu"])
    return figures


def _print_measured(name: str, figures: dict) -> None:
    print(f"{name}: statuses {figures['statuses']}")
    print(
        f"  {figures['rate']:.0f} requests/s; p50 {figures['p50'] * 1000:.0f} ms, p95 "
        f"{figures['p95'] * 1000:.0f} ms; {figures['elapsed']:.1f} s; load average "
        "{:.1f} → {:.1f}".format(*figures["load"])
    )
    print(
        f"  CPU per request: gunicorn {figures['app_cpu'] * 1000:.2f} ms, PostgreSQL "
        f"{figures['database_cpu'] * 1000:.2f} ms, load client "
        f"{figures['client_cpu'] * 1000:.2f} ms => {os.cpu_count()} otherwise idle cores "
        f"would take ~{figures['capacity']:.0f}/s"
    )


def requests_over_http(service, round_) -> dict:
    from django.urls import reverse
    from django.utils import translation

    from acs.appointments.models import RoundRequest
    from acs.appointments.selectors import round_days_offered
    from acs.posts.routing import post_override

    api_count = REQUESTS - FORM_REQUESTS
    heading(
        f"2. {REQUESTS:,} requests over HTTP, {CLIENT_THREADS} clients: {api_count:,} through "
        f"the API, {FORM_REQUESTS:,} through the HTML form"
    )
    started = time.perf_counter()
    altchas = solutions(REQUESTS)
    print(
        f"pre-solved {REQUESTS:,} proof-of-work challenges in {time.perf_counter() - started:.1f} s"
    )
    with translation.override("en"), post_override(service.post):
        form_path = reverse("appointments:request", kwargs={"service": service.slug})
    api_path = f"/api/v1/posts/{service.post.slug}/services/{service.slug}/requests"
    days = [day.isoformat() for day in round_days_offered(round_)]
    port = free_port()
    server = gunicorn_start(port, Path(os.environ["ACS_VAR_DIR"]) / "gunicorn.log")
    try:
        api = _measured(server, ApiLoad(port, api_path, days, altchas, 0, api_count), 202)
        form = _measured(
            server, Load(port, form_path, days, altchas, api_count, FORM_REQUESTS), 200
        )
        trivial = ceiling_django(port, server)
    finally:
        gunicorn_stop(server)
    accepted = RoundRequest.objects.filter(round=round_).count()
    print(f"{accepted:,} requests stored")
    _print_measured(f"API, POST {api_path}", api)
    _print_measured(f"HTML form, POST {form_path}", form)
    print(
        f"same-run ceiling: trivial Django view (GET /healthz), same gunicorn, 32 clients: "
        f"{trivial['rate']:.0f}/s, gunicorn CPU {trivial['app_cpu'] * 1000:.2f} ms per request"
    )
    return {"api": api, "form": form, "trivial": trivial, "accepted": accepted}


def confirm_all(round_) -> dict:
    from django.db import transaction

    from acs.appointments.constants import RequestStatus
    from acs.appointments.models import RoundRequest, RoundRequestPerson
    from acs.appointments.services import rounds

    heading("3. Confirm the emails")
    tokens = list(RoundRequest.objects.filter(round=round_).values_list("token", flat=True))
    started = time.perf_counter()
    for token in tokens[:CONFIRM_TIMED]:
        rounds.request_confirm(token=token)
    rate = CONFIRM_TIMED / (time.perf_counter() - started)
    # The rest at once: one person per request, no replacements, as request_confirm would.
    with transaction.atomic():
        rest = RoundRequest.objects.filter(round=round_, status=RequestStatus.UNCONFIRMED)
        RoundRequestPerson.objects.filter(request__in=rest).update(active=True)
        rest.update(status=RequestStatus.CONFIRMED)
    print(f"{CONFIRM_TIMED:,} confirmed through request_confirm: {rate:.0f}/s (one process)")
    return {"confirm_rate": rate}


def draw_and_settle(round_) -> dict:
    from acs.appointments import draw
    from acs.appointments.models import Round
    from acs.appointments.services import rounds

    heading("4. The draw")
    after = round_.closes_at + timedelta(seconds=1)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    draw_load = os.getloadavg()[0]
    backend = _backend_pid()
    database_before = cpu_of([backend])
    started, cpu_started = time.perf_counter(), time.process_time()
    drawn = rounds.round_draw(round_id=round_.pk, now=after)
    draw_seconds = time.perf_counter() - started
    draw_cpu = time.process_time() - cpu_started
    draw_database_cpu = cpu_used(database_before, [backend])
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"drew {drawn.requests_count:,} requests ({drawn.people_count:,} people) for "
        f"{drawn.seats_count:,} seats in {draw_seconds:.2f} s (CPU: {draw_cpu:.2f} s in this "
        f"process, {draw_database_cpu:.2f} s in its PostgreSQL backend; load average "
        f"{draw_load:.1f}); served {drawn.served_requests:,} "
        f"requests, {drawn.served_people:,} people; peak RSS {rss_after / 1024:.0f} MB "
        f"(+{(rss_after - rss_before) / 1024:.0f} MB)"
    )
    published = Round.objects.get(pk=round_.pk).published
    tracemalloc.start()
    started = time.perf_counter()
    _replayed, problems = draw.published_check(published)
    replay_seconds = time.perf_counter() - started
    replay_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(
        f"replay of the publication: {replay_seconds:.2f} s (under tracemalloc), "
        f"peak {replay_peak / 2**20:.0f} MB, {len(problems)} differences"
    )
    heading("5. Settle: book the winners, tell the others")
    started = time.perf_counter()
    settled = rounds.round_settle(round_id=round_.pk, now=after)
    settle_seconds = time.perf_counter() - started
    print(f"{settled['booked']:,} booked, {settled['notified']:,} told, {settle_seconds:.1f} s")
    return {
        "draw": draw_seconds,
        "draw_cpu": draw_cpu,
        "draw_database_cpu": draw_database_cpu,
        "draw_load": draw_load,
        "rss": rss_after / 1024,
        "replay": replay_seconds,
        "replay_peak": replay_peak / 2**20,
        "problems": len(problems),
        "settle": settle_seconds,
        "drawn": drawn,
    }


def _backend_pid() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def violations(service) -> tuple[int, int]:
    from django.db.models import Count, Sum

    from acs.appointments.constants import ACTIVE
    from acs.appointments.models import Booking, BookingPerson

    over = (
        Booking.objects.filter(service=service, status__in=ACTIVE)
        .values("starts_at")
        .annotate(people=Sum("people_count"))
        .filter(people__gt=service.seats_per_slot)
        .count()
    )
    twice = (
        BookingPerson.objects.filter(service=service, active=True)
        .values("identity_key")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    return over, twice


def main() -> int:
    config = configure()
    broker = os.environ["CELERY_BROKER_URL"]
    print(f"database {config['NAME']}; broker {broker}; {os.cpu_count()} CPUs")
    started = time.perf_counter()
    try:
        database_create(config)
        import django

        django.setup()
        from django.core.management import call_command

        from acs.posts.models import Post

        heading("1. Migrate, seed Lima, open a round")
        call_command("migrate", verbosity=0)
        call_command("post_seed", "lima")
        service, round_ = round_build(Post.objects.get(slug="lima"))
        http_figures = requests_over_http(service, round_)
        confirm = confirm_all(round_)
        result = draw_and_settle(round_)
        over, twice = violations(service)
        heading("Figures")
        for name, figures, target in (
            ("API", http_figures["api"], "   target ≥ 500/s"),
            ("HTML form", http_figures["form"], ""),
        ):
            load_text = "load average {:.1f} → {:.1f}".format(*figures["load"])
            print(
                f"    requests accepted, {name:9}   {figures['rate']:6.0f}/s{target}  ({load_text})"
            )
            print(
                f"      CPU per request             gunicorn {figures['app_cpu'] * 1000:.2f} ms"
                f" + PostgreSQL {figures['database_cpu'] * 1000:.2f} ms"
                f" => ~{figures['capacity']:.0f}/s on idle cores"
            )
        print(
            f"    ceiling, same run             {http_figures['trivial']['rate']:6.0f}/s"
            f"   trivial Django view, same gunicorn and clients"
        )
        print(
            f"    draw                          {result['draw']:6.2f} s    target < 5 s"
            f"  (CPU {result['draw_cpu']:.2f} s + PostgreSQL {result['draw_database_cpu']:.2f} s;"
            f" load average {result['draw_load']:.1f})"
        )
        print(f"    peak memory (process RSS)     {result['rss']:6.0f} MB")
        print(f"    confirmations, one process    {confirm['confirm_rate']:6.0f}/s")
        print(f"    settle (book + tell)          {result['settle']:6.1f} s")
        print(f"    slots over capacity           {over}; people with two seats {twice}")
        print(f"    replay differences            {result['problems']}")
    finally:
        database_drop(config)
        shutil.rmtree(os.environ["ACS_VAR_DIR"], ignore_errors=True)
        _redis_empty()
    print(f"\ntotal run time {time.perf_counter() - started:.0f} s")
    return 0 if (over, twice, result["problems"]) == (0, 0, 0) else 1


if __name__ == "__main__":
    sys.exit(main())
