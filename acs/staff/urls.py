"""The back office under /staff/: every view declares its permission (``staff_view``)."""

from django.urls import path

from acs.appointments.views.staff import capacity, day, door
from acs.staff import views

app_name = "staff"

urlpatterns = [
    path("", views.home, name="home"),
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
    # Closures and capacity
    path("closures/", capacity.closures, name="closures"),
    path("closures/new/", capacity.closure_new, name="closure-new"),
    path("capacity/", capacity.capacity, name="capacity"),
    path("capacity/<int:pk>/", capacity.service_edit, name="service-edit"),
    # Oversight
    path("figures/", views.figures, name="figures"),
    path("audit/", views.audit, name="audit"),
]
