"""The public pages: Travel Information and Messages, a page per message, in both languages."""

from __future__ import annotations

import re

import pytest

from acs.alerts import services
from acs.alerts.constants import MessageType

pytestmark = pytest.mark.django_db


def titles(response) -> list[str]:
    return re.findall(
        r'<h3 class="usa-collection__heading"><a[^>]*>([^<]+)</a>', response.content.decode()
    )


def test_the_list_shows_published_messages_newest_first(client, lima, published, draft):
    older = published(title_en="Older alert", title_es="Alerta anterior")
    newer = published(title_en="Newer alert", title_es="Alerta nueva", kind="weather")
    draft(title_en="A draft nobody may see")
    response = client.get("/en/lima/messages/")
    assert response.status_code == 200
    assert titles(response) == ["Newer alert", "Older alert"]
    html = response.content.decode()
    assert "A draft nobody may see" not in html
    assert (
        f"/en/lima/messages/{newer.public_id}/" in html
        and f"/en/lima/messages/{older.public_id}/" in html
    )
    assert "Weather Alert" in html and "Security Alert" in html


def test_the_list_in_spanish(client, lima, published):
    published(title_en="Road blocks", title_es="Bloqueos de carreteras")
    response = client.get("/es/lima/messages/")
    assert response.status_code == 200
    assert titles(response) == ["Bloqueos de carreteras"]
    assert 'lang="es"' in response.content.decode()


def test_the_list_advertises_both_feeds(client, lima):
    html = client.get("/en/lima/messages/").content.decode()
    links = re.findall(r'<link rel="alternate" type="application/atom\+xml"[^>]*>', html)
    hrefs = sorted(re.search(r'href="([^"]+)"', link).group(1) for link in links)
    assert hrefs == ["/en/lima/messages/cap.atom", "/en/lima/messages/feed.atom"]
    spanish = client.get("/es/lima/messages/").content.decode()
    assert 'href="/es/lima/messages/feed.atom"' in spanish


def test_filter_by_kind_and_region(client, lima, published):
    published(title_en="Cusco security", title_es="Seguridad Cusco")
    published(
        title_en="Puno weather",
        title_es="Clima Puno",
        kind="weather",
        regions=[lima.regions.get(code="PE-PUN")],
    )
    published(
        title_en="Country message",
        title_es="Mensaje país",
        kind="citizens",
        whole_country=True,
        regions=[],
    )
    assert titles(client.get("/en/lima/messages/?kind=weather")) == ["Puno weather"]
    assert titles(client.get("/en/lima/messages/?region=PE-PUN")) == [
        "Country message",
        "Puno weather",
    ]
    assert titles(client.get("/en/lima/messages/?region=PE-CUS&kind=security")) == [
        "Cusco security"
    ]
    assert titles(client.get("/en/lima/messages/?region=PE-LOR&kind=weather")) == []
    assert (
        "No message matches this choice."
        in client.get("/en/lima/messages/?kind=health").content.decode()
    )


def test_a_hand_edited_filter_is_ignored_not_an_error(client, lima, published):
    published()
    for query in ("kind=nonsense", "region=XX-999", "page=abc", "page=999", "kind=%00"):
        response = client.get(f"/en/lima/messages/?{query}")
        assert response.status_code == 200, query
        assert len(titles(response)) == 1, query


def test_ten_a_page(client, lima, published):
    for number in range(12):
        published(title_en=f"Alert {number:02d}", title_es=f"Alerta {number:02d}")
    first = client.get("/en/lima/messages/")
    assert titles(first) == [f"Alert {n:02d}" for n in range(11, 1, -1)]
    assert 'href="?page=2"' in first.content.decode()
    second = client.get("/en/lima/messages/?page=2")
    assert titles(second) == ["Alert 01", "Alert 00"]
    filtered = client.get("/en/lima/messages/?kind=security")
    assert 'href="?kind=security&amp;page=2"' in filtered.content.decode()


def test_a_message_page_in_each_language(client, lima, published):
    message = published()
    english = client.get(f"/en/lima/messages/{message.public_id}/")
    assert english.status_code == 200
    html = english.content.decode()
    assert '<h1 id="message-title">Road blocks on the way to Machu Picchu</h1>' in html
    assert "<strong>blocking roads</strong>" in html
    assert "Cusco" in html and "UTC−05:00" in html
    assert f"/en/lima/messages/{message.public_id}/cap.xml" in html
    spanish = client.get(f"/es/lima/messages/{message.public_id}/").content.decode()
    assert "Bloqueos en la ruta a Machu Picchu" in spanish
    assert "<strong>bloquean carreteras</strong>" in spanish
    assert "blocking roads" not in spanish


def test_a_draft_or_approved_message_is_not_found(client, lima, draft, approver):
    hidden = draft()
    assert client.get(f"/en/lima/messages/{hidden.public_id}/").status_code == 404
    assert client.get(f"/en/lima/messages/{hidden.public_id}/cap.xml").status_code == 404
    services.message_approve(message=hidden, actor=approver)
    assert client.get(f"/es/lima/messages/{hidden.public_id}/").status_code == 404
    assert client.get("/en/lima/messages/00000000-0000-4000-8000-000000000000/").status_code == 404


def test_an_update_links_to_the_earlier_message_and_back(
    client, lima, published, drafter, approver
):
    original = published()
    update = services.message_follow_up(
        original=original, actor=drafter, msg_type=MessageType.UPDATE
    )
    services.message_approve(message=update, actor=approver)
    services.message_publish(message=update, actor=approver)
    html = client.get(f"/en/lima/messages/{update.public_id}/").content.decode()
    assert "This updates an earlier message" in html
    assert f'href="/en/lima/messages/{original.public_id}/"' in html
    earlier = client.get(f"/en/lima/messages/{original.public_id}/").content.decode()
    assert "Later messages about this" in earlier
    assert f'href="/en/lima/messages/{update.public_id}/"' in earlier
    assert "There is a newer message about this." in earlier


def test_a_cancelled_message_says_so(client, lima, published, drafter, approver):
    original = published()
    cancel = services.message_follow_up(
        original=original, actor=drafter, msg_type=MessageType.CANCEL
    )
    services.message_approve(message=cancel, actor=approver)
    services.message_publish(message=cancel, actor=approver)
    html = client.get(f"/en/lima/messages/{original.public_id}/").content.decode()
    assert "This message has been cancelled." in html
    assert (
        "This cancels an earlier message"
        in client.get(f"/en/lima/messages/{cancel.public_id}/").content.decode()
    )


def test_the_site_header_links_to_the_messages(client, lima):
    html = client.get("/en/lima/").content.decode()
    assert 'href="/en/lima/messages/"' in html
    assert 'href="/es/lima/messages/"' in client.get("/es/lima/").content.decode()


def test_the_list_page_is_cheap(client, lima, published, django_assert_max_num_queries):
    for number in range(10):
        published(title_en=f"Alert {number}")
    with django_assert_max_num_queries(12):
        assert client.get("/en/lima/messages/").status_code == 200
