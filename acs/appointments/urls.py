from django.urls import path

from acs.appointments.views import public, rounds

app_name = "appointments"

urlpatterns = [
    path("", public.start, name="start"),
    path("manage/", public.find, name="find"),
    path("manage/<str:token>/", public.manage, name="manage"),
    path("manage/<str:token>/cancel/", public.cancel, name="cancel"),
    path("manage/<str:token>/reschedule/", public.reschedule, name="reschedule"),
    path("manage/<str:token>/appointment.ics", public.calendar, name="ics"),
    path("manage/<str:token>/qr.svg", public.qr, name="qr"),
    path("confirm/<str:token>/", public.email_hold, name="email_hold"),
    path("waitlist/<str:token>/", public.waitlist_entry, name="waitlist_entry"),
    path("waitlist/offer/<str:token>/", public.waitlist_offer, name="waitlist_offer"),
    path("rounds/<str:token>/", rounds.round_page, name="round"),
    path("rounds/<str:token>/draw.json", rounds.round_json, name="round-json"),
    path("requests/<str:token>/", rounds.request_status, name="request-status"),
    path("requests/<str:token>/confirm/", rounds.request_confirm, name="request-confirm"),
    path("<slug:service>/request/", rounds.request_form, name="request"),
    path("<slug:service>/", public.service, name="service"),
    path("<slug:service>/when/", public.when, name="when"),
    path("<slug:service>/people/", public.people, name="people"),
    path("<slug:service>/review/", public.review, name="review"),
    path("<slug:service>/check-your-email/", public.email_hold_sent, name="email_hold_sent"),
    path("<slug:service>/waitlist/", public.waitlist_join, name="waitlist"),
    path("<slug:service>/waitlist/sent/", public.waitlist_sent, name="waitlist_sent"),
]
