"""A few made-up enrolled travellers and residents, so that the staff pages and the demo
messages have someone to count and reach."""

from __future__ import annotations

import secrets
from datetime import date, timedelta

from acs.core import clock
from acs.enrollment.models import Enrollee
from acs.enrollment.services.accounts import email_verify, enrollee_create
from acs.enrollment.services.trips import residence_set, trip_add
from acs.posts.models import Post, Region

DEMO_DOMAIN = "demo.example.org"

# (name, region codes of a trip or "home:<code>", days from today of arrival and departure).
DEMO_TRAVELLERS = [
    ("Jordan Avery", ["PE-CUS"], (-2, 6)),
    ("Maria Lopez", ["PE-CUS", "PE-PUN"], (1, 10)),
    ("Sam Whitaker", ["PE-ARE"], (0, 3)),
    ("Priya Raman", ["home:PE-LIM"], None),
    ("Daniel Okafor", ["PE-LOR"], (5, 12)),
    ("Grace Kim", ["home:PE-CUS"], None),
    ("Luis Fernández", ["PE-LMA", "PE-ICA"], (-1, 2)),
    ("Emily Carter", ["home:PE-ARE"], None),
    # One account, a trip across two countries: Lima's district, then Mexico City's and
    # Guadalajara's (the demo network's posts; left out where they are not seeded).
    ("Alex Morgan", ["PE-LIM", "MX-CMX", "MX-JAL"], (2, 9)),
]


def demo_travellers_seed(*, post: Post) -> int:
    """Enroll the demo travellers once (nothing when the post has some already). Their
    passwords are random and not kept: to try the citizen pages, enroll yourself. Returns
    how many there are."""
    existing = Enrollee.objects.filter(email__endswith=f"@{DEMO_DOMAIN}")
    if existing.exists():
        return existing.count()
    today = clock.today(post)
    known = dict(Region.objects.values_list("code", "pk"))
    count = 0
    for number, (name, places, days) in enumerate(DEMO_TRAVELLERS, start=1):
        codes = [place.removeprefix("home:") for place in places]
        if not all(code in known for code in codes):
            continue  # a post of the demo network that is not there
        count += 1
        person = enrollee_create(
            post=post,
            email=f"traveller{number}@{DEMO_DOMAIN}",
            password=secrets.token_urlsafe(24),
            full_name=name,
            date_of_birth=date(1970 + number * 3, number, 10 + number),
        )
        email_verify(enrollee=person)
        if places[0].startswith("home:"):
            residence_set(enrollee=person, region=Region.objects.get(code=codes[0]))
            continue
        arrival, departure = (today + timedelta(days=offset) for offset in days)
        trip_add(
            enrollee=person,
            arrival=arrival,
            departure=departure,
            stops=[(Region.objects.get(code=code), "") for code in codes],
            purpose="Tourism",
        )
    return count
