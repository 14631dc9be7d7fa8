"""Proof-of-work cost per request at each difficulty level (issue 14, docs/security.md).

Run from the project root: ``.venv/bin/python benchmarks/pow.py``. No database.

A level's challenge hides a number in [0, max_number]; the client tries numbers from 0 until
SHA-256(salt + number) matches, so on average it does max_number / 2 hashes. The script
measures, on this machine, how fast two clients hash: a bot (Python's hashlib, one core, the
cheapest honest attacker's loop) and a browser (Chromium, the way the ALTCHA widget does it:
``crypto.subtle.digest`` on each try, awaited), then solves real challenges of every level
with each, and prints the mean time per request. Reported, not asserted.
"""

from __future__ import annotations

import hashlib
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "acs.settings")

import altcha  # noqa: E402
import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from acs.core import pow as proof_of_work  # noqa: E402

BROWSER_SOLVER = """
async ([salt, challenge, max]) => {
  const enc = new TextEncoder();
  const start = performance.now();
  for (let n = 0; n <= max; n++) {
    const buf = await crypto.subtle.digest("SHA-256", enc.encode(salt + n));
    const hex = Array.from(new Uint8Array(buf)).map(b => b.toString(16).padStart(2, "0")).join("");
    if (hex === challenge) return [n, performance.now() - start];
  }
  return [-1, performance.now() - start];
}
"""


def bot_solve(salt: str, challenge: str, max_number: int) -> tuple[int, float]:
    start = time.perf_counter()
    for number in range(max_number + 1):
        if hashlib.sha256(f"{salt}{number}".encode()).hexdigest() == challenge:
            return number, (time.perf_counter() - start) * 1000
    return -1, (time.perf_counter() - start) * 1000


def challenges(level: int, count: int) -> list[dict]:
    """``count`` real ALTCHA challenges of the level's size (made as ``challenge_create``
    makes them, without counting them as load)."""
    max_number = proof_of_work.max_number_at(level)
    made = [
        altcha.create_challenge_v1(
            altcha.ChallengeOptionsV1(hmac_key="bench", max_number=max_number)
        )
        for _ in range(count)
    ]
    return [{"salt": c.salt, "challenge": c.challenge, "max": max_number} for c in made]


BASE = settings.ACS_POW_MAX_NUMBER
RUNS = int(os.environ.get("POW_RUNS", "5"))


def main() -> None:
    from playwright.sync_api import sync_playwright

    load = os.getloadavg()[0]
    print(
        f"proof of work, base max_number {BASE:,}, ×{proof_of_work.LEVEL_FACTOR} a level, "
        f"{settings.ACS_POW_LEVELS} levels, {RUNS} challenges each (load average {load:.1f})"
    )
    print(f"{'level':>5} {'max_number':>12} {'mean hashes':>12} {'bot ms':>9} {'browser ms':>11}")
    with sync_playwright() as play:
        browser = play.chromium.launch(executable_path="/usr/bin/chromium")
        page = browser.new_page()
        # Web Crypto needs a secure context: an https page, served by the route itself.
        page.route("https://bench.invalid/", lambda route: route.fulfill(body="<title>pow</title>"))
        page.goto("https://bench.invalid/")
        for level in range(settings.ACS_POW_LEVELS + 1):
            bot, web, tries = [], [], []
            for item in challenges(level, RUNS):
                number, elapsed = bot_solve(item["salt"], item["challenge"], item["max"])
                bot.append(elapsed)
                tries.append(number + 1)
                found, browser_ms = page.evaluate(
                    BROWSER_SOLVER, [item["salt"], item["challenge"], item["max"]]
                )
                if found != number:
                    raise SystemExit(f"the browser found {found}, the bot {number}")
                web.append(browser_ms)
            print(
                f"{level:>5} {proof_of_work.max_number_at(level):>12,} "
                f"{statistics.mean(tries):>12,.0f} {statistics.mean(bot):>9,.0f} "
                f"{statistics.mean(web):>11,.0f}"
            )
        browser.close()


if __name__ == "__main__":
    main()
