"""Control-plane pages (true super-admins only)."""

from django.urls import path

from workspaces import views

urlpatterns = [
    path("ops/", views.ops_overview, name="ops"),
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
