"""The back office under /staff/: every view declares its permission (``staff_view``)."""

from django.urls import path

from acs.alerts.views import progress as delivery_staff
from acs.alerts.views import staff as alert_views
from acs.appointments.views.staff import capacity, day, door, rounds, waitlist
from acs.enrollment.views import staff as enrollment
from acs.staff import account_views as accounts
from acs.staff import views

app_name = "staff"

urlpatterns = [
    path("", views.home, name="home"),
    path("post/", views.post_switch, name="post-switch"),
    # The day and each booking (issue: the door and the back office)
    path("day/", day.day, name="day"),
    path("day.csv", day.day_csv, name="day-csv"),
    path("day.pdf", day.day_pdf, name="day-pdf"),
    path("bookings/<int:pk>/", day.booking_detail, name="booking"),
    path("bookings/<int:pk>/served/", door.booking_served, name="booking-served"),
    # The door
    path("door/", door.door, name="door"),
    path("door/check/", door.check, name="door-check"),
    path("door/override/", door.override, name="door-override"),
    path("door/log/", door.door_log, name="door-log"),
    # Closures and capacity
    path("closures/", capacity.closures, name="closures"),
    path("closures/new/", capacity.closure_new, name="closure-new"),
    path("capacity/", capacity.capacity, name="capacity"),
    path("capacity/<int:pk>/", capacity.service_edit, name="service-edit"),
    # Request rounds and the waitlist (issue 13)
    path("rounds/", rounds.rounds, name="rounds"),
    path("rounds/services/<int:pk>/", rounds.service_rounds, name="service-rounds"),
    path(
        "rounds/services/<int:pk>/settings/",
        rounds.service_round_settings,
        name="service-round-settings",
    ),
    path("rounds/<int:pk>/log/", rounds.round_log, name="round-log"),
    path("waitlist/", waitlist.waitlist, name="waitlist"),
    path("waitlist/<int:pk>/", waitlist.service_waitlist, name="service-waitlist"),
    # Enrollees (issue: traveler enrollment)
    path("enrollees/", enrollment.enrollees, name="enrollees"),
    path("enrollees/list/", enrollment.enrollee_list, name="enrollee-list"),
    path("enrollees/list.csv", enrollment.enrollee_csv, name="enrollee-csv"),
    path("enrollees/<int:pk>/", enrollment.enrollee_detail, name="enrollee"),
    # Messages (issue: messages): compose, approve, send
    path("messages/", alert_views.message_list, name="messages"),
    path("messages/new/", alert_views.message_new, name="message-new"),
    path("messages/<int:pk>/", alert_views.message_detail, name="message"),
    path("messages/<int:pk>/edit/", alert_views.message_edit, name="message-edit"),
    path("messages/<int:pk>/approve/", alert_views.message_approve, name="message-approve"),
    path("messages/<int:pk>/publish/", alert_views.message_publish, name="message-publish"),
    path(
        "messages/<int:pk>/send-alone/", alert_views.message_send_alone, name="message-send-alone"
    ),
    path("messages/<int:pk>/follow-up/", alert_views.message_follow_up, name="message-follow-up"),
    # Delivery (issue: messages): progress, welfare
    path("messages/<int:pk>/delivery/", delivery_staff.progress, name="delivery"),
    path("messages/<int:pk>/delivery.json", delivery_staff.progress_json, name="delivery-json"),
    path("messages/<int:pk>/welfare/", delivery_staff.welfare, name="welfare"),
    # Staff accounts and their roles at this post
    path("accounts/", accounts.account_list, name="accounts"),
    path("accounts/new/", accounts.account_new, name="account-new"),
    path("accounts/<int:pk>/", accounts.account_detail, name="account"),
    path("accounts/<int:pk>/roles/give/", accounts.account_role_give, name="account-role-give"),
    path("accounts/<int:pk>/roles/take/", accounts.account_role_take, name="account-role-take"),
    path("accounts/<int:pk>/active/", accounts.account_active, name="account-active"),
    path("accounts/<int:pk>/reset/", accounts.account_reset, name="account-reset"),
    # Oversight
    path("figures/", views.figures, name="figures"),
    path("audit/", views.audit, name="audit"),
]
