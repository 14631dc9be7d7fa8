"""Changes of state for posts and their regions."""

from __future__ import annotations

import pycountry
from django.db import transaction

from acs.posts.models import Post, Region


def regions_sync(*, post: Post) -> int:
    """Create or rename the post's regions from ISO 3166-2 (top-level subdivisions only).

    The ISO codes are kept as they are: they become CAP geocodes for alerts. Returns how many
    regions the post has afterwards.
    """
    subdivisions = [
        s
        for s in pycountry.subdivisions.get(country_code=post.country_code) or []
        if s.parent_code is None
    ]
    with transaction.atomic():
        for sub in subdivisions:
            Region.objects.update_or_create(
                post=post, code=sub.code, defaults={"name": sub.name, "kind": sub.type}
            )
    return post.regions.count()


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
) -> Post:
    """Create a post (or update the one with this slug) and give it its country's regions."""
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
        regions_sync(post=post)
    return post
