"""One traveler across a consular network (issue 12): an embassy in Mexico City and a
consulate in Guadalajara split Mexico (Jalisco is the consulate's), Lima serves Peru.

On a 360 px phone, in English and in Spanish, the traveler finds the consulate from
``/<lang>/`` with the search box (typing "Mexico" without its accent, as people do), books
an appointment there through the real booking pages (the proof of work solved in Chromium),
opens an account through the consulate's enrollment pages, confirms it with the link in the
email the site wrote, and adds a trip that stops in Lima (Peru) and in Jalisco (Mexico),
choosing each region under its country in the trip form's grouped select.

On a desktop, an officer of the embassy signs in (password and TOTP) and does not find the
booking: not on the day's list, a 404 for its page, and no switching to the consulate they
hold no role at. The consulate's officer finds it on the day's list and opens it. (Staff pages
have no language prefix: they are in English in both runs.)

Then four posts' messages are published through the services, each drafted by one person and
approved and sent by another: the consulate's for Jalisco and Lima's for Lima reach the
traveler (one stop each, whichever post opened the account); Lima's for Cusco and the
embassy's for Mexico City do not, while each reaches the bystander who is there. Sending runs
eagerly inside the live server, so the emails are on disk when publishing returns.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import translation
from playwright.sync_api import Browser, Page, expect

from acs.alerts import services as alerts
from acs.alerts.constants import KIND_TITLES, MessageKind, MessageStatus
from acs.alerts.models import Delivery, Message
from acs.alerts.services.outbox import deliveries_write_all
from acs.appointments.constants import BookingStatus
from acs.appointments.models import Booking, Service
from acs.demo.network import demo_network_seed
from acs.enrollment.models import Enrollee, Trip
from acs.posts.models import Post, Region
from acs.staff import roles
from acs.staff.services import StaffCredentials, roles_sync, staff_user_create
from tests.alerts.conftest import message_fields
from tests.appointments.factories import make_service
from tests.browser.conftest import DESKTOP, _page
from tests.browser.journey import check_page, mail_files, new_mail, read_mail, submit, text_body
from tests.browser.test_booking_journey import pick_day, pick_first_time
from tests.browser.test_enrollment_journey import fill_date_of_birth, tap_choice
from tests.browser.test_messages_journey import sign_in
from tests.enrollment import factories
from tests.staff.conftest import roles_give

pytestmark = pytest.mark.browser

SLUG = "network-journey"
TRAVELER = {
    "full_name": "Ana María Núñez Pérez",
    "born": (19, 1, 1990),  # (day, month, year)
    "passport": "123456789",
    "email": "ana.nunez@example.org",
    "phone": "+52 33 1234 5678",
    "password": "quinoa-llama-river-1907",
}
# The trip crosses a border: Lima (Lima's district), then Jalisco (the consulate's).
STOPS = [("PE-LIM", "Miraflores"), ("MX-JAL", "Tlaquepaque")]
# The countries as each language names them (the trip form's groups, the list's headings).
COUNTRIES = {
    "en": {"MX": "Mexico", "PE": "Peru", "ES": "Spain"},
    "es": {"MX": "México", "PE": "Perú", "ES": "España"},
}


# Fixtures -------------------------------------------------------------------------------------
@pytest.fixture
def mail_dir(mail_dir, settings):
    """conftest's mail folder (.eml files, links to the live server), and the real proof of
    work on the review page."""
    settings.ACS_POW_ENABLED = True
    return mail_dir


@pytest.fixture
def network(site) -> dict[str, Post]:
    """The demo's network (Lima, Mexico City, Guadalajara, Madrid), and at the consulate a
    service open every day, 09:00–11:00, bookable without notice."""
    demo_network_seed()
    posts = {post.slug: post for post in Post.objects.all()}
    make_service(post=posts["guadalajara"], slug=SLUG, min_notice_hours=0)
    return posts


def _staff(username: str, grants: list[tuple[str, Post]]) -> StaffCredentials:
    creds = staff_user_create(username=username, email=f"{username}@example.org")
    for role, post in grants:
        roles_give(creds.user, [role], post)
    return creds


@pytest.fixture
def staff(network) -> dict[str, StaffCredentials]:
    """An officer at the embassy only, an officer at the consulate only, an approver at Lima,
    and one writer who drafts at the three posts (the officers and the approver send)."""
    roles_sync()
    lima, embassy, consulate = (network[s] for s in ("lima", "mexico-city", "guadalajara"))
    return {
        "embassy": _staff("embassy-officer", [(roles.CONSULAR_OFFICER, embassy)]),
        "consulate": _staff("consulate-officer", [(roles.CONSULAR_OFFICER, consulate)]),
        "lima": _staff("lima-approver", [(roles.APPROVER, lima)]),
        "writer": _staff(
            "network-writer", [(roles.COMMUNICATIONS, post) for post in (lima, embassy, consulate)]
        ),
    }


@pytest.fixture
def second_desktop(browser: Browser) -> Iterator[Page]:
    yield from _page(browser, DESKTOP)


# Helpers --------------------------------------------------------------------------------------
def publish(post: Post, code: str, writer: StaffCredentials, sender: StaffCredentials) -> Message:
    """A security alert (every enrollee gets those unless they opted out) for the region
    ``code`` of ``post``: drafted by ``writer``, approved and sent by ``sender``."""
    now = datetime.now(post.zone).replace(microsecond=0)
    fields = message_fields(
        Post.objects.get(slug="lima"),  # Lima's text; the area is ``code``
        regions=[Region.objects.get(code=code)],
        effective_from=now - timedelta(hours=1),
        effective_until=now + timedelta(days=5),
        title_en=f"Road blocks in {code}",
        title_es=f"Bloqueos en {code}",
    )
    drafter = User.objects.get(pk=writer.user.pk)  # no permission cache from before the grant
    approver = User.objects.get(pk=sender.user.pk)
    message = alerts.message_draft_create(post=post, actor=drafter, **fields)
    alerts.message_approve(message=message, actor=approver)
    message = alerts.message_publish(message=message, actor=approver).message
    assert message.status == MessageStatus.PUBLISHED
    return message


def addresses(message: Message) -> set[str]:
    """Who the message reaches: its delivery rows, all of them written."""
    deliveries_write_all(message_id=message.pk)  # a no-op when the fan-out already ran
    return set(Delivery.objects.filter(message=message).values_list("address", flat=True))


def subject_of(code: str, language: str) -> str:
    with translation.override(language):
        kind = str(KIND_TITLES[MessageKind.SECURITY])
    title = f"Road blocks in {code}" if language == "en" else f"Bloqueos en {code}"
    return f"{kind}: {title}"


# The journey ----------------------------------------------------------------------------------
@pytest.mark.parametrize("language", ["en", "es"])
def test_find_the_consulate_book_enroll_across_borders_and_reach_only_its_district(
    site,
    mail_dir,
    network,
    staff,
    language,
    phone,
    desktop,
    second_desktop,
    axe_check,
    assert_console_clean,
):
    consulate, embassy, lima = (network[s] for s in ("guadalajara", "mexico-city", "lima"))
    service = Service.objects.get(post=consulate, slug=SLUG)
    today = factories.today(consulate)
    countries = COUNTRIES[language]
    page = phone

    def shown(post: Post) -> str:
        return post.name_es if language == "es" else post.name

    # 1. /<lang>/: the search box finds Mexico's two posts (typed without its accent, as
    # people do); the traveler takes the consulate ------------------------------------------
    response = page.goto(f"{site}/{language}/")
    assert response is not None and response.status == 200
    check_page(page, axe_check, assert_console_clean)
    page.locator("#post-search").fill("Mexico")
    submit(page, page.locator("main form[role=search] button[type=submit]"))
    assert page.url == f"{site}/{language}/?q=Mexico", page.url
    expect(page.locator("main h2")).to_have_text([countries["MX"]])
    listed = page.locator("main ul.usa-list a")
    expect(listed).to_have_text([shown(consulate), shown(embassy)])  # by city
    check_page(page, axe_check, assert_console_clean)
    submit(page, listed.filter(has_text=shown(consulate)))
    assert page.url == f"{site}/{language}/guadalajara/", page.url
    expect(page.locator(".usa-logo")).to_contain_text(shown(consulate))
    check_page(page, axe_check, assert_console_clean, first_h1=True)

    # 2. The consulate's appointments page, then the real booking pages ----------------------
    submit(page, page.locator(f'main a[href="/{language}/guadalajara/appointments/"]').first)
    check_page(page, axe_check, assert_console_clean)
    submit(page, page.locator(f'main a[href="/{language}/guadalajara/appointments/{SLUG}/"]'))
    boxes = page.locator('input.usa-checkbox__input[type="checkbox"]')
    for index in range(boxes.count()):
        page.locator(f'label[for="{boxes.nth(index).get_attribute("id")}"]').click()
    submit(page, page.locator("main form button[type=submit]"))
    assert page.url.startswith(f"{site}/{language}/guadalajara/appointments/{SLUG}/when/"), page.url
    day = pick_day(page, today + timedelta(days=2))
    starts_at = pick_first_time(page)
    assert starts_at.astimezone(consulate.zone).date() == day
    check_page(page, axe_check, assert_console_clean)
    submit(page, page.locator('main form[method="post"] button[type=submit]'))

    assert page.url == f"{site}/{language}/guadalajara/appointments/{SLUG}/people/", page.url
    page.locator("#id_person-0-full_name").fill(TRAVELER["full_name"])
    born_day, born_month, born_year = TRAVELER["born"]
    page.locator("#id_person-0-date_of_birth_day").fill(str(born_day))
    page.locator("#id_person-0-date_of_birth_month").select_option(str(born_month))
    page.locator("#id_person-0-date_of_birth_year").fill(str(born_year))
    page.locator("#id_person-0-passport_number").fill(TRAVELER["passport"])
    page.locator("#id_contact-email").fill(TRAVELER["email"])
    page.locator("#id_contact-phone").fill(TRAVELER["phone"])
    submit(page, page.locator("main form button[type=submit]"))

    assert page.url == f"{site}/{language}/guadalajara/appointments/{SLUG}/review/", page.url
    page.wait_for_function(
        "() => (document.querySelector('form input[name=\"altcha\"]') || {}).value",
        timeout=20_000,
    )
    check_page(page, axe_check, assert_console_clean)
    before = mail_files(mail_dir)
    submit(page, page.locator("main form button.usa-button--big"))
    assert re.fullmatch(
        rf"{re.escape(site)}/{language}/guadalajara/appointments/manage/[^/]+/\?new=1", page.url
    ), page.url
    code = page.locator(".acs-code").inner_text().strip()
    booking = Booking.objects.get(code=code)
    assert (booking.post, booking.service, booking.starts_at) == (consulate, service, starts_at)
    assert booking.status == BookingStatus.BOOKED
    check_page(page, axe_check, assert_console_clean)
    confirmation = new_mail(mail_dir, before)
    assert confirmation["To"] == TRAVELER["email"]
    assert f"{site}/{language}/guadalajara/appointments/manage/{booking.token}/" in text_body(
        confirmation
    )

    # 3. An account, opened at the consulate and confirmed from the email ---------------------
    enroll = f"{site}/{language}/guadalajara/enroll"
    submit(page, page.locator(f'.usa-logo a[href="/{language}/guadalajara/"]'))  # the post's home
    submit(page, page.locator(f'main a[href="/{language}/guadalajara/enroll/"]').first)
    check_page(page, axe_check, assert_console_clean)
    submit(page, page.locator(f'main a[href="/{language}/guadalajara/enroll/sign-up/"]').first)
    page.locator("#id_full_name").fill(TRAVELER["full_name"])
    fill_date_of_birth(page, "id_date_of_birth", TRAVELER["born"])
    tap_choice(page, "status", "citizen")
    page.locator("#id_email").fill(TRAVELER["email"])
    tap_choice(page, "language", language)
    page.locator("#id_password").fill(TRAVELER["password"])
    page.locator("#id_password_again").fill(TRAVELER["password"])
    before = mail_files(mail_dir)
    submit(page, page.locator("main form button[type=submit]"))
    assert page.url == f"{enroll}/check-email/", page.url
    traveler = Enrollee.objects.get(email=TRAVELER["email"])
    assert traveler.post == consulate  # where the account was opened; it decides no reach

    body = text_body(new_mail(mail_dir, before))
    links = re.findall(rf"{re.escape(enroll)}/verify/\S+/", body)
    assert len(links) == 1, f"expected one verification link in the email:\n{body}"
    response = page.goto(links[0])
    assert response is not None and response.status == 200
    assert page.url == f"{enroll}/account/", page.url
    traveler.refresh_from_db()
    assert traveler.email_verified_at is not None

    # 4. A trip crossing a border: each region chosen under its country -----------------------
    submit(page, page.locator(f'main a[href="/{language}/guadalajara/enroll/account/trips/new/"]'))
    check_page(page, axe_check, assert_console_clean)
    groups = page.locator("#id_stops-0-region optgroup")
    labels = [groups.nth(i).get_attribute("label") for i in range(groups.count())]
    assert labels[0] == countries["MX"], labels  # the page's post's country first
    assert set(countries.values()) <= set(labels), labels
    arrival, departure = today + timedelta(days=1), today + timedelta(days=9)
    page.locator("#id_arrival").fill(arrival.isoformat())
    page.locator("#id_departure").fill(departure.isoformat())
    for row, ((region_code, place), country) in enumerate(
        zip(STOPS, (countries["PE"], countries["MX"]), strict=True)
    ):
        region = Region.objects.get(code=region_code)
        select = page.locator(f"#id_stops-{row}-region")
        expect(
            select.locator(f'optgroup[label="{country}"] option[value="{region.pk}"]')
        ).to_have_count(1)
        select.select_option(str(region.pk))
        page.locator(f"#id_stops-{row}-place").fill(place)
    submit(page, page.locator("main form button[type=submit]"))
    trip = Trip.objects.get(enrollee=traveler)
    assert page.url == f"{enroll}/account/trips/{trip.public_id}/", page.url
    expect(page.locator(".usa-alert--success")).to_be_visible()
    check_page(page, axe_check, assert_console_clean)
    assert [(s.region.code, s.place) for s in trip.stops.order_by("pk")] == STOPS
    assert {s.region.post for s in trip.stops.all()} == {lima, consulate}

    # 5. The embassy's officer: no such booking on the day, its page a 404 -------------------
    day_path = f"/staff/day/?date={day.isoformat()}"
    officer = desktop
    sign_in(officer, site, staff["embassy"], day_path)
    expect(officer.locator(".acs-day-post")).to_contain_text(embassy.name)
    expect(officer.locator(".acs-day-empty")).to_have_text("No appointments on this day.")
    expect(officer.locator("main")).not_to_contain_text(code)
    expect(officer.locator("main")).not_to_contain_text(TRAVELER["full_name"])
    check_page(officer, axe_check, assert_console_clean, first_h1=True)
    response = officer.goto(f"{site}/staff/bookings/{booking.pk}/")
    assert response is not None and response.status == 404
    expect(officer.locator("main")).not_to_contain_text(code)
    check_page(officer, axe_check, assert_console_clean, document_status=404, first_h1=True)
    # Nor can they work on the consulate: they hold no role there. The header shows no
    # switcher (one post), and a forged switch is refused and changes nothing.
    officer.goto(f"{site}{day_path}")
    expect(officer.locator("#staff-post")).to_have_count(0)
    csrf = next(c["value"] for c in officer.context.cookies() if c["name"] == "csrftoken")
    forged = officer.request.post(
        f"{site}/staff/post/",
        form={"csrfmiddlewaretoken": csrf, "post": "guadalajara", "next": day_path},
        headers={"Referer": f"{site}{day_path}"},
        max_redirects=0,
    )
    assert forged.status == 302 and forged.headers["location"] == "/staff/", forged.status
    officer.goto(f"{site}{day_path}")
    expect(officer.locator(".acs-day-post")).to_contain_text(embassy.name)
    expect(officer.locator("main")).not_to_contain_text(code)
    assert officer.goto(f"{site}/staff/bookings/{booking.pk}/").status == 404
    officer.console_errors.clear()  # the 404 just asked for on purpose

    # 6. The consulate's officer: the booking on the day, and its page ------------------------
    consular = second_desktop
    sign_in(consular, site, staff["consulate"], day_path)
    expect(consular.locator(".acs-day-post")).to_contain_text(consulate.name)
    row = consular.locator(".acs-day-table tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(code)
    expect(row).to_contain_text(TRAVELER["full_name"])
    check_page(consular, axe_check, assert_console_clean, first_h1=True)
    submit(consular, row.get_by_role("link", name=code))
    assert consular.url == f"{site}/staff/bookings/{booking.pk}/", consular.url
    expect(consular.locator("main")).to_contain_text(code)
    expect(consular.locator("main")).to_contain_text(TRAVELER["full_name"])
    check_page(consular, axe_check, assert_console_clean, first_h1=True)

    # 7. Messages reach each post's district only ------------------------------------------
    in_cusco = factories.verified_enrollee(lima, email="cusco.bystander@example.org")
    factories.trip(in_cusco, "PE-CUS", arrival=0, departure=6)
    in_the_capital = factories.verified_enrollee(embassy, email="cdmx.bystander@example.org")
    factories.trip(in_the_capital, "MX-CMX", arrival=0, departure=6)
    before = mail_files(mail_dir)
    writer = staff["writer"]
    jalisco = publish(consulate, "MX-JAL", writer, staff["consulate"])
    lima_city = publish(lima, "PE-LIM", writer, staff["lima"])
    cusco = publish(lima, "PE-CUS", writer, staff["lima"])
    capital = publish(embassy, "MX-CMX", writer, staff["embassy"])

    assert addresses(jalisco) == {TRAVELER["email"]}
    assert addresses(lima_city) == {TRAVELER["email"]}
    assert addresses(cusco) == {in_cusco.email}
    assert addresses(capital) == {in_the_capital.email}
    # The emails went out: the traveler has the consulate's and Lima's, and nothing else.
    sent = [read_mail(path) for path in mail_files(mail_dir) - before]
    to_traveler = sorted(str(m["Subject"]).strip() for m in sent if m["To"] == TRAVELER["email"])
    assert to_traveler == sorted(subject_of(c, language) for c in ("MX-JAL", "PE-LIM")), to_traveler
