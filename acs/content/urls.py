from django.urls import path

from acs.content.views import public

app_name = "content"

urlpatterns = [
    path("", public.home, name="home"),
    path(f"{public.TAXPAYERS_SLUG}/", public.taxpayers, name="taxpayers"),
    path("<slug:slug>/", public.page, name="page"),
]
