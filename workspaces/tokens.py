"""API tokens: `rdk_<prefix>_<secret>`; only SHA-256 of the whole token is stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from django.conf import settings
from django.db.models import F, QuerySet
from django.utils import timezone

from workspaces.models import ApiToken, Workspace

TOKEN_PREFIX = "rdk_"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _compose(prefix: str, secret_part: str) -> str:
    return f"{TOKEN_PREFIX}{prefix}_{secret_part}"


def generate_token() -> tuple[str, str]:
    """A fresh token and its public prefix (the part shown in lists)."""
    prefix = secrets.token_hex(4)
    return _compose(prefix, secrets.token_urlsafe(32)), prefix


def derived_token(*, workspace: Workspace, purpose: str) -> tuple[str, str]:
    """A token derived from SECRET_KEY, so provisioning can print the same token on every run
    without storing it in plain text."""
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"{purpose}:{workspace.pk}".encode(), hashlib.sha256
    ).hexdigest()
    prefix = digest[:8]
    return _compose(prefix, digest[8:56]), prefix


def api_token_authenticate(*, raw: str) -> ApiToken | None:
    """The live token matching `raw`, compared in constant time; None for anything else."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    prefix = raw[len(TOKEN_PREFIX) :].split("_", 1)[0]
    candidate_hash = hash_token(raw)
    for token in ApiToken.objects.select_related("user", "workspace").filter(
        prefix=prefix, revoked_at__isnull=True
    ):
        if hmac.compare_digest(token.token_hash, candidate_hash) and token.user.is_active:
            now = timezone.now()
            # Record use at most once a minute: a write per API call would cost more than it tells.
            if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
                ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            return token
    return None


def api_tokens_of(*, workspace: Workspace, user: Any) -> QuerySet[ApiToken]:
    """A person's tokens in one workspace for the tokens page: live ones first, newest first."""
    return ApiToken.objects.filter(workspace=workspace, user=user).order_by(
        F("revoked_at").desc(nulls_first=True), "-created_at"
    )
