"""Changes of state for posts and their regions."""

from __future__ import annotations

from collections.abc import Sequence

import pycountry
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from acs.posts.models import Post, Region


def _top_level(country_code: str) -> list:
    return [
        sub
        for sub in pycountry.subdivisions.get(country_code=country_code) or []
        if sub.parent_code is None
    ]


def regions_sync(*, post: Post) -> int:
    """Give the post every first-level region of its country (ISO 3166-2) that no post serves
    yet, and refresh the names of the regions it has.

    The ISO codes are kept as they are: they become CAP geocodes for alerts. A region already
    in another post's district stays there (an embassy seeded after its consulate does not
    take the consulate's regions back). Returns how many regions the post has afterwards.
    """
    with transaction.atomic():
        served = dict(Region.objects.values_list("code", "post_id"))
        for sub in _top_level(post.country_code):
            if served.get(sub.code, post.pk) != post.pk:
                continue
            Region.objects.update_or_create(
                code=sub.code, defaults={"post": post, "name": sub.name, "kind": sub.type}
            )
    return post.regions.count()


def district_set(*, post: Post, codes: Sequence[str]) -> list[Region]:
    """Put the regions with these ISO 3166-2 codes in the post's district, moving each from
    the post that served it (a consulate taking its states from the embassy). A region is in
    exactly one district, so nothing else changes. Any code that is not a first-level region
    refuses the whole change."""
    wanted = [code.strip().upper() for code in codes if code.strip()]
    subdivisions = {code: pycountry.subdivisions.get(code=code) for code in wanted}
    unknown = [code for code, sub in subdivisions.items() if sub is None or sub.parent_code]
    if unknown:
        raise ValidationError(
            _("These are not region codes of ISO 3166-2: %(codes)s.")
            % {"codes": ", ".join(unknown)},
            code="unknown_region",
        )
    with transaction.atomic():
        return [
            Region.objects.update_or_create(
                code=code, defaults={"post": post, "name": sub.name, "kind": sub.type}
            )[0]
            for code, sub in subdivisions.items()
        ]


def post_create(
    *,
    slug: str,
    name: str,
    city: str,
    country_code: str,
    time_zone: str,
    street_address: str,
    main_phone: str,
    emergency_phone: str,
    public_email: str = "",
    opening_hours: str = "",
    name_es: str = "",
    opening_hours_es: str = "",
    district: Sequence[str] | None = None,
) -> Post:
    """Create a post (or update the one with this slug) and give it its consular district:
    the regions listed in ``district`` (ISO 3166-2 codes, taken from whichever post served
    them), or without a list every region of its country that no other post serves."""
    fields = {
        "name": name,
        "name_es": name_es,
        "city": city,
        "country_code": country_code.upper(),
        "time_zone": time_zone,
        "street_address": street_address,
        "main_phone": main_phone,
        "emergency_phone": emergency_phone,
        "public_email": public_email,
        "opening_hours": opening_hours,
        "opening_hours_es": opening_hours_es,
    }
    with transaction.atomic():
        post = Post(slug=slug, **fields)
        post.full_clean(validate_unique=False)
        post, _created = Post.objects.update_or_create(slug=slug, defaults=fields)
        if district is None:
            regions_sync(post=post)
        else:
            district_set(post=post, codes=district)
    return post
