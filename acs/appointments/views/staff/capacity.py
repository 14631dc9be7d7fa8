"""Closures and capacity. (Being written.)"""

from django.http import Http404

from acs.core.permissions import staff_view


@staff_view("appointments.close_unit")
def closures(request):
    raise Http404


@staff_view("appointments.close_unit")
def closure_new(request):
    raise Http404


@staff_view("appointments.manage_capacity")
def capacity(request):
    raise Http404


@staff_view("appointments.manage_capacity")
def service_edit(request, pk):
    raise Http404
