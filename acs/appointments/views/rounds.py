"""The citizen's pages of request rounds: send a request, confirm it from the email, see where
it stands, and see a round's draw with what anyone needs to check it.

No account, like booking. The request form is one page that works without JavaScript but
for its proof-of-work check; the confirmation is a button behind the emailed link (a mail
scanner that follows links must not confirm for the citizen).
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from acs.appointments import limits, requestpages, selectors
from acs.appointments.requestforms import RequestForms
from acs.appointments.services import rounds
from acs.core import pow as proof_of_work
from acs.core.forms.people import date_of_birth_context
from acs.posts.selectors import post_or_404

GET_POST = require_http_methods(["GET", "HEAD", "POST"])


def service_or_404(slug: str):
    service = selectors.service_get(post=post_or_404(), slug=slug)
    if service is None or not service.by_request:
        raise Http404(slug)
    return service


@never_cache
@GET_POST
def request_form(request: HttpRequest, service: str) -> HttpResponse:
    service_obj = service_or_404(service)
    forms = requestpages.request_forms(request, service_obj)
    posted = request.method == "POST"
    if posted and forms.round is not None and forms.is_valid():
        return _request_send(request, forms)
    return _request_page(request, forms, 400 if posted else 200)


def _request_page(request: HttpRequest, forms: RequestForms, status: int, **extra) -> HttpResponse:
    context = {
        **requestpages.request_page(forms.service, forms, **extra),
        **date_of_birth_context(),
    }
    return render(request, "appointments/request.html", context, status=status)


def _request_send(request: HttpRequest, forms: RequestForms) -> HttpResponse:
    """Rate limits, then the proof of work, then the request (as a booking's confirm)."""
    if limits.request_over_limit(request, forms.email):
        return render(request, "appointments/too_many.html", status=429)
    try:
        proof_of_work.solution_consume(request.POST.get("altcha"))
        made = rounds.request_create(**forms.arguments(), language=request.LANGUAGE_CODE)
    except (proof_of_work.ProofOfWorkError, rounds.RoundError) as error:
        return _request_page(request, forms, 400, error_message=error.message)
    context = {"service": forms.service, "email": made.email, "round": forms.round}
    return render(request, "appointments/request_sent.html", context)


@never_cache
@GET_POST
def request_confirm(request: HttpRequest, token: str) -> HttpResponse:
    found = selectors.request_by_token(token)
    if found is None:
        return render(request, "appointments/invalid_link.html", status=404)
    if request.method != "POST":
        context = requestpages.status_page(found)
        return render(request, "appointments/request_confirm.html", context)
    try:
        rounds.request_confirm(token=token)
    except rounds.RoundError as error:
        context = {**requestpages.status_page(found), "error_message": error.message}
        return render(request, "appointments/request_confirm.html", context, status=400)
    return redirect(
        reverse("appointments:request-status", kwargs={"token": token}) + "?confirmed=1"
    )


@never_cache
@require_safe
def request_status(request: HttpRequest, token: str) -> HttpResponse:
    found = selectors.request_by_token(token)
    if found is None:
        return render(request, "appointments/invalid_link.html", status=404)
    context = requestpages.status_page(found, confirmed=request.GET.get("confirmed") == "1")
    return render(request, "appointments/request_status.html", context)


@require_safe
def round_page(request: HttpRequest, token: str) -> HttpResponse:
    round_ = selectors.round_by_token(token, published=True)
    if round_ is None:
        raise Http404("no such round")
    return render(request, "appointments/round.html", requestpages.round_page(round_))


@require_safe
def round_json(request: HttpRequest, token: str) -> JsonResponse:
    """The round's publication as a file, for ``manage.py round_replay --file``."""
    round_ = selectors.round_by_token(token, published=True)
    if round_ is None:
        raise Http404("no such round")
    response = JsonResponse(requestpages.round_json(round_), json_dumps_params={"indent": 1})
    response["Content-Disposition"] = f'attachment; filename="round-{round_.pk}.json"'
    return response
