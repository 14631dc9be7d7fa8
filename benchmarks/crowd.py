"""Crowd benchmark: the public pages a crowd reads in an emergency, and its welfare answers.

Run from the project root: ``.venv/bin/python benchmarks/crowd.py`` (or ``make bench``). It
needs PostgreSQL and Redis. ``DATABASE_URL`` (default
postgres://postgres@127.0.0.1:5432/acs_crowd_bench) names a database it creates and drops
itself, so the name must contain "bench". The cache is ``REDIS_URL`` if given (never emptied),
else redis://127.0.0.1:6379/14, a scratch database emptied before and after. It installs
``wrk`` with apt-get when it is missing. See benchmarks/README.md.

It prints, in one run:
- the five URLs a crowd reads (home, the messages list, a message page, the Atom feed and the
  CAP index), each driven by ``wrk`` at 100 connections through gunicorn as deployed
  (docs/deployment.md: ``--workers 3``, an access log, DEBUG off, settings from the
  environment), first with the page cache off (``ACS_PAGE_CACHE_SECONDS=0``), then on:
  requests/s, p50, p99, errors, and the gunicorn CPU time per request;
- the ceiling: a trivial WSGI app answering a page of the home page's size under the same
  gunicorn settings and the same load, which no Django page can beat on this machine;
- 10,000 welfare answers ("I am safe" / "I need help") posted at 50 concurrent to the links
  of an emergency message: errors, answers/s, and a check that each delivery row has exactly
  one answer, the one that was sent.

Options:
  --seconds N      each measured wrk run (default 10, after a 3 s warm-up)
  --answers N      welfare answers (default 10,000)
  --skip-welfare   the pages only
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import re
import shlex
import shutil
import signal
import statistics
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

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/acs_crowd_bench"
LOCAL_REDIS = "redis://127.0.0.1:6379/14"
GIVEN_ENVIRONMENT = frozenset(os.environ)
CONNECTIONS = 100
WELFARE_CONNECTIONS = 50
WELFARE_ANSWERS = 10_000
# docs/deployment.md's unit: gunicorn acs.wsgi:application --workers 3 --access-logfile -
GUNICORN_ARGS = shlex.split(os.environ.get("BENCH_GUNICORN_ARGS", "--workers 3"))
TARGET_RATE, TARGET_P99_MS, TARGET_RATIO = 1000, 250, 10
MESSAGES = 12  # more than one page of the list (10 a page)

# wrk prints its summary for us as one JSON line (latencies in microseconds).
WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'JSON {"requests": %d, "us": %d, "connect": %d, "read": %d, "write": %d, "status": %d, '
    .. '"timeout": %d, "p50": %d, "p99": %d, "max": %d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""

CEILING_APP = """
BODY = b"x" * {size}


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                              ("Content-Length", str(len(BODY)))])
    return [BODY]
