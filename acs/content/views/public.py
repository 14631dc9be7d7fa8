from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import render
from django.template.loader import select_template

from acs.appointments.selectors import closure_notices
from acs.content import taxcheck
from acs.content.forms import TaxpayerCheckerForm
from acs.content.models import Page
from acs.content.selectors import page_get
from acs.core.pagecache import public_page
from acs.posts.selectors import post_default

TAXPAYERS_SLUG = "overseas-taxpayers"


def _page_or_404(slug: str) -> Page:
    post = post_default()
    page = page_get(post=post, slug=slug) if post else None
    if page is None:
        raise Http404(slug)
    return page


@public_page
def home(request: HttpRequest) -> HttpResponse:
    page = _page_or_404("home")
    notices = closure_notices(post=page.post)
    return render(request, "content/home.html", {"page": page, "closure_notices": notices})


@public_page
def page(request: HttpRequest, slug: str) -> HttpResponse:
    page = _page_or_404(slug)
    # A page may have a template of its own (the emergency page adds the dialling box).
    template = select_template([f"content/page_{slug}.html", "content/page.html"])
    return HttpResponse(template.render({"page": page}, request))


def taxpayers(request: HttpRequest) -> HttpResponse:
    """The overseas-taxpayers page with its checker; answers are posted, never kept."""
    page = _page_or_404(TAXPAYERS_SLUG)
    result = None
    if request.method == "POST":
        form = TaxpayerCheckerForm(request.POST)
        if form.is_valid():
            result = taxcheck.check(form.answers())
    else:
        form = TaxpayerCheckerForm()
    status = 400 if form.is_bound and not form.is_valid() else 200
    context = {
        "page": page,
        "form": form,
        "result": result,
        "tax_year": taxcheck.thresholds()["tax_year"],
    }
    return render(request, "content/taxpayers.html", context, status=status)


# The first path segment of today's public URLs that are not pages: they all moved under a post.
_SECTIONS = {"appointments", "enroll", "messages", "m"}


def without_post(request: HttpRequest, rest: str) -> HttpResponse:
    """A URL of before posts were named (``/en/appointments/…``, ``/es/m/unsubscribe/…``, a
    link in an email already sent): the same path under the default post, permanently (308
    for a form's post, so it is posted again). A first segment that is neither a section nor
    a page of that post is an unknown post: 404."""
    post = post_default()
    first = rest.split("/", 1)[0]
    known = first in _SECTIONS or (post and page_get(post=post, slug=first) is not None)
    if post is None or not known:
        raise Http404(rest)
    language = request.path_info.split("/", 2)[1]
    target = f"/{language}/{post.slug}{request.get_full_path()[len(language) + 1 :]}"
    if request.method in ("GET", "HEAD"):
        return HttpResponsePermanentRedirect(target)
    return HttpResponsePermanentRedirect(target, status=308)
