"""The post's figures: bookings per service per local week, no-show and lateness rates, the
next free slot per service, drawn as accessible SVG and given again as tables."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from acs.appointments import availability
from acs.appointments.constants import BookingStatus
from acs.appointments.models import Booking
from acs.appointments.services import booking_cancel, booking_create
from acs.staff import selectors
from acs.staff.charts import Axis, Chart, Series, axis_for
from tests.appointments.factories import make_service, person

pytestmark = pytest.mark.django_db

FIGURES = "/staff/figures/"
# Wednesday 20 March 2030, noon in New York. Clocks went forward on Sunday 10 March.
NOW = datetime(2030, 3, 20, 16, 0, tzinfo=UTC)


def book(service, day: date, at: time, number: int, *, now: datetime | None = None) -> Booking:
    """Book one person at a post-local day and time, as if it were done the day before."""
    starts_at = datetime.combine(day, at, tzinfo=service.post.zone).astimezone(UTC)
    return booking_create(
        service=service,
        starts_at=starts_at,
        people=[person(number)],
        email=f"p{number}@example.org",
        phone="+1 202 501 4444",
        now=now or starts_at - timedelta(days=1),
    )


def set_status(booking: Booking, status: str) -> None:
    # The door's services (check-in, late refusal, no-show sweep) are tested with the door;
    # here only the outcome matters.
    Booking.objects.filter(pk=booking.pk).update(status=status)


# Bookings per week -------------------------------------------------------------------------
def test_weeks_are_the_posts_local_weeks_across_daylight_saving(new_york):
    service = make_service(
        post=new_york, slug="all-day", seats=4, opens=time(0), closes=time(23, 30)
    )
    # Sunday 23:00 EDT and Monday 00:00 EDT: both Monday in UTC, a week apart locally.
    book(service, date(2030, 3, 10), time(23, 0), 1)
    book(service, date(2030, 3, 11), time(0, 0), 2)
    book(service, date(2030, 3, 11), time(9, 0), 3)
    cancelled = book(service, date(2030, 3, 12), time(9, 0), 4)
    booking_cancel(booking=cancelled, now=datetime(2030, 3, 1, tzinfo=UTC))

    weeks = selectors.figure_weeks(post=new_york, now=NOW)
    assert len(weeks) == 12
    assert weeks[-1] == date(2030, 3, 18)
    assert all(week.weekday() == 0 for week in weeks)
    counts = selectors.bookings_per_week(post=new_york, weeks=weeks)
    assert counts == {(service.pk, date(2030, 3, 4)): 1, (service.pk, date(2030, 3, 11)): 2}


def test_bookings_outside_the_weeks_or_of_another_post_are_not_counted(new_york, lima):
    here = make_service(post=new_york, slug="here")
    there = make_service(post=lima, slug="there")
    book(here, date(2029, 12, 3), time(9, 0), 1)  # 15 weeks before
    book(there, date(2030, 3, 18), time(9, 0), 2)
    weeks = selectors.figure_weeks(post=new_york, now=NOW)
    assert selectors.bookings_per_week(post=new_york, weeks=weeks) == {}


# Rates -------------------------------------------------------------------------------------
def test_rates_count_only_bookings_whose_time_has_passed(new_york):
    service = make_service(post=new_york, slug="rates", seats=10)
    outcomes = [
        BookingStatus.SERVED,
        BookingStatus.SERVED,
        BookingStatus.NO_SHOW,
        BookingStatus.LATE_REFUSED,
    ]
    for number, status in enumerate(outcomes):
        set_status(book(service, date(2030, 3, 18), time(9, 0), number), status)
    late = book(service, date(2030, 3, 19), time(9, 0), 10)
    booking_cancel(booking=late, now=datetime(2030, 3, 19, 1, 0, tzinfo=UTC))  # 8 hours before
    early = book(service, date(2030, 3, 19), time(9, 30), 11)
    booking_cancel(booking=early, now=datetime(2030, 3, 10, tzinfo=UTC))
    book(service, date(2030, 3, 21), time(9, 0), 12, now=NOW)  # tomorrow: not passed yet

    weeks = selectors.figure_weeks(post=new_york, now=NOW)
    found = selectors.outcomes_per_service(post=new_york, weeks=weeks, now=NOW)[service.pk]
    assert found == selectors.Outcomes(
        passed=6, expected=4, no_show=1, late_refused=1, late_cancelled=1
    )
    assert found.no_show_rate == 25
    assert found.late_refused_rate == 25
    assert found.late_cancelled_rate == pytest.approx(100 / 6)
    per_week = selectors.outcomes_per_week(post=new_york, weeks=weeks, now=NOW)
    assert per_week == {date(2030, 3, 18): found}


def test_no_bookings_give_no_rate_rather_than_zero():
    assert selectors.Outcomes().no_show_rate is None
    assert selectors.Outcomes().late_cancelled_rate is None


# Next free slot ----------------------------------------------------------------------------
def test_days_until_the_next_free_slot(new_york):
    # One seat a day at 09:00. Today's is taken, so the next free one is tomorrow.
    busy = make_service(
        post=new_york, slug="busy", seats=1, duration=60, opens=time(9), closes=time(10)
    )
    book(busy, date(2030, 3, 20), time(9, 0), 1, now=NOW - timedelta(hours=6))
    never = make_service(post=new_york, slug="never", weekdays=())
    morning = NOW.replace(hour=10)  # 06:00 in New York
    found = {
        item.service.slug: item for item in selectors.next_free_slots(post=new_york, now=morning)
    }
    assert found["busy"].days == 1
    assert found["busy"].slot.local == datetime(2030, 3, 21, 9, 0, tzinfo=new_york.zone)
    assert found["never"].days is None
    assert found["never"].slot is None
    assert never.pk == found["never"].service.pk


def test_next_free_slot_agrees_with_the_booking_pages(new_york):
    service = make_service(post=new_york, slug="agree", min_notice_hours=48)
    found = selectors.next_free_slots(post=new_york, now=NOW)[0]
    today = NOW.astimezone(new_york.zone).date()
    days = availability.slots_between(service, today, today + timedelta(days=60), now=NOW)
    first = next(slot for slots in days.values() for slot in slots)
    assert found.slot == first
    # Noon on Wednesday plus 48 hours is past Friday's 09:00–11:00: Saturday, in three days.
    assert found.days == 3


# The page ----------------------------------------------------------------------------------
@pytest.fixture
def officer(lima, staff_member):
    return staff_member("figures", permissions=["appointments.view_figures"])


def test_the_page_shows_tables_and_accessible_charts(
    lima, officer, verified_client, django_assert_max_num_queries
):
    service = make_service(post=lima, slug="passports", seats=3)
    make_service(post=lima, slug="closed-days", weekdays=())
    today = datetime.now(UTC).astimezone(lima.zone).date()
    past = today - timedelta(days=3)
    while availability.holiday_name(lima.country_code, past):
        past -= timedelta(days=1)
    for number, status in enumerate([BookingStatus.SERVED, BookingStatus.NO_SHOW]):
        set_status(book(service, past, time(9), number), status)
    browser = verified_client(officer)
    with django_assert_max_num_queries(25):
        response = browser.get(FIGURES)
    assert response.status_code == 200
    html = response.content.decode()
    # Charts: images with a title and a description, for each service and each figure.
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" role="img"') == 2 + 1 + 1
    assert '<title id="bookings-0-title">Test service</title>' in html
    assert 'aria-labelledby="rates-title rates-desc"' in html
    assert '<desc id="next-free-desc">' in html
    # The same numbers in tables.
    monday = past - timedelta(days=past.weekday())
    week = f"Week {monday.isocalendar().week}, from "
    assert week in html
    assert "<td>2</td>" in html  # two bookings that week
    assert "50.0 %" in html  # one no-show of two expected
    assert "none in horizon" in html
    assert "America/Lima" in html


def test_the_page_takes_no_post(officer, verified_client):
    assert verified_client(officer).post(FIGURES).status_code == 405


def test_the_page_without_a_post(no_post, staff_member, verified_client):
    early = staff_member("early", permissions=["appointments.view_figures"], post=None)
    browser = verified_client(early)
    response = browser.get(FIGURES)
    assert response.status_code == 200
    assert "No post is set up yet" in response.content.decode()


# The charts --------------------------------------------------------------------------------
def test_charts_escape_names_and_show_the_same_numbers_as_their_table():
    chart = Chart(
        slug="demo",
        kind="bar",
        title="Bookings <b>",
        description="What & why",
        category_heading="Week",
        categories=["Week 1", "Week 2"],
        series=[Series(name="<script>", values=[3, 0]), Series(name="B", values=[None, 1.5])],
    )
    svg = str(chart.svg)
    assert svg.startswith("<svg ")
    assert 'role="img"' in svg
    assert '<title id="demo-title">Bookings &lt;b&gt;</title>' in svg
    assert '<desc id="demo-desc">What &amp; why</desc>' in svg
    assert "<script>" not in svg
    assert "style=" not in svg  # the CSP refuses inline styles
    assert chart.rows == [
        {"label": "Week 1", "values": ["3", "–"]},
        {"label": "Week 2", "values": ["0", "1.5"]},
    ]
    # Three bars (a zero is a bar of no height, None is none) and the second series' square
    # legend marker; the first series' marker is a circle.
    assert svg.count("<rect") == 3 + 1
    assert svg.count("<circle") == 1


def test_line_charts_leave_gaps_where_there_is_nothing_to_measure():
    chart = Chart(
        slug="rates",
        kind="line",
        title="Rates",
        description="Rates",
        category_heading="Week",
        categories=["1", "2", "3", "4", "5"],
        series=[Series(name="No-shows", values=[10.0, 20.0, None, 30.0, 40.0])],
        percent=True,
    )
    svg = str(chart.svg)
    assert svg.count("<polyline") == 2  # weeks 1–2 and 4–5, not across the gap
    assert svg.count("<circle") == 4
    assert ">50 %</text>" in svg  # rates up to 40 % are drawn on a 0–50 % scale
    assert chart.rows[0]["values"] == ["10.0 %"]


def test_small_multiples_share_one_scale():
    chart = Chart(
        slug="m",
        kind="bar",
        title="T",
        description="D",
        category_heading="Week",
        categories=["a"],
        series=[Series(name="Big", values=[40]), Series(name="Small", values=[4])],
    )
    big, small = (str(panel["svg"]) for panel in chart.panels)
    assert ">40</text>" in big
    assert ">40</text>" in small


@pytest.mark.parametrize(
    ("values", "top", "step"),
    [
        ([], 1, 1),
        ([0], 1, 1),
        ([1], 1, 1),  # whole numbers get whole-number ticks
        ([3], 3, 1),
        ([7], 8, 2),
        ([16], 20, 5),
        ([240], 300, 100),
        ([1.5], 1.5, 0.5),
    ],
)
def test_axes_have_round_ticks(values, top, step):
    assert axis_for(values) == Axis(top=top, step=step)


@pytest.mark.parametrize(
    ("highest", "ticks"),
    [
        (3.0, [0, 5, 10, 15, 20, 25]),
        (40.0, [0, 10, 20, 30, 40, 50]),
        (60.0, [0, 25, 50, 75, 100]),
    ],
)
def test_rate_axes_run_to_25_50_or_100_percent(highest, ticks):
    assert axis_for([highest], percent=True).ticks == ticks
