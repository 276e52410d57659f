"""Root URLs: pages, the API, webhooks and the admin."""

from django.contrib import admin
from django.contrib.auth.views import LogoutView
from django.urls import include, path

from config.api import api
from config.unavailable import server_error
from workspaces.views import ReplydeskLoginView, workspace_switch

handler500 = server_error

urlpatterns = [
    path("accounts/login/", ReplydeskLoginView.as_view(), name="login"),
    path("accounts/logout/", LogoutView.as_view(), name="logout"),
    path("workspace/switch/", workspace_switch, name="workspace-switch"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("", include("ops.urls")),
    path("", include("review.urls")),
    path("", include("drafts.urls")),
    path("", include("workspaces.urls")),
    path("", include("timing.urls")),
    path("", include("pipeline.urls")),
]
