"""Three published messages for the demo (``manage.py demo_seed``), made through the services
as people would make them: drafted by the demo officer, approved by a second account, sent."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from acs.alerts import services
from acs.alerts.constants import CapCertainty, CapSeverity, CapUrgency, MessageKind
from acs.alerts.forms import assistance_initial
from acs.alerts.models import Message
from acs.core import clock
from acs.posts.models import Post
from acs.staff.roles import APPROVER
from acs.staff.services import role_grant, staff_user_create

DEMO_APPROVER = "demo-approver"

_DEMONSTRATION = {
    "kind": MessageKind.DEMONSTRATION,
    "title_en": "Marches in central Lima",
    "title_es": "Marchas en el centro de Lima",
    "location_en": "Plaza San Martín, Plaza de Armas and Avenida Abancay, Lima (Cercado).",
    "location_es": "Plaza San Martín, Plaza de Armas y Avenida Abancay, Lima (Cercado).",
    "event_en": (
        "Large demonstrations are expected in central Lima **from 3 p.m.** Police may close "
        "streets and use tear gas. Even peaceful demonstrations can turn confrontational."
    ),
    "event_es": (
        "Se esperan grandes manifestaciones en el centro de Lima **desde las 3 p. m.** La "
        "policía podría cerrar calles y usar gases lacrimógenos. Incluso las manifestaciones "
        "pacíficas pueden volverse violentas."
    ),
    "actions_en": (
        "- Avoid the area and any large gatherings.\n"
        "- Allow extra time to reach the airport.\n"
        "- Follow local news for updates."
    ),
    "actions_es": (
        "- Evite la zona y las aglomeraciones.\n"
        "- Calcule más tiempo para llegar al aeropuerto.\n"
        "- Siga las noticias locales."
    ),
    "cap_category": "Security",
    "regions": ("PE-LIM", "PE-LMA"),
    "hours": (0, 10),
}
_WEATHER = {
    "kind": MessageKind.WEATHER,
    "title_en": "Heavy snow and frost in Cusco and Puno",
    "title_es": "Nevadas y heladas en Cusco y Puno",
    "location_en": "The highlands of Cusco and Puno, above 3,800 m.",
    "location_es": "Las zonas altoandinas de Cusco y Puno, por encima de los 3800 m.",
    "event_en": (
        "Peru's weather service (SENAMHI) forecasts heavy snow and temperatures down to "
        "−15 °C. Roads and some treks, including routes to Ausangate, may close."
    ),
    "event_es": (
        "El SENAMHI pronostica nevadas intensas y temperaturas de hasta −15 °C. Pueden "
        "cerrarse carreteras y algunas rutas de trekking, incluidas las de Ausangate."
    ),
    "actions_en": (
        "- Check with your tour operator before you travel.\n- Carry warm clothing and water."
    ),
    "actions_es": (
        "- Consulte con su operador turístico antes de viajar.\n- Lleve ropa de abrigo y agua."
    ),
    "cap_category": "Met",
    "cap_certainty": CapCertainty.LIKELY,
    "cap_severity": CapSeverity.MODERATE,
    "regions": ("PE-CUS", "PE-PUN"),
    "hours": (0, 72),
}
_HOLIDAYS = {
    "kind": MessageKind.CITIZENS,
    "title_en": "The embassy is closed for the holidays",
    "title_es": "La embajada cierra por los feriados",
    "event_en": (
        "The Consular Section will be closed for U.S. and Peruvian holidays. Appointments "
        "for those days have been moved; check your email."
    ),
    "event_es": (
        "La Sección Consular estará cerrada por los feriados de EE. UU. y del Perú. Las "
        "citas de esos días se han cambiado; revise su correo electrónico."
    ),
    "actions_en": "Emergency services for U.S. citizens stay available through the hotline.",
    "actions_es": (
        "Los servicios de emergencia para ciudadanos estadounidenses siguen disponibles en "
        "la línea de emergencia."
    ),
    "cap_category": "Other",
    "cap_urgency": CapUrgency.FUTURE,
    "cap_severity": CapSeverity.MINOR,
    "whole_country": True,
    "regions": (),
    "hours": (0, 24 * 14),
}
DEMO_MESSAGES = [_HOLIDAYS, _WEATHER, _DEMONSTRATION]  # oldest first: the list shows newest


def _approver(post: Post) -> User:
    """A second staff account in the Approver role (its password is random and not kept:
    to try approving, give a real account the role)."""
    user = User.objects.filter(username=DEMO_APPROVER).first()
    if user is None:
        user = staff_user_create(
            username=DEMO_APPROVER,
            email="approver@example.org",
            password=secrets.token_urlsafe(24),
        ).user
    role_grant(user=user, role=APPROVER, post=post)
    return user


def _fields(post: Post, spec: dict, now: datetime) -> dict:
    fields = {key: value for key, value in spec.items() if key not in ("regions", "hours")}
    starts_in, lasts = spec["hours"]
    starts = max(now, clock.midnight(post, clock.today(post, now))) + timedelta(hours=starts_in)
    return fields | {
        "assistance_en": assistance_initial(post, "en"),
        "assistance_es": assistance_initial(post, "es"),
        "regions": [post.regions.get(code=code) for code in spec["regions"]],
        "effective_from": starts.replace(second=0, microsecond=0),
        "effective_until": (starts + timedelta(hours=lasts)).replace(second=0, microsecond=0),
    }


def demo_messages_seed(*, post: Post, author: User) -> int:
    """Publish the demo messages once (nothing when the post has any message already).
    Their deliveries go to the demo travellers in the area. Returns how many exist."""
    if Message.objects.filter(post=post).exists():
        return Message.objects.filter(post=post).count()
    approver = _approver(post)
    now = timezone.now()
    for spec in DEMO_MESSAGES:
        draft = services.message_draft_create(post=post, actor=author, **_fields(post, spec, now))
        services.message_approve(message=draft, actor=approver)
        services.message_publish(message=draft, actor=author)
    return len(DEMO_MESSAGES)
