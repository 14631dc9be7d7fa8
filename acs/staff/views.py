from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from acs.core.permissions import ANY_STAFF, staff_view


@staff_view(ANY_STAFF)
def home(request: HttpRequest) -> HttpResponse:
    """The staff landing page: what this role can open."""
    return render(request, "staff/home.html")


@staff_view("appointments.view_figures")
def figures(request: HttpRequest) -> HttpResponse:
    raise Http404


@staff_view("core.view_auditentry")
def audit(request: HttpRequest) -> HttpResponse:
    raise Http404
