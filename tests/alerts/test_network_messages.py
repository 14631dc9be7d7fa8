"""A network message (issue 12): a duty officer at headquarters addresses one message to
several posts' enrollees (a worldwide caution), with the same two-person approval. It is
published on each post's pages and reaches each post's whole district, and nobody else."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from acs.alerts import services
from acs.alerts.models import Delivery, Message
from acs.alerts.services import outbox
from acs.core import pagecache
from acs.posts.services import post_create
from acs.staff import roles
from acs.staff.services import roles_sync, staff_user_create
from tests.alerts.conftest import message_fields
from tests.enrollment import factories
from tests.staff.conftest import permissions_give, roles_give

pytestmark = pytest.mark.django_db


@pytest.fixture
def madrid(lima):
    return post_create(
        slug="madrid-test",
        name="U.S. Embassy Madrid",
        city="Madrid",
        country_code="ES",
        time_zone="Europe/Madrid",
        street_address="Calle de Serrano 75",
        main_phone="+34 91 587 2200",
        emergency_phone="+34 91 587 2200",
    )


def _duty(username: str):
    roles_sync()
    user = staff_user_create(username=username, email=f"{username}@example.org").user
    roles_give(user, [roles.NETWORK_DUTY_OFFICER], None)
    return user


def _caution(post, **overrides) -> dict:
    """A security message for the post's whole district, in effect now."""
    now = timezone.now().replace(microsecond=0)
    return {
        **message_fields(
            post,
            kind="security",
            title_en="Worldwide caution",
            title_es="Precaución mundial",
            effective_from=now - timedelta(hours=1),
            effective_until=now + timedelta(days=3),
        ),
        "whole_country": True,
        "regions": [],
        **overrides,
    }


def _resident(post, code: str, name: str):
    person = factories.verified_enrollee(post, full_name=name)
    factories.trip(person, code, arrival=0, departure=4)
    return person


def test_a_network_message_reaches_each_addressed_district_and_no_other(lima, quito, madrid):
    in_lima = _resident(lima, "PE-LIM", "In Lima")
    in_quito = _resident(quito, "EC-P", "In Quito")
    in_madrid = _resident(madrid, "ES-MD", "In Madrid")
    writer, approver = _duty("duty-writer"), _duty("duty-approver")
    message = services.message_draft_create(
        post=lima, actor=writer, **_caution(lima, network_posts=[quito])
    )
    assert list(message.network_posts.all()) == [quito]
    # The same two-person rule: the writer cannot approve it.
    with pytest.raises(ValidationError, match="Nobody approves their own draft"):
        services.message_approve(message=message, actor=writer)
    services.message_approve(message=message, actor=approver)
    services.message_publish(message=message, actor=approver)
    outbox.deliveries_write_all(message_id=message.pk)
    reached = set(Delivery.objects.filter(message=message).values_list("enrollee_id", flat=True))
    assert reached == {in_lima.pk, in_quito.pk}
    assert in_madrid.pk not in reached


def test_an_ordinary_message_of_lima_never_reaches_another_district(lima, quito):
    _resident(quito, "EC-P", "In Quito")
    writer, approver = _duty("duty-writer"), _duty("duty-approver")
    message = services.message_draft_create(post=lima, actor=writer, **_caution(lima))
    services.message_approve(message=message, actor=approver)
    services.message_publish(message=message, actor=approver)
    outbox.deliveries_write_all(message_id=message.pk)
    assert not Delivery.objects.filter(message=message).exists()


def test_only_a_network_role_addresses_other_posts(lima, quito):
    local = staff_user_create(username="local", email="local@example.org").user
    permissions_give(local, ["alerts.view_message", "alerts.draft_message"])
    with pytest.raises(ValidationError, match="Only a network role"):
        services.message_draft_create(
            post=lima, actor=local, **_caution(lima, network_posts=[quito])
        )
    assert not Message.objects.exists()
    # An approver of Lima alone cannot approve one either.
    writer = _duty("duty-writer")
    message = services.message_draft_create(
        post=lima, actor=writer, **_caution(lima, network_posts=[quito])
    )
    approver = staff_user_create(username="approver", email="a@example.org").user
    permissions_give(approver, ["alerts.view_message", "alerts.approve_message"])
    with pytest.raises(ValidationError, match="Only a network role"):
        services.message_approve(message=message, actor=approver)


def test_a_network_message_covers_whole_districts_and_is_never_sent_alone(lima, quito):
    writer = _duty("duty-writer")
    cusco = lima.regions.get(code="PE-CUS")
    with pytest.raises(ValidationError, match="whole district"):
        services.message_draft_create(
            post=lima,
            actor=writer,
            **_caution(lima, whole_country=False, regions=[cusco], network_posts=[quito]),
        )
    message = services.message_draft_create(
        post=lima, actor=writer, **_caution(lima, network_posts=[quito])
    )
    officer = staff_user_create(username="officer", email="o@example.org").user
    every = ["alerts.view_message", "alerts.send_emergency_alone", services.NETWORK_PERMISSION]
    permissions_give(officer, every)
    with pytest.raises(ValidationError, match="second person"):
        services.message_send_alone(
            message=message, actor=officer, reason="The bridge is out and people are stranded."
        )


def test_the_message_shows_on_every_addressed_posts_page_at_once(client, lima, quito, madrid):
    writer, approver = _duty("duty-writer"), _duty("duty-approver")
    for path in ("/en/quito/messages/", "/en/madrid-test/messages/"):
        assert "Worldwide caution" not in client.get(path).content.decode()  # cached now
    message = services.message_draft_create(
        post=lima, actor=writer, **_caution(lima, network_posts=[quito])
    )
    services.message_approve(message=message, actor=approver)
    services.message_publish(message=message, actor=approver)
    pagecache.stamps_forget()  # what a second passing does in a running process
    assert "Worldwide caution" in client.get("/en/lima/messages/").content.decode()
    assert "Worldwide caution" in client.get("/en/quito/messages/").content.decode()
    assert "Worldwide caution" not in client.get("/en/madrid-test/messages/").content.decode()
    page = client.get(f"/en/quito/messages/{message.public_id}/")
    assert page.status_code == 200