"""


# Environment ----------------------------------------------------------------------------------


def configure() -> dict:
    """Set the environment Django and gunicorn read; refuse anything but a bench PostgreSQL."""
    config = bench_database(DEFAULT_DATABASE_URL)
    redis_url = os.environ.get("REDIS_URL") or LOCAL_REDIS
    if not redis_answers(redis_url):
        sys.exit(f"This benchmark needs Redis (the page cache as deployed); none at {redis_url}.")
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "acs.settings",
            "ACS_VAR_DIR": tempfile.mkdtemp(prefix="acs-crowd-"),
            "CACHE_URL": redis_url,
            # Publishing queues the sending; nobody sends here (the crowd's messages reach
            # nobody, the welfare rows are written directly).
            "CELERY_BROKER_URL": "memory://",
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
        }
    )
    return config


def _scratch_redis_empty() -> None:
    """Empty the local Redis database the benchmark chose itself; never one it was given."""
    if "REDIS_URL" not in GIVEN_ENVIRONMENT:
        import redis

        redis.Redis.from_url(LOCAL_REDIS).flushdb()


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("installing wrk with apt-get", flush=True)
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(install, capture_output=True).returncode != 0:  # noqa: S603
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, check=True)  # noqa: S607
        subprocess.run(install, capture_output=True, check=True)  # noqa: S603
    return shutil.which("wrk") or sys.exit("wrk could not be installed")


# Build ----------------------------------------------------------------------------------------


def _message(post, writer, approver, number: int, kind: str, region: str):
    from datetime import timedelta

    from django.utils import timezone

    from acs.alerts import services

    now = timezone.now()
    message = services.message_draft_create(
        post=post,
        actor=writer,
        kind=kind,
        title_en=f"Crowd benchmark message {number}: roads closed in {region}",
        title_es=f"Mensaje de prueba {number}: carreteras cerradas en {region}",
        location_en=f"{region}, and the roads into it.",
        location_es=f"{region} y sus carreteras de acceso.",
        event_en="Protests are **blocking roads**. A magnitude 6.8 earthquake struck at 14:05.",
        event_es="Protestas **bloquean carreteras**. Un sismo de magnitud 6,8 a las 14:05.",
        actions_en="- Stay away from damaged buildings.\n- Follow the local authorities.",
        actions_es="- Aléjese de edificios dañados.\n- Siga a las autoridades locales.",
        assistance_en="U.S. Embassy Lima: [+51 1 618 2000](tel:+5116182000)",
        assistance_es="Embajada de EE. UU. en Lima: [+51 1 618 2000](tel:+5116182000)",
        regions=[post.regions.get(code=region)],
        effective_from=now - timedelta(minutes=5),
        effective_until=now + timedelta(days=2),
    )
    services.message_approve(message=message, actor=approver)
    return services.message_publish(message=message, actor=approver).message


def _model(table: str):
    """The model of ``table``, wherever its app is (delivery is moving into alerts; the table
    names stay). Through the model, a column added later gets its default."""
    from django.apps import apps

    return next(model for model in apps.get_models() if model._meta.db_table == table)


def _deliveries(message, post, count: int) -> None:
    """One sent email row of ``message`` for each of the first ``count`` enrollees."""
    from django.utils import timezone

    from acs.enrollment.models import Enrollee

    delivery = _model("delivery_delivery")
    now = timezone.now()
    people = Enrollee.objects.filter(post=post).order_by("pk").values_list("pk", "email")[:count]
    delivery.objects.bulk_create(
        (
            delivery(
                message=message,
                enrollee_id=pk,
                channel="email",
                address=email,
                language="en",
                status="sent",
                attempts=1,
                provider_id=f"<crowd-{pk}@example.gov>",
                sent_at=now,
            )
            for pk, email in people
        ),
        batch_size=2000,
    )


def build(answers: int) -> dict:
    """Lima with its pages; ``MESSAGES`` published messages (the last an emergency); then
    ``answers`` enrollees, each with a sent email row of the emergency (its link's token)."""
    # The house's builders of people and officers, beside this script.
    from broadcast import BUILD_SQL, officers
    from django.core.management import call_command
    from django.db import connection

    from acs.posts.models import Post

    call_command("migrate", verbosity=0)
    call_command("post_seed", "lima")
    post = Post.objects.get(slug="lima")
    writer, approver = officers()
    kinds = ["security", "demonstration", "health", "weather", "citizens"]
    regions = ["PE-CUS", "PE-ARE", "PE-LIM", "PE-PUN", "PE-LOR"]
    for number in range(1, MESSAGES):
        _message(post, writer, approver, number, kinds[number % 5], regions[number % 5])
    # Published before anyone is enrolled: publishing writes no rows, the benchmark does.
    emergency = _message(post, writer, approver, MESSAGES, "emergency", "PE-CUS")
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(BUILD_SQL[0], {"post": post.pk, "count": answers})
    _deliveries(emergency, post, answers)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
        cursor.execute(
            "SELECT token FROM delivery_delivery WHERE message_id = %s ORDER BY id", [emergency.pk]
        )
        tokens = [str(row[0]) for row in cursor.fetchall()]
    print(
        f"  {MESSAGES} messages published; {len(tokens):,} enrollees with an emergency email "
        f"row in {time.perf_counter() - started:.1f} s"
    )
    return {
        "message": emergency,
        "tokens": tokens,
        "urls": {
            "home": "/en/lima/",
            "messages list": "/en/lima/messages/",
            "message page": f"/en/lima/messages/{emergency.public_id}/",
            "Atom feed": "/en/lima/messages/feed.atom",
            "CAP index": "/en/lima/messages/cap.atom",
        },
    }


# Gunicorn -----------------------------------------------------------------------------------


class Gunicorn:
    """gunicorn as deployed, on a free port, with the given environment on top."""

    def __init__(
        self,
        var_dir: Path,
        name: str,
        app: str = "acs.wsgi:application",
        *,
        cwd: Path = ROOT,
        probe: str = "/healthz",
        **env: str,
    ) -> None:
        self.port = free_port()
        self.log = var_dir / f"gunicorn-{name}.log"
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            app,
            "--bind",
            f"127.0.0.1:{self.port}",
            *GUNICORN_ARGS,
            "--access-logfile",
            str(var_dir / f"access-{name}.log"),
        ]
        self.process = subprocess.Popen(  # noqa: S603 — our own interpreter and arguments
            command,
            cwd=cwd,
            env=os.environ | env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )
        self._wait(probe)

    def _wait(self, probe: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("GET", probe)
                if connection.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        sys.exit(f"gunicorn did not start:\n{self.log.read_text(errors='replace')}")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def cpu_seconds(self) -> float:
        """User + system time of the master and its workers so far (from /proc)."""
        pids = [self.process.pid]
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        if children.exists():
            pids += [int(pid) for pid in children.read_text().split()]
        ticks = 0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except FileNotFoundError:
                continue
            ticks += int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    def settle(self, limit: float = 120) -> None:
        """Wait until the workers are idle: wrk stops its clock at the end of a run, but the
        requests already queued in the listen backlog are still served, and would otherwise
        be counted against the next run."""
        deadline = time.monotonic() + limit
        before = self.cpu_seconds()
        while time.monotonic() < deadline:
            time.sleep(0.5)
            now = self.cpu_seconds()
            if now - before < 0.02:
                return
            before = now

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


# wrk ---------------------------------------------------------------------------------------


def wrk(binary: str, script: Path, url: str, seconds: int, connections: int) -> dict:
    command = [
        binary,
        "-t2",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "5s",
        "-s",
        str(script),
        url,
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    line = next(line for line in output.splitlines() if line.startswith("JSON "))
    figures = json.loads(line[5:])
    errors = sum(figures[name] for name in ("connect", "read", "write", "status", "timeout"))
    return {
        "requests": figures["requests"],
        "rate": figures["requests"] / (figures["us"] / 1e6),
        "p50": figures["p50"] / 1000,
        "p99": figures["p99"] / 1000,
        "errors": errors,
        "detail": {k: figures[k] for k in ("connect", "read", "write", "status", "timeout")},
    }


def drive(binary: str, script: Path, server: Gunicorn, path: str, seconds: int) -> dict:
    """A 3 s warm-up, then ``seconds`` measured, with the server's CPU time per request."""
    wrk(binary, script, server.url(path), 3, CONNECTIONS)
    server.settle()
    before = server.cpu_seconds()
    result = wrk(binary, script, server.url(path), seconds, CONNECTIONS)
    result["cpu_ms"] = (server.cpu_seconds() - before) * 1000 / max(result["requests"], 1)
    server.settle()
    return result


def show(name: str, result: dict) -> None:
    errors = result["errors"]
    detail = "" if not errors else f" {result['detail']}"
    print(
        f"  {name:14} {result['rate']:8,.0f} req/s   p50 {result['p50']:7.1f} ms   "
        f"p99 {result['p99']:7.1f} ms   errors {errors}{detail}   "
        f"gunicorn CPU {result['cpu_ms']:.2f} ms/request",
        flush=True,
    )


def pages(binary: str, script: Path, var_dir: Path, urls: dict, seconds: int) -> dict:
    runs: dict[str, dict] = {}
    for mode, cache_seconds in (("uncached", "0"), ("cached", "30")):
        heading(
            f"Pages, {mode} (ACS_PAGE_CACHE_SECONDS={cache_seconds}), {CONNECTIONS} connections"
        )
        server = Gunicorn(var_dir, mode, ACS_PAGE_CACHE_SECONDS=cache_seconds)
        try:
            runs[mode] = {}
            for name, path in urls.items():
                runs[mode][name] = drive(binary, script, server, path, seconds)
                show(name, runs[mode][name])
        finally:
            server.stop()
    return runs


def ceiling(binary: str, script: Path, var_dir: Path, size: int, seconds: int) -> dict:
    heading(f"Ceiling: a trivial WSGI app ({size:,} bytes a page), same gunicorn, same load")
    (var_dir / "ceiling_app.py").write_text(CEILING_APP.format(size=size))
    server = Gunicorn(var_dir, "ceiling", "ceiling_app:application", cwd=var_dir, probe="/")
    try:
        result = drive(binary, script, server, "/", seconds)
        show("trivial app", result)
    finally:
        server.stop()
    return result


# Welfare answers ----------------------------------------------------------------------------


def _csrf(server: Gunicorn, token: str) -> tuple[str, str]:
    """The cookie and form token a citizen's browser gets with the welfare page."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("GET", f"/en/lima/m/welfare/{token}/safe/")
    response = connection.getresponse()
    html = response.read().decode()
    cookie = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie") or "")
    field = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    if response.status != 200 or not cookie or not field:
        sys.exit(f"the welfare page did not give a CSRF token (HTTP {response.status})")
    return cookie[1], field[1]


def _answer_main(port: int, jobs: list[tuple[str, str]], csrf: tuple[str, str], queue) -> None:
    """One client process: ``WELFARE_CONNECTIONS // 2`` threads post its share of answers,
    each on a new connection (gunicorn's sync workers close it after every answer)."""
    import threading

    cookie, field = csrf
    results: list[tuple[int, float]] = []
    lock = threading.Lock()
    pending = list(reversed(jobs))

    def worker() -> None:
        while True:
            with lock:
                if not pending:
                    return
                token, answer = pending.pop()
            body = f"csrfmiddlewaretoken={field}"
            started = time.perf_counter()
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                connection.request(
                    "POST",
                    f"/en/lima/m/welfare/{token}/{answer}/",
                    body=body,
                    headers={
                        "Content-Type": "application/x-www-form-urlencoded",
                        "Cookie": f"csrftoken={cookie}",
                    },
                )
                response = connection.getresponse()
                response.read()
                status = response.status
                connection.close()
            except OSError as error:
                status = type(error).__name__
            with lock:
                results.append((status, time.perf_counter() - started))

    threads = [threading.Thread(target=worker) for _ in range(WELFARE_CONNECTIONS // 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put(results)


def welfare(var_dir: Path, built: dict) -> dict:
    from django.db import connection, connections

    tokens = built["tokens"]
    heading(f"{len(tokens):,} welfare answers at {WELFARE_CONNECTIONS} concurrent (cache on)")
    # Every third person needs help; the rest are safe.
    jobs = [(token, "help" if n % 3 == 0 else "safe") for n, token in enumerate(tokens)]
    server = Gunicorn(var_dir, "welfare")
    context = multiprocessing.get_context("spawn")
    try:
        csrf = _csrf(server, tokens[0])
        queue = context.Queue()
        clients = [
            context.Process(target=_answer_main, args=(server.port, jobs[n::2], csrf, queue))
            for n in range(2)
        ]
        before = server.cpu_seconds()
        started = time.monotonic()
        for client in clients:
            client.start()
        results = [row for _client in clients for row in queue.get()]
        seconds = time.monotonic() - started
        cpu = server.cpu_seconds() - before
        for client in clients:
            client.join()
    finally:
        server.stop()
        log = server.log.read_text(errors="replace")
    statuses = Counter(status for status, _latency in results)
    errors = len(results) - statuses[200]
    latencies = sorted(latency for _status, latency in results)
    connections.close_all()  # idle since the build; the server may have dropped it
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(w.id), count(DISTINCT w.delivery_id),
                   count(*) FILTER (WHERE w.id IS NULL),
                   count(*) FILTER (WHERE w.answer = 'safe'),
                   count(*) FILTER (WHERE w.answer = 'help')
            FROM delivery_delivery d LEFT JOIN delivery_welfareresponse w ON w.delivery_id = d.id
            WHERE d.message_id = %s
            """,
            [built["message"].pk],
        )
        answers, distinct, unanswered, safe, help_ = cursor.fetchone()
    sent_help = sum(1 for _token, answer in jobs if answer == "help")
    exact = (
        answers == distinct == len(jobs)
        and unanswered == 0
        and help_ == sent_help
        and safe == len(jobs) - sent_help
    )
    print(
        f"  {len(results):,} answers posted in {seconds:.1f} s: {len(results) / seconds:,.0f} "
        f"answers/s; errors {errors}; p50 {statistics.median(latencies) * 1000:.0f} ms, "
        f"p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:.0f} ms; "
        f"gunicorn CPU {cpu * 1000 / len(results):.1f} ms/answer"
    )
    if errors:
        print(f"  answers by HTTP status: {dict(statuses)}; the end of gunicorn's log:")
        print("    " + "\n    ".join(log.strip().splitlines()[-15:]))
    print(
        f"  rows: {answers:,} answers for {distinct:,} deliveries of {len(jobs):,}; "
        f"{unanswered} without an answer; {safe:,} safe and {help_:,} need help "
        f"(sent {len(jobs) - sent_help:,} and {sent_help:,}): "
        + ("each counted once" if exact else "NOT each counted once")
    )
    return {
        "answers": len(results),
        "errors": errors,
        "rate": len(results) / seconds,
        "exact": exact,
    }


# Figures ------------------------------------------------------------------------------------


def summary(runs: dict | None, top: dict | None, answers: dict | None) -> None:
    heading("Figures")
    if runs and top:
        _pages_summary(runs, top)
    if answers:
        print(
            f"  welfare: {answers['answers']:,} answers, {answers['errors']} errors, "
            f"{answers['rate']:,.0f} answers/s, "
            + ("each counted once" if answers["exact"] else "NOT each counted once")
        )


def _pages_summary(runs: dict, top: dict) -> None:
    print(f"  ceiling (trivial WSGI app): {top['rate']:,.0f} req/s, p99 {top['p99']:.1f} ms")
    print(
        f"  {'URL':14} {'uncached':>10} {'cached':>10} {'ratio':>7} {'cached p99':>11} "
        f"{'errors':>7}  cached targets (≥{TARGET_RATE:,}/s, p99 <{TARGET_P99_MS} ms, 0 errors, "
        f"≥{TARGET_RATIO}×)"
    )
    for name, cached in runs["cached"].items():
        uncached = runs["uncached"][name]
        ratio = cached["rate"] / uncached["rate"] if uncached["rate"] else float("inf")
        met = [
            cached["rate"] >= TARGET_RATE,
            cached["p99"] < TARGET_P99_MS,
            cached["errors"] == 0,
            ratio >= TARGET_RATIO,
        ]
        verdict = (
            "met"
            if all(met)
            else "NOT met: "
            + ", ".join(
                label
                for label, ok in zip(("rate", "p99", "errors", "ratio"), met, strict=True)
                if not ok
            )
        )
        print(
            f"  {name:14} {uncached['rate']:>8,.0f}/s {cached['rate']:>8,.0f}/s "
            f"{ratio:>6.1f}× {cached['p99']:>8.1f} ms {cached['errors']:>7}  {verdict}"
        )


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--answers", type=int, default=WELFARE_ANSWERS)
    parser.add_argument("--skip-welfare", action="store_true")
    parser.add_argument("--welfare-only", action="store_true", help="the answers only")
    return parser.parse_args()


def main() -> int:
    args = arguments()
    binary = ensure_wrk()
    config = configure()
    var_dir = Path(os.environ["ACS_VAR_DIR"])
    script = var_dir / "report.lua"
    script.write_text(WRK_REPORT)
    print(f"database {config['NAME']} on {config['HOST']}:{config['PORT']}; var dir {var_dir}")
    print(f"cache {os.environ['CACHE_URL']}; gunicorn {' '.join(GUNICORN_ARGS)}; wrk {binary}")
    print(f"{os.cpu_count()} CPUs")
    started = time.perf_counter()
    exact = True
    try:
        database_create(config)
        _scratch_redis_empty()
        import django

        django.setup()
        heading("Migrate, seed Lima, publish messages, enroll people")
        built = build(args.answers)
        runs = top = answers = None
        if not args.welfare_only:
            runs = pages(binary, script, var_dir, built["urls"], args.seconds)
            size = len(_fetch(built["urls"]["home"]))
            top = ceiling(binary, script, var_dir, size, args.seconds)
        if not args.skip_welfare:
            answers = welfare(var_dir, built)
        exact = answers is None or (answers["exact"] and answers["errors"] == 0)
        summary(runs, top, answers)
    finally:
        database_drop(config)
        shutil.rmtree(var_dir, ignore_errors=True)
        _scratch_redis_empty()
    print(f"\ntotal run time {time.perf_counter() - started:.0f} s")
    return 0 if exact else 1


def _fetch(path: str) -> bytes:
    """The page as Django renders it (its size sets the ceiling app's page)."""
    from django.db import connections
    from django.test import Client

    connections.close_all()  # idle since the build; the server may have dropped it
    return Client(HTTP_HOST="localhost").get(path).content


if __name__ == "__main__":
    sys.exit(main())
