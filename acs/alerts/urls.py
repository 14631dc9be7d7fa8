"""Public message pages and feeds under /<lang>/messages/."""

from django.urls import path

from acs.alerts.feeds import CapIndexFeed, MessagesFeed
from acs.alerts.views import public

app_name = "alerts"

urlpatterns = [
    path("", public.message_list, name="messages"),
    path("feed.atom", MessagesFeed(), name="feed"),
    path("cap.atom", CapIndexFeed(), name="cap-index"),
    path("<uuid:public_id>/", public.message_detail, name="message"),
    path("<uuid:public_id>/cap.xml", public.message_cap, name="message-cap"),
]
