"""A network role's staff pages (issue 12): the message form offers other posts only to it."""

from __future__ import annotations

import pytest

from acs.staff import roles
from acs.staff.services import roles_sync
from tests.staff.conftest import roles_give

pytestmark = pytest.mark.django_db


def test_the_form_offers_other_posts_only_to_a_network_role(
    lima, quito, staff_member, verified_client
):
    roles_sync()
    local = verified_client(staff_member("local-writer", groups=[roles.COMMUNICATIONS]))
    assert "Also for these posts" not in local.get("/staff/messages/new/").content.decode()
    duty = staff_member("duty-desk")
    roles_give(duty.user, [roles.NETWORK_DUTY_OFFICER], None)
    browser = verified_client(duty)
    browser.post("/staff/post/", {"post": lima.slug})
    page = browser.get("/staff/messages/new/").content.decode()
    assert "Also for these posts" in page and quito.display_name in page
