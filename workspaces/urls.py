"""Control-plane pages (true super-admins only), the API tokens page and the favicon."""

from django.urls import path

from workspaces import token_views, views

urlpatterns = [
    path("favicon.ico", views.favicon, name="favicon"),
    path("settings/api-tokens/", token_views.api_tokens_page, name="api-tokens"),
    path(
        "settings/api-tokens/<uuid:token_id>/revoke",
        token_views.api_token_revoke_view,
        name="api-token-revoke",
    ),
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
