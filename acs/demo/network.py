"""The demo's other posts: a small consular network around Lima.

Three more posts in two more countries: an embassy and a consulate in Mexico that split its
states (the consulate's district is listed; the embassy serves the rest), and an embassy in
Madrid, whose zone changes its clocks. Their pages come from the neutral page template and
their services from Lima's, leaving out those that speak of Peru. Their addresses and phone
numbers are illustrative, for the demo only: check a real post's details with the post
before loading it in production.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from acs.appointments.services import services_seed
from acs.content.services import pages_seed
from acs.demo.shipped import SERVICES_DIR
from acs.posts.models import Post
from acs.posts.services import post_create

# Lima's services that fit any post (the others name Peru's documents and police).
_ANY_POST_SERVICES = ("passport-renewal", "first-or-minor-passport", "notarial", "federal-benefits")

DEMO_POSTS = [
    {
        "slug": "mexico-city",
        "name": "U.S. Embassy Mexico City",
        "name_es": "Embajada de los Estados Unidos en Ciudad de México",
        "city": "Mexico City",
        "country_code": "MX",
        "time_zone": "America/Mexico_City",
        "street_address": "Demo address\nCiudad de México\nMexico",
        "main_phone": "+52 55 5080 2000",
        "emergency_phone": "+52 55 5080 2000",
        "opening_hours": "Monday to Friday, by appointment only",
        "opening_hours_es": "De lunes a viernes, solo con cita previa",
    },
    {
        "slug": "guadalajara",
        "name": "U.S. Consulate General Guadalajara",
        "name_es": "Consulado General de los Estados Unidos en Guadalajara",
        "city": "Guadalajara",
        "country_code": "MX",
        "time_zone": "America/Mexico_City",
        "street_address": "Demo address\nGuadalajara, Jalisco\nMexico",
        "main_phone": "+52 33 3268 2100",
        "emergency_phone": "+52 33 3268 2100",
        "opening_hours": "Monday to Friday, by appointment only",
        "opening_hours_es": "De lunes a viernes, solo con cita previa",
        # Jalisco and its neighbours; the embassy serves every other state.
        "district": ["MX-JAL", "MX-NAY", "MX-COL", "MX-AGU"],
    },
    {
        "slug": "madrid",
        "name": "U.S. Embassy Madrid",
        "name_es": "Embajada de los Estados Unidos en Madrid",
        "city": "Madrid",
        "country_code": "ES",
        "time_zone": "Europe/Madrid",
        "street_address": "Demo address\nMadrid\nSpain",
        "main_phone": "+34 91 587 2200",
        "emergency_phone": "+34 91 587 2200",
        "opening_hours": "Monday to Friday, by appointment only",
        "opening_hours_es": "De lunes a viernes, solo con cita previa",
    },
]


@dataclass(frozen=True)
class NetworkSeeded:
    posts: list[Post]
    pages: int  # written now (pages staff edited stay)
    services: int  # created now (existing services stay)


def demo_network_seed() -> NetworkSeeded:
    """Create or refresh the demo's other posts, with their districts, pages and services.
    Safe to repeat: the posts are updated, and what staff changed stays."""
    lima_services = json.loads((SERVICES_DIR / "lima.json").read_text())
    entries = [entry for entry in lima_services if entry["slug"] in _ANY_POST_SERVICES]
    posts, pages, services = [], 0, 0
    for details in DEMO_POSTS:
        post = post_create(**details)
        pages += pages_seed(post=post, template="neutral")
        services += services_seed(post=post, entries=entries)
        posts.append(post)
    return NetworkSeeded(posts=posts, pages=pages, services=services)
