"""Every form and every query parameter of the pages, fuzzed with hypothesis.

The demo's data is seeded, then the pages are crawled as three visitors would reach them: the
public (both languages, every post), a signed-in citizen, and a staff member who may do
everything. Each page is asked for again with hostile query parameters (the names its own
search and filter forms use, and others), and each form it shows is sent with hostile values:
any Unicode text, bytes that are not UTF-8 at all (a lone surrogate's encoding, 0xFF), NUL,
very long text, numbers and dates at and beyond their limits. Hidden fields keep their own
value half of the time so that the fuzzing reaches past the first check.

Whatever is sent, the answer is never a server error (the test client re-raises any
exception a view lets through, with its traceback). The number of requests sent is printed
at the end of the run ("property-based tests").
"""

from __future__ import annotations

import base64
import json
from collections import deque
from html.parser import HTMLParser
from urllib.parse import quote_from_bytes, urljoin, urlsplit

import pytest
from django.core.management import call_command
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from acs.posts.models import Post
from tests.conftest import CheckingClient
from tests.enrollment.factories import verified_enrollee
from tests.enrollment.selfservice import signed_in
from tests.staff.conftest import staff_member, verified_client  # noqa: F401 — fixtures

pytestmark = pytest.mark.django_db

PAGES_MOST = 100  # pages crawled per visitor
PAGE_EXAMPLES = 3  # hostile queries per page
FORM_EXAMPLES = 8  # hostile submissions per form
# Never followed: signing out ends the crawl's session; files are not pages; the admin is
# Django's own (its forms are covered by Django); the API has its own fuzzing.
SKIP = ("/static/", "/api/", "/staff/admin/", "sign-out", "logout", ".ics", ".csv", ".pdf")

EDGES = [
    b"",
    b"\x00",
    b"\xed\xa0\x80",  # a lone surrogate, as UTF-8 would encode it: not valid UTF-8
    b"\xff\xfe",
    b"a" * 5000,
    b"-1",
    b"0",
    b"99999999999999999999999999",
    b"1e309",
    b"NaN",
    b"2024-02-30",
    b"0000-00-00",
    b"9999-12-31",
    b"10000-01-01",
    b"1900-01-01T00:00Z",
    "ñandú 👩‍👩‍👧 ﷽".encode(),
    b"<script>alert(1)</script>",
    b"' OR 1=1 --",
    b"../../etc/passwd",
    b"%00",
]
# The proof-of-work widget is a field of its form too: its payload is base64 of JSON.
FIELD_TAGS = ("input", "select", "textarea", "button", "altcha-widget")
JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=10,
)
POW_KEYS = st.sampled_from(["algorithm", "challenge", "number", "salt", "signature"])
POW_PAYLOAD = st.one_of(
    JSON_VALUE, st.dictionaries(POW_KEYS | st.text(max_size=5), JSON_VALUE, max_size=6)
).map(lambda value: base64.b64encode(json.dumps(value).encode()))
VALUE = st.one_of(
    POW_PAYLOAD,
    st.sampled_from(EDGES),
    st.text(max_size=60).map(lambda text: text.encode()),
    st.binary(max_size=40),
    st.integers().map(lambda number: str(number).encode()),
)


def _fuzz(examples: int) -> hypothesis_settings:
    return hypothesis_settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,  # the same cases every run: a failure in CI is found again at home
        database=None,
        suppress_health_check=list(HealthCheck),
    )


