"""Public message pages and feeds under /<lang>/messages/."""

app_name = "alerts"

urlpatterns: list = []
