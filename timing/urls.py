"""The response-timing analytics page."""

urlpatterns: list = []
