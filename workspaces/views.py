"""Login (throttled) and the workspace switcher."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from workspaces.access import resolve_workspace
from workspaces.context import SESSION_WORKSPACE_KEY
from workspaces.throttle import login_failure_record, login_failures_clear, login_is_throttled


def client_address(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", "unknown"))


class ThrottledAuthenticationForm(AuthenticationForm):
    """Refuses further attempts after repeated failures, before checking the password."""

    username = forms.CharField(
        label="Email", widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"})
    )

    def clean(self) -> dict[str, Any]:
        username = self.data.get("username", "")
        address = client_address(self.request) if self.request else "unknown"
        if login_is_throttled(username=username, address=address):
            raise forms.ValidationError(
                "Too many failed sign-ins. Wait a few minutes, then try again.", code="throttled"
            )
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            login_failure_record(username=username, address=address)
            raise
        login_failures_clear(username=username, address=address)
        return cleaned


class ReplydeskLoginView(LoginView):
    form_class = ThrottledAuthenticationForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True


@require_POST
def workspace_switch(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("login")
    workspace = resolve_workspace(request.user, request.POST.get("workspace_id"))
    if workspace is not None:
        request.session[SESSION_WORKSPACE_KEY] = str(workspace.pk)
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    return HttpResponseRedirect(target)
