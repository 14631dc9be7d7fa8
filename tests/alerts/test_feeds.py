"""The feeds as a feed reader reads them, and each alert as CAP 1.2, valid against the OASIS
schema (tests/alerts/data/CAP-v1.2.xsd, the standard's own schema, kept as test data)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import feedparser
import pytest
import xmlschema
from django.test import override_settings

from acs.alerts import services
from acs.alerts.constants import MessageType

pytestmark = pytest.mark.django_db

SCHEMA = xmlschema.XMLSchema(Path(__file__).parent / "data" / "CAP-v1.2.xsd")
CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"


def read(client, path: str):
    response = client.get(path)
    assert response.status_code == 200, path
    return response, feedparser.parse(response.content)


def cap_of(client, message, language: str = "en"):
    response = client.get(f"/{language}/lima/messages/{message.public_id}/cap.xml")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/cap+xml")
    SCHEMA.validate(response.content.decode())  # raises on any deviation from CAP 1.2
    return ET.fromstring(response.content)  # noqa: S314 — our own document


def text(element, path: str) -> str:
    found = element.find(path.replace("cap:", CAP))
    assert found is not None, path
    return found.text or ""


def test_the_atom_feed_in_each_language(client, lima, published):
    first = published(title_en="First alert", title_es="Primera alerta")
    second = published(title_en="Second alert", title_es="Segunda alerta", kind="weather")
    response, feed = read(client, "/en/lima/messages/feed.atom")
    assert response["Content-Type"].startswith("application/atom+xml")
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10"
    assert [entry.title for entry in feed.entries] == [
        "Weather Alert: Second alert",
        "Security Alert: First alert",
    ]
    assert feed.entries[0].link == f"http://testserver/en/lima/messages/{second.public_id}/"
    assert "<strong>blocking roads</strong>" in feed.entries[1].summary
    assert feed.entries[1].published_parsed is not None
    _response, spanish = read(client, "/es/lima/messages/feed.atom")
    assert not spanish.bozo
    assert spanish.entries[1].title.endswith("Primera alerta")
    assert spanish.entries[1].link == f"http://testserver/es/lima/messages/{first.public_id}/"
    assert "<strong>bloquean carreteras</strong>" in spanish.entries[1].summary
    assert spanish.feed.get("language") == "es"


def test_feeds_leave_out_drafts(client, lima, draft):
    draft()
    for path in ("/en/lima/messages/feed.atom", "/en/lima/messages/cap.atom"):
        _response, feed = read(client, path)
        assert not feed.bozo and feed.entries == []


def test_the_cap_index_links_each_entry_to_its_alert(client, lima, published):
    message = published()
    _response, feed = read(client, "/en/lima/messages/cap.atom")
    assert not feed.bozo, feed.bozo_exception
    (entry,) = feed.entries
    assert entry.id == f"urn:uuid:{message.public_id}"
    (link,) = entry.links
    assert link.type == "application/cap+xml"
    assert link.href == f"http://testserver/en/lima/messages/{message.public_id}/cap.xml"
    alert = cap_of(client, message)
    assert text(alert, "cap:identifier") == entry.id
    _response, spanish = read(client, "/es/lima/messages/cap.atom")
    assert (
        spanish.entries[0].links[0].href.endswith(f"/es/lima/messages/{message.public_id}/cap.xml")
    )


@override_settings(ACS_SITE_URL="https://pe.acs.example.gov")
def test_an_alert_as_cap(client, lima, published):
    message = published()
    alert = cap_of(client, message)
    assert text(alert, "cap:identifier") == f"urn:uuid:{message.public_id}"
    assert text(alert, "cap:sender") == "lima@pe.acs.example.gov"
    assert text(alert, "cap:sent").endswith("-05:00")
    assert text(alert, "cap:status") == "Actual"
    assert text(alert, "cap:msgType") == "Alert"
    assert text(alert, "cap:scope") == "Public"
    assert alert.find(f"{CAP}references") is None
    english, spanish = alert.findall(f"{CAP}info")
    assert text(english, "cap:language") == "en-US"
    assert text(spanish, "cap:language") == "es-PE"
    assert text(english, "cap:category") == "Security"
    assert text(english, "cap:event") == "Security Alert"
    assert (text(english, "cap:urgency"), text(english, "cap:severity")) == ("Expected", "Moderate")
    assert text(english, "cap:certainty") == "Likely"
    assert text(english, "cap:headline") == "Road blocks on the way to Machu Picchu"
    assert text(spanish, "cap:headline") == "Bloqueos en la ruta a Machu Picchu"
    assert "Protesters are blocking roads." in text(english, "cap:description")
    assert "Ollantaytambo" in text(english, "cap:description")
    assert text(english, "cap:instruction").startswith("- Avoid the area.")
    assert "+51 1 618 2000" in text(english, "cap:contact")
    assert text(english, "cap:senderName") == "U.S. Embassy Lima"
    assert text(spanish, "cap:senderName") == "Embajada de los Estados Unidos en Lima"
    assert text(english, "cap:web") == f"http://testserver/en/lima/messages/{message.public_id}/"
    assert text(spanish, "cap:web") == f"http://testserver/es/lima/messages/{message.public_id}/"
    area = english.find(f"{CAP}area")
    assert text(area, "cap:areaDesc") == "Cusco"
    geocodes = [
        (text(g, "cap:valueName"), text(g, "cap:value")) for g in area.findall(f"{CAP}geocode")
    ]
    assert geocodes == [("ISO3166-2", "PE-CUS")]


def test_several_regions_and_the_whole_country(client, lima, published):
    message = published(regions=[lima.regions.get(code="PE-PUN"), lima.regions.get(code="PE-CUS")])
    area = cap_of(client, message).find(f"{CAP}info/{CAP}area")
    assert text(area, "cap:areaDesc") == "Cusco, Puno"
    assert [text(g, "cap:value") for g in area.findall(f"{CAP}geocode")] == ["PE-CUS", "PE-PUN"]
    country = published(whole_country=True, regions=[], kind="citizens")
    area = cap_of(client, country).find(f"{CAP}info/{CAP}area")
    assert text(area, "cap:areaDesc") == "Peru"
    codes = [
        (text(g, "cap:valueName"), text(g, "cap:value")) for g in area.findall(f"{CAP}geocode")
    ]
    assert codes[0] == ("ISO3166-1", "PE")
    assert len(codes) == 1 + lima.regions.count()


def test_an_update_and_a_cancellation_reference_the_earlier_alert(
    client, lima, published, drafter, approver
):
    original = published()
    earlier = cap_of(client, original)
    for msg_type in (MessageType.UPDATE, MessageType.CANCEL):
        follow = services.message_follow_up(original=original, actor=drafter, msg_type=msg_type)
        services.message_approve(message=follow, actor=approver)
        services.message_publish(message=follow, actor=approver)
        alert = cap_of(client, follow, "es")
        assert text(alert, "cap:msgType") == msg_type
        assert text(alert, "cap:references") == ",".join(
            (
                text(earlier, "cap:sender"),
                text(earlier, "cap:identifier"),
                text(earlier, "cap:sent"),
            )
        )


def test_text_an_xml_document_cannot_hold_is_dropped(client, lima, published):
    message = published(event_en="Bell \x07 and form feed \x0c here.", title_en="Odd\x0b title")
    alert = cap_of(client, message)
    assert text(alert.find(f"{CAP}info"), "cap:headline") == "Odd title"
    _response, feed = read(client, "/en/lima/messages/feed.atom")
    assert not feed.bozo


def test_cap_time_in_a_zone_with_daylight_saving(new_york):
    from datetime import UTC, datetime

    from acs.alerts.cap import cap_time

    assert (
        cap_time(datetime(2027, 1, 10, 15, 0, 30, 500, tzinfo=UTC), new_york)
        == "2027-01-10T10:00:30-05:00"
    )
    assert (
        cap_time(datetime(2027, 7, 10, 15, 0, tzinfo=UTC), new_york) == "2027-07-10T11:00:00-04:00"
    )
