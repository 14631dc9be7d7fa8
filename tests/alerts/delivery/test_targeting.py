"""Who gets a delivery row when a message is published (``services.deliveries_create``)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from acs.alerts.constants import Channel, DeliveryStatus
from acs.alerts.models import Delivery, Message
from acs.alerts.services.outbox import deliveries_write_all
from acs.enrollment.services.profile import (
    KindChoice,
    PhoneData,
    enrollee_delete,
    phones_set,
    preferences_set,
)
from acs.enrollment.services.trips import residence_set, trip_add
from tests.alerts.delivery.conftest import day_start
from tests.enrollment import factories

pytestmark = pytest.mark.django_db


def reached(message) -> set[int]:
    return set(Delivery.objects.filter(message=message).values_list("enrollee_id", flat=True))


def test_a_trip_that_ended_the_day_before_the_message_is_not_reached(lima, publish):
    # The message covers days 5 to 7 (the post's calendar).
    gone, still_there = factories.verified_enrollee(lima), factories.verified_enrollee(lima)
    factories.trip(gone, "PE-CUS", arrival=1, departure=4)
    factories.trip(still_there, "PE-CUS", arrival=1, departure=5)
    message = publish(effective_from=day_start(lima, 5), effective_until=day_start(lima, 8))
    assert reached(message) == {still_there.pk}


def test_a_residence_in_a_neighbouring_region_is_not_reached(lima, publish):
    neighbour, local = factories.verified_enrollee(lima), factories.verified_enrollee(lima)
    residence_set(enrollee=neighbour, region=factories.region(lima, "PE-APU"))  # next to Cusco
    residence_set(enrollee=local, region=factories.region(lima, "PE-CUS"))
    assert reached(publish()) == {local.pk}


def test_an_opted_out_kind_is_not_sent_and_the_others_are(lima, publish, in_cusco):
    opted_out, default = in_cusco(), in_cusco()
    preferences_set(enrollee=opted_out, choices={"security": KindChoice(email=False)})
    assert reached(publish(kind="security")) == {default.pk}
    assert reached(publish(kind="emergency")) == {opted_out.pk, default.pk}


def test_a_deleted_account_gets_nothing(lima, publish, in_cusco):
    deleted, kept = in_cusco(), in_cusco()
    enrollee_delete(enrollee=deleted)
    assert reached(publish()) == {kept.pk}


def test_one_row_per_person_however_many_trips_match(lima, publish):
    person = factories.verified_enrollee(lima)
    factories.trip(person, "PE-CUS", arrival=0, departure=0)
    factories.trip(person, "PE-CUS", "PE-PUN", arrival=1, departure=3)
    residence_set(enrollee=person, region=factories.region(lima, "PE-CUS"))
    message = publish()
    assert Delivery.objects.filter(message=message).count() == 1
    assert reached(message) == {person.pk}


def test_companions_are_reached_through_their_enrollee_not_as_recipients(lima, publish):
    person = factories.verified_enrollee(lima)
    start = factories.today(lima)
    trip_add(
        enrollee=person,
        arrival=start,
        departure=start + timedelta(days=3),
        stops=[(factories.region(lima, "PE-CUS"), "")],
        companions=[("Child One", date(2015, 3, 1)), ("Child Two", date(2017, 8, 9))],
    )
    message = publish()
    rows = list(Delivery.objects.filter(message=message))
    assert [(row.enrollee_id, row.address) for row in rows] == [(person.pk, person.email)]


def test_texts_only_for_those_who_asked_with_a_phone_that_takes_them(lima, publish, in_cusco):
    texter, emailer = in_cusco(language="es"), in_cusco()
    phones_set(
        enrollee=texter,
        phones=[PhoneData(public_id=None, number="+51987654321", sms_capable=True)],
    )
    preferences_set(enrollee=texter, choices={"security": KindChoice(email=True, sms=True)})
    message = publish()
    rows = sorted(
        Delivery.objects.filter(message=message).values_list(
            "enrollee_id", "channel", "address", "language"
        )
    )
    assert rows == sorted(
        [
            (texter.pk, Channel.EMAIL, texter.email, "es"),
            (texter.pk, Channel.SMS, "+51987654321", "es"),
            (emailer.pk, Channel.EMAIL, emailer.email, "en"),
        ]
    )


def test_digest_subscribers_get_a_row_for_the_digest(lima, publish, in_cusco):
    digest, now = in_cusco(), in_cusco()
    preferences_set(
        enrollee=digest, choices={"security": KindChoice(email=True, delivery="digest")}
    )
    message = publish()
    statuses = dict(Delivery.objects.filter(message=message).values_list("enrollee", "status"))
    assert statuses == {digest.pk: DeliveryStatus.DIGEST, now.pk: DeliveryStatus.QUEUED}


def test_writing_the_rows_again_adds_nobody_twice(lima, publish, in_cusco):
    in_cusco(), in_cusco()
    message = publish()
    before = reached(message)
    late = in_cusco()
    # The fan-out run again from its start (as a second chain would): only the new person.
    Message.objects.filter(pk=message.pk).update(fanout_cursor=0, fanout_done_at=None)
    assert deliveries_write_all(message_id=message.pk) == 3
    assert reached(message) == {*before, late.pk}
