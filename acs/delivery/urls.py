"""The personal links in delivered messages under /<lang>/m/: welfare answers, unsubscribe."""

app_name = "delivery"

urlpatterns: list = []
