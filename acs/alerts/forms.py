"""Forms of the messages pages: compose (and edit), the emergency reason, the public filter.

The compose form checks what a person can fix before anything is saved (a plain message next
to the field); the services check the rules that must hold whoever calls them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override

from acs.alerts.constants import (
    KIND_CAP_DEFAULTS,
    KIND_TITLES,
    CapCategory,
    CapCertainty,
    CapSeverity,
    CapUrgency,
    MessageKind,
)
from acs.alerts.models import Message
from acs.alerts.services.messages import REASON_MIN_WORDS
from acs.core import clock
from acs.core.forms.rows import RowsChoiceField
from acs.posts.models import Post
from acs.posts.selectors import post_whole_area_text, regions_of

LANGUAGES = ("en", "es")
# Parts that may be left out, but then in both languages: a Spanish reader must not miss
# what an English one reads.
OPTIONAL_PARTS = ("location", "actions", "assistance")
# Where a new message of a kind starts (besides the CAP category, KIND_CAP_DEFAULTS).
_KIND_START = {
    MessageKind.EMERGENCY: {
        "cap_urgency": CapUrgency.IMMEDIATE,
        "cap_severity": CapSeverity.SEVERE,
        "cap_certainty": CapCertainty.OBSERVED,
    },
    MessageKind.SECURITY: {"cap_urgency": CapUrgency.IMMEDIATE},
    MessageKind.DEMONSTRATION: {"cap_certainty": CapCertainty.LIKELY},
    MessageKind.CITIZENS: {
        "cap_urgency": CapUrgency.FUTURE,
        "cap_severity": CapSeverity.MINOR,
        "cap_certainty": CapCertainty.POSSIBLE,
    },
}


def kind_choices() -> list[tuple[str, Any]]:
    return [(kind.value, KIND_TITLES[kind]) for kind in MessageKind]


def assistance_initial(post: Post, language: str) -> str:
    """The "for assistance" part every message of the post ends with, in Markdown: the
    embassy's hotline and email, and the State Department's lines."""
    hotline = post.hotline
    with override(language):
        name = post.name_es if language == "es" and post.name_es else post.name
        lines = [
            str(_("%(post)s, emergency hotline (24 hours): [%(number)s](tel:%(tel)s)"))
            % {"post": name, "number": hotline.international, "tel": hotline.tel},
        ]
        if post.public_email:
            lines.append(
                str(_("Email: [%(email)s](mailto:%(email)s)")) % {"email": post.public_email}
            )
        lines.append(
            str(
                _(
                    "State Department – Consular Affairs: [+1 888 407 4747](tel:+18884074747) "
                    "or [+1 202 501 4444](tel:+12025014444)"
                )
            )
        )
    return "\n".join(f"- {line}" for line in lines)


def kind_initial(kind: str | None) -> dict[str, Any]:
    """The kind and the CAP fields a new message of ``kind`` starts with."""
    try:
        chosen = MessageKind(kind)
    except ValueError:
        chosen = MessageKind.CITIZENS
    start = {
        "kind": chosen.value,
        "cap_category": KIND_CAP_DEFAULTS[chosen].value,
        "cap_urgency": CapUrgency.EXPECTED.value,
        "cap_severity": CapSeverity.MODERATE.value,
        "cap_certainty": CapCertainty.LIKELY.value,
    }
    return start | {name: value.value for name, value in _KIND_START.get(chosen, {}).items()}


class _Styled:
    """USWDS classes on Django's widgets (the staff templates render ``{{ field }}``)."""

    def _style(self) -> None:
        for field in self.fields.values():  # type: ignore[attr-defined]
            widget = field.widget
            if isinstance(widget, forms.CheckboxSelectMultiple | forms.CheckboxInput):
                continue
            css = {forms.Textarea: "usa-textarea", forms.Select: "usa-select"}.get(
                type(widget), "usa-input"
            )
            widget.attrs.setdefault("class", css)


