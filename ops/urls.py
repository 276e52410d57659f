"""URLs of the control plane (included from config.urls by name, so config imports no app)."""

from django.urls import path

from ops import views
from ops.metrics import metrics_view

urlpatterns = [
    path("metrics", metrics_view, name="metrics"),
    path("ops/", views.ops_overview, name="ops"),
    path("ops/health/", views.ops_health, name="ops-health"),
    path("ops/feed/", views.ops_feed, name="ops-feed"),
    path("ops/quality/", views.ops_quality, name="ops-quality"),
    path("ops/jobs/", views.ops_jobs, name="ops-jobs"),
    path("ops/workspaces/<uuid:workspace_id>/", views.ops_workspace, name="ops-workspace"),
    path(
        "ops/workspaces/<uuid:workspace_id>/knobs/",
        views.ops_workspace_knobs,
        name="ops-workspace-knobs",
    ),
    path(
        "ops/workspaces/<uuid:workspace_id>/toggle/",
        views.ops_workspace_toggle,
        name="ops-workspace-toggle",
    ),
]
