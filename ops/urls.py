"""URLs of the control plane (included from config.urls by name, so config imports no app)."""

from django.urls import path

from ops.metrics import metrics_view

urlpatterns = [
    path("metrics", metrics_view, name="metrics"),
]
