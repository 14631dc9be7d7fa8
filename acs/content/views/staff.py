"""The consular network's posts in the back office: the list, and opening a new post (a
staff task, audited). Routed under /staff/posts/ by ``urls_staff``."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from acs.content.forms import PostForm
from acs.content.services import post_open
from acs.core.permissions import staff_view
from acs.core.ratelimit import client_address
from acs.posts.models import Post


@staff_view("posts.view_post")
@require_safe
def posts(request: HttpRequest) -> HttpResponse:
    """Every post, by country and city, with how many regions its district holds."""
    rows = Post.objects.annotate(region_count=Count("regions")).order_by("country_code", "city")
    can_open = request.user.has_perm("posts.add_post")
    return render(request, "content/staff/posts.html", {"posts": rows, "can_open": can_open})


@staff_view("posts.add_post")
def post_new(request: HttpRequest) -> HttpResponse:
    form = PostForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        details = {k: v for k, v in form.cleaned_data.items() if k != "district"}
        try:
            post = post_open(
                actor=request.user,
                details=details,
                district=form.cleaned_data["district"],
                address=client_address(request),
            )
        except ValidationError as refused:
            _show_refusal(form, refused)
        else:
            messages.success(request, _("%(name)s is open.") % {"name": post.name})
            return redirect("posts:list")
    status = 400 if form.is_bound else 200
    return render(request, "content/staff/post_form.html", {"form": form}, status=status)


def _show_refusal(form: PostForm, refused: ValidationError) -> None:
    """Put the service's refusal on the fields it names (a bad phone, zone or region code)."""
    if not hasattr(refused, "error_dict"):
        form.add_error("district", refused)
        return
    for field, errors in refused.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)
