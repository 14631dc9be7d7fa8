"""One citizen can never reach another's records: every URL of the ``enrollment`` namespace
that takes an id or a token, tried with another account's ids and tokens, is a 404.

The routes are read from the URLconf, so a new one is tested the day it is added; a new
kind of id makes the test fail until it is taught where to find one.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import StringConverter, UUIDConverter

from acs.enrollment.identity import tokens
from acs.enrollment.models import Companion, EmergencyContact, Phone, Trip
from acs.enrollment.services import profile as profile_services
from acs.enrollment.services import retention
from acs.enrollment.services.trips import residence_set, trip_add
from tests.enrollment.factories import today, verified_enrollee
from tests.enrollment.selfservice import signed_in

# The token each token route reads, by route name. A route's own kind of token for another
# account is left out on purpose: such a link is a bearer credential (it works for whoever
# holds it, under any post's address, since one account serves every post), which is what
# it is for; isolation is about everything else.
TOKEN_KIND = {
    "verify": "verify",
    "sign-in-link-use": "sign-in",
    "password-reset": "reset",
    "residence-keep": "keep",
}


def _routes() -> list[tuple[str, URLPattern]]:
    """(name, pattern) of every route of the enrollment namespace with a parameter."""
    _prefix, resolver = get_resolver().namespace_dict["enrollment"]
    found = []

    def walk(patterns) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns)
            elif getattr(pattern.pattern, "converters", None):
                found.append((pattern.name, pattern))

    walk(resolver.url_patterns)
    return found


def test_the_routes_with_ids_are_found():
    names = {name for name, _pattern in _routes()}
    assert {"trip", "trip-end", "trip-delete", "contact", "contact-delete"} <= names
    assert {"verify", "sign-in-link-use", "password-reset"} <= names


def _records(person):
    """One record of each kind that has a public id, belonging to ``person``."""
    post = person.post
    trip = trip_add(
        enrollee=person,
        arrival=today(post),
        departure=today(post) + timedelta(days=4),
        stops=[(post.regions.order_by("id").first(), "")],
        companions=[("Someone Else", date(2010, 1, 1))],
    )
    profile_services.phones_set(
        enrollee=person, phones=[profile_services.PhoneData(None, "+51987654321")]
    )
    contact = profile_services.contact_add(
        enrollee=person, name="Their Contact", phone="+51987654322"
    )
    return {
        "trip": trip.public_id,
        "companion": trip.companions.get().public_id,
        "phone": person.phones.get().public_id,
        "contact": contact.public_id,
    }


def _tokens(person) -> dict[str, str]:
    home = residence_set(enrollee=person, region=person.post.regions.order_by("id").first())
    return {
        "verify": tokens.verify_email(person),
        "sign-in": tokens.sign_in_link(person),
        "reset": tokens.password_reset(person),
        "keep": retention.residence_keep_token(home),
    }


def _values(name: str, parameter: str, converter, ids, same_post_tokens, far_tokens):
    """The values to try for one parameter of route ``name``."""
    if isinstance(converter, UUIDConverter):
        if parameter not in ids:
            pytest.fail(
                f"route {name!r} takes a {parameter!r} id: add a record of that kind to _records"
            )
        return [ids[parameter], uuid.uuid4()]
    assert isinstance(converter, StringConverter), f"{name}: a new kind of parameter"
    own_kind = TOKEN_KIND.get(name)
    values = [token for kind, token in same_post_tokens.items() if kind != own_kind]
    far = [token for kind, token in far_tokens.items() if kind != own_kind]
    return [*values, *far, "not-a-token", ids["trip"].hex]


@pytest.fixture
def setting(lima, new_york):
    me = verified_enrollee(lima)
    _records(me)
    other = verified_enrollee(lima)
    far = verified_enrollee(new_york)  # an account opened at another post
    ids = _records(other)
    return {
        "browser": signed_in(me),
        "me": me,
        "ids": ids,
        "same_post_tokens": _tokens(other),
        "far_tokens": _tokens(far),
    }


def test_every_citizen_url_with_another_accounts_ids_or_tokens_is_a_404(setting):
    browser = setting["browser"]
    # The same session without the page checks: Django's bare 405 page has no title.
    poster = Client()
    poster.cookies = browser.cookies
    before = {
        model.__name__: sorted(model.objects.values_list("pk", flat=True))
        for model in (Trip, Companion, Phone, EmergencyContact)
    }
    tried = 0
    for name, pattern in _routes():
        parameters = pattern.pattern.converters
        assert len(parameters) == 1, f"{name}: teach this test routes with two parameters"
        [(parameter, converter)] = parameters.items()
        for value in _values(
            name,
            parameter,
            converter,
            setting["ids"],
            setting["same_post_tokens"],
            setting["far_tokens"],
        ):
            url = reverse(f"enrollment:{name}", kwargs={parameter: value})
            got = browser.get(url)
            assert got.status_code == 404, f"GET {url} ({name}): {got.status_code}"
            posted = poster.post(url, {"arrival": "2030-01-01", "name": "x"})
            # 405: a route that takes no POST at all refuses it before it looks at anything.
            assert posted.status_code in (404, 405), f"POST {url}: {posted.status_code}"
            tried += 1
    assert tried >= 15
    after = {
        model.__name__: sorted(model.objects.values_list("pk", flat=True))
        for model in (Trip, Companion, Phone, EmergencyContact)
    }
    assert after == before  # nothing of anyone's changed


def test_my_own_ids_do_work(setting):
    """The control: the same walk with the signed-in person's own trip reaches it."""
    browser, me = setting["browser"], setting["me"]
    mine = me.trips.get()
    for name in ("trip", "trip-end", "trip-delete"):
        assert (
            browser.get(reverse(f"enrollment:{name}", kwargs={"trip": mine.public_id})).status_code
            == 200
        )
    contact = me.emergency_contacts.get()
    for name in ("contact", "contact-delete"):
        url = reverse(f"enrollment:{name}", kwargs={"contact": contact.public_id})
        assert browser.get(url).status_code == 200


def test_hidden_ids_of_another_account_change_nothing(setting):
    """The phones form carries its rows' ids: another account's id is refused, plainly."""
    browser, other_phone = setting["browser"], setting["ids"]["phone"]
    data = {
        "phones-TOTAL_FORMS": "1",
        "phones-INITIAL_FORMS": "1",
        "phones-0-public_id": str(other_phone),
        "phones-0-number": "+51911111111",
        "phones-0-kind": "mobile",
    }
    response = browser.post(reverse("enrollment:phones"), data)
    assert response.status_code == 400
    assert Phone.objects.get(public_id=other_phone).number == "+51987654321"
    assert setting["me"].phones.get().number == "+51987654321"  # mine is untouched too
