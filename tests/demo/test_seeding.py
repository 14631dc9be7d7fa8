"""Seeding (acs/demo): the demo is made through the apps' services, once; running it again
changes nothing."""

from __future__ import annotations

import io
import json

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from acs.alerts.models import Message
from acs.demo.shipped import LIMA, post_seed, shipped_posts
from acs.demo.travellers import DEMO_DOMAIN, DEMO_TRAVELLERS
from acs.enrollment.models import Enrollee
from acs.staff import roles

pytestmark = pytest.mark.django_db


def test_the_shipped_posts_include_the_demos_post():
    assert shipped_posts()["lima"] == LIMA
    assert LIMA["time_zone"] == "America/Lima"


def test_post_seed_writes_the_post_with_its_pages_and_services_and_keeps_staff_changes(no_post):
    first = post_seed(slug="lima")
    assert first.post.regions.count() == 26
    assert first.pages == 8
    assert first.services > 0
    again = post_seed(slug="lima")
    assert (again.post.pk, again.pages, again.services) == (first.post.pk, 0, 0)


def test_demo_seed_makes_the_demo_once(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("demo_seed", stdout=io.StringIO())
    output = io.StringIO()
    call_command("demo_seed", stdout=output)

    credentials = json.loads((tmp_path / "demo-staff.json").read_text())
    assert credentials["username"] == "demo-officer"
    assert f"password:    {credentials['password']}" in output.getvalue()
    officer = User.objects.get(username="demo-officer", is_superuser=False)
    # Roles at two posts, and one held at every post (issue 12).
    held = {
        (role.post.slug if role.post else None, role.role.name)
        for role in officer.staff_roles.select_related("post", "role")
    }
    assert held == {
        ("lima", roles.POST_ADMINISTRATOR),
        ("guadalajara", roles.CONSULAR_OFFICER),
        (None, roles.NETWORK_ADMINISTRATOR),
    }
    demo_people = Enrollee.objects.filter(email__endswith=f"@{DEMO_DOMAIN}")
    assert demo_people.count() == len(DEMO_TRAVELLERS)
    crossing = demo_people.get(full_name="Alex Morgan").trips.get()
    assert {stop.region.code[:2] for stop in crossing.stops.all()} == {"PE", "MX"}
    assert Message.objects.count() == 3
    assert "Demo messages: 3" in output.getvalue()