class _Forms(HTMLParser):
    """The links and forms of a page: for each form its method, action and fields (name,
    and the value it was shown with)."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.forms: list[dict] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "a" and found.get("href"):
            self.links.append(found["href"])
        elif tag == "form":
            self.forms.append(
                {
                    "method": (found.get("method") or "get").lower(),
                    "action": found.get("action") or "",
                    "fields": {},
                }
            )
        elif tag in FIELD_TAGS and self.forms and found.get("name"):
            fields = self.forms[-1]["fields"]
            if found.get("type") in ("checkbox", "radio") and found["name"] in fields:
                return
            fields[found["name"]] = (found.get("value") or "").encode()


def _parse(html: str) -> _Forms:
    parser = _Forms()
    parser.feed(html)
    return parser


def _encoded(pairs: dict[bytes, bytes]) -> str:
    return "&".join(
        f"{quote_from_bytes(name)}={quote_from_bytes(value)}" for name, value in pairs.items()
    )


def _crawl(client, starts: list[str], within: str) -> list[tuple[str, _Forms]]:
    """Pages reachable from ``starts`` whose path begins with ``within``, with their forms."""
    seen, queue, pages = set(starts), deque(starts), []
    while queue and len(pages) < PAGES_MOST:
        path = queue.popleft()
        response = client.get(path)
        assert response.status_code < 500, path
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        found = _parse(response.content.decode())
        pages.append((path, found))
        for link in found.links:
            target = urlsplit(urljoin(path, link))
            if target.netloc or not target.path.startswith(within):
                continue
            if any(skip in target.path for skip in SKIP):
                continue
            key = target.path + ("?" + target.query if target.query else "")
            if key not in seen:
                seen.add(key)
                queue.append(key)
    return pages


def _query_fuzz(client, path: str, names: set[bytes]) -> int:
    sent = 0

    @_fuzz(PAGE_EXAMPLES)
    @given(
        st.dictionaries(st.sampled_from(sorted(names)) | st.binary(max_size=8), VALUE, max_size=4)
    )
    def query(pairs):
        nonlocal sent
        sent += 1
        response = client.get(f"{urlsplit(path).path}?{_encoded(pairs)}")
        assert response.status_code < 500, (path, pairs)

    query()
    return sent


def _fuzz_pages(client, pages: list[tuple[str, _Forms]]) -> int:
    sent = 0
    for path, found in pages:
        names = {
            name.encode()
            for form in found.forms
            if form["method"] == "get"
            for name in form["fields"]
        }
        names |= {b"page", b"q", b"from", b"day", b"sort", b"lang", b"next"}
        sent += _query_fuzz(client, path, names)
    return sent


def _form_fuzz(client, form: dict, action: str) -> int:
    sent = 0
    values = st.fixed_dictionaries(
        {
            name.encode(): st.one_of(st.just(value), VALUE) if value else VALUE
            for name, value in form["fields"].items()
        }
    )

    @_fuzz(FORM_EXAMPLES)
    @given(values, st.dictionaries(st.binary(max_size=8), VALUE, max_size=2))
    def submit(pairs, extra):
        nonlocal sent
        sent += 1
        body = _encoded({**extra, **pairs})
        if form["method"] == "post":
            response = client.post(action, body, content_type="application/x-www-form-urlencoded")
        else:
            response = client.get(f"{action}?{body}")
        assert response.status_code < 500, (action, pairs)

    submit()
    return sent


def _fuzz_forms(client, pages: list[tuple[str, _Forms]]) -> int:
    sent, done = 0, set()
    for path, found in pages:
        for form in found.forms:
            action = urlsplit(urljoin(path, form["action"] or path)).path
            key = (form["method"], action, tuple(sorted(form["fields"])))
            if key in done or any(skip in action for skip in SKIP):
                continue
            done.add(key)
            sent += _form_fuzz(client, form, action)
    return sent


@pytest.fixture
def demo(settings, tmp_path):
    settings.ACS_VAR_DIR = tmp_path
    call_command("demo_seed", stdout=open("/dev/null", "w"))  # noqa: SIM115
    return Post.objects.get(slug="lima")


# Query strings and forms are two tests per visitor, so that the suite's workers share them.
PARTS = [
    pytest.param(("query strings", _fuzz_pages), id="queries"),
    pytest.param(("form submissions", _fuzz_forms), id="forms"),
]


@pytest.mark.parametrize("part", PARTS)
def test_public_pages_answer_any_input_without_a_server_error(demo, part, record_property):
    client = CheckingClient()
    starts = ["/en/", "/es/"] + [
        f"/{lang}/{post.slug}/" for post in Post.objects.all() for lang in ("en", "es")
    ]
    pages = _crawl(client, starts, "/")
    assert len(pages) > 30
    what, fuzz = part
    record_property(f"fuzz: public pages crawled for {what}", len(pages))
    record_property(f"fuzz: public {what} (hypothesis)", fuzz(client, pages))


@pytest.mark.parametrize("part", PARTS)
def test_a_citizens_pages_answer_any_input_without_a_server_error(demo, part, record_property):
    client = signed_in(verified_enrollee(demo))
    pages = _crawl(
        client, ["/en/lima/enroll/account/", "/es/lima/enroll/account/"], "/en/lima/enroll/"
    )
    assert len(pages) > 3
    what, fuzz = part
    record_property(f"fuzz: citizen pages crawled for {what}", len(pages))
    record_property(f"fuzz: citizen {what} (hypothesis)", fuzz(client, pages))


@pytest.mark.parametrize("part", PARTS)
def test_staff_pages_answer_any_input_without_a_server_error(demo, part, request, record_property):
    staff = request.getfixturevalue("staff_member")("fuzzer", superuser=True, post=None)
    client = request.getfixturevalue("verified_client")(staff)
    pages = _crawl(client, ["/staff/"], "/staff/")
    assert len(pages) > 20
    what, fuzz = part
    record_property(f"fuzz: staff pages crawled for {what}", len(pages))
    record_property(f"fuzz: staff {what} (hypothesis)", fuzz(client, pages))