class MessageForm(_Styled, forms.Form):
    """Compose or edit a message; ``service_fields()`` is what the services take."""

    kind = forms.ChoiceField(label=_("Kind of message"), choices=kind_choices)
    title_en = forms.CharField(label=_("Title in English"), max_length=200)
    title_es = forms.CharField(label=_("Title in Spanish"), max_length=200)
    location_en = forms.CharField(
        label=_("Location in English"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    location_es = forms.CharField(
        label=_("Location in Spanish"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    event_en = forms.CharField(
        label=_("Event in English"),
        help_text=_("What is happening. Markdown: *emphasis*, **bold**, lists, links."),
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    event_es = forms.CharField(
        label=_("Event in Spanish"),
        help_text=_("What is happening. Markdown: *emphasis*, **bold**, lists, links."),
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    actions_en = forms.CharField(
        label=_("Actions to take in English"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    actions_es = forms.CharField(
        label=_("Actions to take in Spanish"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    assistance_en = forms.CharField(
        label=_("For assistance, in English"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    assistance_es = forms.CharField(
        label=_("For assistance, in Spanish"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    whole_country = forms.BooleanField(label=_("The whole country"), required=False)
    regions = RowsChoiceField(
        label=_("Affected regions"),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    network_posts = RowsChoiceField(
        label=_("Also for these posts"),
        help_text=_(
            "A network message: also shown on these posts' pages and sent to everyone in "
            "their whole districts. It covers whole districts only."
        ),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    from_date = forms.DateField(
        label=_("In effect from (date)"), widget=forms.DateInput(attrs={"type": "date"})
    )
    from_time = forms.TimeField(
        label=_("In effect from (time)"), widget=forms.TimeInput(attrs={"type": "time"})
    )
    until_date = forms.DateField(
        label=_("In effect until (date)"), widget=forms.DateInput(attrs={"type": "date"})
    )
    until_time = forms.TimeField(
        label=_("In effect until (time)"), widget=forms.TimeInput(attrs={"type": "time"})
    )
    cap_category = forms.ChoiceField(label=_("Category"), choices=CapCategory.choices)
    cap_urgency = forms.ChoiceField(label=_("Urgency"), choices=CapUrgency.choices)
    cap_severity = forms.ChoiceField(label=_("Severity"), choices=CapSeverity.choices)
    cap_certainty = forms.ChoiceField(label=_("Certainty"), choices=CapCertainty.choices)

    def __init__(self, *args: Any, post: Post, network: bool = False, **kwargs: Any) -> None:
        """``network``: the writer holds a network role, and may address other posts."""
        super().__init__(*args, **kwargs)
        self.post = post
        self.fields["regions"].queryset = regions_of(post)
        # "The whole country", or, for a post that shares its country, its whole district.
        self.fields["whole_country"].label = post_whole_area_text(post)
        if network:
            others = Post.objects.exclude(pk=post.pk).order_by("country_code", "city")
            self.fields["network_posts"].queryset = others
            self.fields["network_posts"].label_from_instance = lambda other: other.display_name
        else:
            del self.fields["network_posts"]
        self.fields["regions"].label_from_instance = lambda region: f"{region.name} ({region.code})"
        # Only this post's district is offered; anything else sent back is refused plainly.
        self.fields["regions"].error_messages["invalid_choice"] = _(
            "A region you chose is served by another post. Choose regions of this post only."
        )
        self._style()

    @classmethod
    def initial_for_new(cls, post: Post, kind: str | None) -> dict[str, Any]:
        now = clock.local(post).replace(second=0, microsecond=0)
        until = now + timedelta(days=2)
        return kind_initial(kind) | {
            "assistance_en": assistance_initial(post, "en"),
            "assistance_es": assistance_initial(post, "es"),
            "from_date": now.date(),
            "from_time": now.time(),
            "until_date": until.date(),
            "until_time": until.time(),
        }

    @classmethod
    def initial_from(cls, message: Message) -> dict[str, Any]:
        starts = clock.local(message.post, message.effective_from)
        ends = clock.local(message.post, message.effective_until)
        fields = {
            name: getattr(message, name)
            for name in ("kind", "whole_country", *cls._text_fields(), *cls._cap_fields())
        }
        return fields | {
            "regions": list(message.regions.all()),
            "network_posts": list(message.network_posts.all()),
            "from_date": starts.date(),
            "from_time": starts.time(),
            "until_date": ends.date(),
            "until_time": ends.time(),
        }

    @staticmethod
    def _text_fields() -> list[str]:
        parts = ("title", "location", "event", "actions", "assistance")
        return [f"{part}_{language}" for part in parts for language in LANGUAGES]

    @staticmethod
    def _cap_fields() -> list[str]:
        return ["cap_category", "cap_urgency", "cap_severity", "cap_certainty"]

    def _local(self, day_field: str, time_field: str) -> datetime | None:
        day, clock = self.cleaned_data.get(day_field), self.cleaned_data.get(time_field)
        if day is None or clock is None:
            return None
        return datetime.combine(day, clock.replace(second=0, microsecond=0), tzinfo=self.post.zone)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for name in ("title_en", "title_es", "event_en", "event_es"):
            if name in data and not data[name].strip():
                self.add_error(name, _("This field is required."))
        for part in OPTIONAL_PARTS:
            english, spanish = (data.get(f"{part}_{lang}", "").strip() for lang in LANGUAGES)
            if english and not spanish:
                self.add_error(
                    f"{part}_es", _("Write this part in Spanish too, or leave both out.")
                )
            elif spanish and not english:
                self.add_error(
                    f"{part}_en", _("Write this part in English too, or leave both out.")
                )
        starts = self._local("from_date", "from_time")
        ends = self._local("until_date", "until_time")
        if starts and ends and ends <= starts:
            self.add_error("until_date", _("“Until” must be later than “from”."))
        data["effective_from"], data["effective_until"] = starts, ends
        if not data.get("whole_country") and not data.get("regions") and "regions" in data:
            self.add_error("regions", _("Choose the affected regions, or the whole country."))
        if data.get("network_posts") and not data.get("whole_country"):
            self.add_error(
                "network_posts",
                _(
                    "A message for several posts covers each post's whole district, so it "
                    "cannot name single regions: choose the whole district."
                ),
            )
        return data

    def service_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        fields = {name: data[name].strip() for name in self._text_fields()}
        fields |= {name: data[name] for name in ("kind", "whole_country", *self._cap_fields())}
        if "network_posts" in self.fields:
            fields["network_posts"] = list(data["network_posts"])
        return fields | {
            "regions": list(data["regions"]),
            "effective_from": data["effective_from"],
            "effective_until": data["effective_until"],
        }


class SendAloneForm(forms.Form):
    reason = forms.CharField(
        label=_("Why this cannot wait for a second person"),
        widget=forms.Textarea(attrs={"rows": 3, "class": "usa-textarea"}),
        max_length=1000,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].help_text = _(
            "At least %(words)d words. Kept in the audit log with your name."
        ) % {"words": REASON_MIN_WORDS}


class MessageFilterForm(forms.Form):
    """The public list's filter: a kind and a region (by its ISO 3166-2 code), both
    optional. Values a hand-edited address may carry that are not choices are ignored."""

    kind = forms.ChoiceField(label=_("Kind"), required=False)
    region = forms.ChoiceField(label=_("Region"), required=False)

    def __init__(self, *args: Any, post: Post, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("All kinds")), *kind_choices()]
        self.fields["region"].choices = [
            ("", _("All regions")),
            *((region.code, region.name) for region in regions_of(post)),
        ]
        for field in self.fields.values():
            field.widget.attrs["class"] = "usa-select"

    def values(self) -> tuple[str, str]:
        self.is_valid()  # a value that is not a choice is dropped from cleaned_data
        return self.cleaned_data.get("kind", ""), self.cleaned_data.get("region", "")
