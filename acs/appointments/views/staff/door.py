"""The door. (Being written.)"""

from django.http import Http404

from acs.core.permissions import staff_view


@staff_view("appointments.perform_checkin")
def door(request):
    raise Http404


@staff_view("appointments.perform_checkin")
def check(request):
    raise Http404


@staff_view("appointments.override_checkin")
def override(request):
    raise Http404
