"""Public message pages and feeds under /<lang>/messages/, and the personal links in delivered
messages under /<lang>/m/ (welfare answers, unsubscribe)."""

from django.urls import path

from acs.alerts.constants import WelfareAnswer
from acs.alerts.feeds import CapIndexFeed, MessagesFeed
from acs.alerts.views import links, public

app_name = "alerts"

urlpatterns = [
    path("messages/", public.message_list, name="messages"),
    path("messages/feed.atom", MessagesFeed(), name="feed"),
    path("messages/cap.atom", CapIndexFeed(), name="cap-index"),
    path("messages/<uuid:public_id>/", public.message_detail, name="message"),
    path("messages/<uuid:public_id>/cap.xml", public.message_cap, name="message-cap"),
    path("m/unsubscribe/<uuid:token>/", links.unsubscribe, name="unsubscribe"),
    path(
        "m/welfare/<uuid:token>/safe/",
        links.welfare,
        {"answer": WelfareAnswer.SAFE.value},
        name="welfare-safe",
    ),
    path(
        "m/welfare/<uuid:token>/help/",
        links.welfare,
        {"answer": WelfareAnswer.NEED_HELP.value},
        name="welfare-help",
    ),
]
