"""Message text: Markdown made safe for pages and emails, and readable as plain text."""

from __future__ import annotations

import pytest

from acs.alerts.rendering import markdown_plain, message_parts, render_markdown


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        "Hello <script>alert(1)</script> world",
        '<img src="x" onerror="alert(1)">',
        "<iframe src='https://evil.example'></iframe>",
        '<a href="javascript:alert(1)">raw link</a>',
        "<style>body{display:none}</style>",
        "<!-- a comment --> text",
    ],
)
def test_raw_html_is_shown_as_text_never_as_markup(source):
    html = str(render_markdown(source))
    for tag in ("<script", "<img", "<iframe", "<style", '<a href="javascript', "<!--"):
        assert tag not in html.lower()


@pytest.mark.parametrize(
    "link",
    [
        "[click](javascript:alert(1))",
        "[click](JAVASCRIPT:alert(1))",
        "[click](data:text/html;base64,PHNjcmlwdD4=)",
        "[click](vbscript:msgbox)",
        "[click](http://plain.example/)",
        "[click](/relative/path)",
        "[click](//evil.example/x)",
        "<javascript:alert(1)>",
    ],
)
def test_only_https_mailto_and_tel_links_are_kept(link):
    html = str(render_markdown(link))
    assert "href" not in html  # shown as text, if at all


def test_allowed_links_get_rel_noopener():
    html = str(
        render_markdown(
            "[site](https://pe.usembassy.gov) [mail](mailto:a@b.org) [call](tel:+5116182000)"
        )
    )
    assert html.count('rel="noopener noreferrer"') == 3
    assert 'href="https://pe.usembassy.gov"' in html
    assert 'href="mailto:a@b.org"' in html
    assert 'href="tel:+5116182000"' in html


def test_the_allowed_structure_survives():
    html = str(
        render_markdown(
            "# Big\n\n#### Small\n\n**bold** *em*\n\n- one\n- two\n\n1. first\n\n"
            "> quoted\n\nline  \nbreak"
        )
    )
    for tag in (
        "<h3>Big</h3>",
        "<h4>Small</h4>",
        "<strong>bold</strong>",
        "<em>em</em>",
        "<ul>",
        "<ol>",
        "<li>",
        "<blockquote>",
        "<br>",
    ):
        assert tag in html, tag
    assert "<h1" not in html


def test_images_and_code_become_text():
    html = str(render_markdown("![a map](https://x.example/m.png)\n\n```\nstep <1>\n```"))
    assert "<img" not in html and "<pre" not in html and "<code" not in html
    assert "a map" in html and "step &lt;1&gt;" in html


def test_empty_text_renders_nothing():
    assert render_markdown("") == "" and render_markdown("  \n ") == ""
    assert markdown_plain("") == ""


def test_plain_text_is_readable():
    text = markdown_plain(
        "Protesters are **blocking roads** near [the station](https://x.example/s).\n\n"
        "- Avoid the area.\n- Call [+51 1 618 2000](tel:+5116182000).\n\n"
        "1. First\n2. Second\n\n> Stay inside."
    )
    assert text == (
        "Protesters are blocking roads near the station (https://x.example/s).\n\n"
        "- Avoid the area.\n- Call +51 1 618 2000 (+5116182000).\n\n"
        "1. First\n2. Second\n\n> Stay inside."
    )


def test_plain_text_keeps_no_unsafe_link_targets():
    assert markdown_plain("[x](javascript:alert(1))") == "[x](javascript:alert(1))"
    assert markdown_plain("[here](/relative)") == "here"


def test_message_parts_in_each_language(lima, draft):
    message = draft(location_en="", location_es="")
    english, spanish = message_parts(message, "en"), message_parts(message, "es")
    assert english["title"] == "Road blocks on the way to Machu Picchu"
    assert spanish["title"] == "Bloqueos en la ruta a Machu Picchu"
    assert english["kind_title"] == "Security Alert"
    assert "<strong>blocking roads</strong>" in english["event_html"]
    assert "<strong>bloquean carreteras</strong>" in spanish["event_html"]
    assert spanish["event_plain"].startswith("Manifestantes bloquean carreteras.")
    assert [s["part"] for s in english["sections"]] == ["event", "actions", "assistance"]
    assert english["location_html"] == "" and english["location_plain"] == ""
    # A language the page does not have reads English.
    assert message_parts(message, "fr")["title"] == english["title"]
    assert message_parts(message, "es-PE")["language"] == "es"


def test_message_parts_escape_the_title(lima, draft):
    message = draft(title_en="<b>Alert</b> & more")
    parts = message_parts(message, "en")
    assert parts["title"] == "<b>Alert</b> & more"
    assert str(parts["title_html"]) == "&lt;b&gt;Alert&lt;/b&gt; &amp; more"
