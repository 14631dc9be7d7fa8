"""A flood of welfare answers: everyone answers at once, some twice, none is lost or doubled."""

from __future__ import annotations

import pytest

from acs.alerts.constants import WelfareAnswer
from acs.alerts.models import Delivery, WelfareResponse
from acs.alerts.services import outbox
from tests.alerts.delivery.conftest import in_cusco, publish  # noqa: F401 — fixtures
from tests.concurrency.conftest import in_threads

pytestmark = pytest.mark.django_db(transaction=True)

PEOPLE = 6
TAPS = 4  # each person's answers, sent at the same moment


def test_simultaneous_answers_leave_one_answer_per_person(publish, in_cusco):  # noqa: F811
    for _ in range(PEOPLE):
        in_cusco()
    message = publish(kind="emergency")
    rows = list(Delivery.objects.select_related("message").filter(message=message))
    assert len(rows) == PEOPLE

    def tap(number: int) -> None:
        row = rows[number % PEOPLE]
        # Each person's last tap (the highest numbers) says "help"; the others "safe".
        answer = WelfareAnswer.NEED_HELP if number >= PEOPLE * (TAPS - 1) else WelfareAnswer.SAFE
        outbox.welfare_answer(delivery=row, answer=answer)

    results = in_threads(tap, PEOPLE * TAPS)

    assert [result for result in results if isinstance(result, Exception)] == []
    answers = WelfareResponse.objects.values_list("delivery_id", flat=True)
    assert sorted(answers) == sorted(row.pk for row in rows)  # one per person, none lost
