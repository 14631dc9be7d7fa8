import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from acs.demo.shipped import LIMA
from acs.posts.services import post_create

pytestmark = pytest.mark.django_db


def test_lima_gets_perus_26_regions_with_their_iso_codes(lima):
    codes = set(lima.regions.values_list("code", flat=True))
    assert len(codes) == 26
    assert {"PE-CUS", "PE-LIM", "PE-LMA", "PE-CAL", "PE-ARE"} <= codes


def test_seeding_twice_changes_nothing(lima):
    again = post_create(**LIMA)
    assert again.pk == lima.pk
    assert again.regions.count() == 26


def test_hotline_is_offered_in_every_dialling_form(lima):
    hotline = lima.hotline
    assert hotline.tel == "+5116182000"
    assert hotline.international == "+51 1 6182000"
    assert hotline.national == "(01) 6182000"
    assert hotline.from_us == "011 51 1 6182000"


def test_country_name_follows_the_reader_language(lima):
    with translation.override("es"):
        assert lima.country_name == "Perú"
    with translation.override("en"):
        assert lima.country_name == "Peru"


@pytest.mark.parametrize(
    ("field", "value"),
    [("time_zone", "Mars/Olympus"), ("emergency_phone", "call us"), ("main_phone", "+51 1")],
)
def test_a_post_with_bad_data_is_refused_and_nothing_is_saved(field, value):
    with pytest.raises(ValidationError):
        post_create(**{**LIMA, "slug": "bad", field: value})
    from acs.posts.models import Post

    assert not Post.objects.filter(slug="bad").exists()


def test_post_seed_command_creates_lima_without_demo_accounts():
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from acs.content.models import Page
    from acs.posts.models import Post

    call_command("post_seed", "lima")
    post = Post.objects.get(slug="lima")
    assert post.regions.count() == 26
    assert Page.objects.filter(post=post).count() == 8
    assert not User.objects.exists()


def test_post_seed_refuses_an_unknown_post_in_plain_words():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="No shipped post 'atlantis'"):
        call_command("post_seed", "atlantis")
