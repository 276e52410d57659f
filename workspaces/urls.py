"""The API tokens page and the favicon (the control plane's URLs are `ops.urls`)."""

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
]
