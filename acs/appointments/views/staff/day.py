"""The day's appointments for staff. (Being written.)"""

from django.http import Http404

from acs.core.permissions import staff_view


@staff_view("appointments.view_day")
def day(request):
    raise Http404


@staff_view("appointments.view_day")
def day_csv(request):
    raise Http404


@staff_view("appointments.view_day")
def day_pdf(request):
    raise Http404


@staff_view("appointments.view_booking")
def booking_detail(request, pk):
    raise Http404


@staff_view("appointments.mark_served")
def booking_served(request, pk):
    raise Http404
