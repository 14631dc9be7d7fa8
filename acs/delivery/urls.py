"""The personal links in delivered messages under /<lang>/m/: welfare answers, unsubscribe."""

from django.urls import path

from acs.delivery.constants import WelfareAnswer
from acs.delivery.views import public

app_name = "delivery"

urlpatterns = [
    path("unsubscribe/<uuid:token>/", public.unsubscribe, name="unsubscribe"),
    path(
        "welfare/<uuid:token>/safe/",
        public.welfare,
        {"answer": WelfareAnswer.SAFE.value},
        name="welfare-safe",
    ),
    path(
        "welfare/<uuid:token>/help/",
        public.welfare,
        {"answer": WelfareAnswer.NEED_HELP.value},
        name="welfare-help",
    ),
]
