"""Tenant isolation has one home: who may see which workspace, and who is a true super-admin.

Every view, API handler and admin class scopes through these functions. Another workspace's
object is a 404 (never a 403 that would confirm it exists).
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404

from workspaces.models import Membership, Role, Workspace

M = TypeVar("M", bound=Model)
AnyUser = User | AnonymousUser


def is_true_superadmin(user: AnyUser | None) -> bool:
    """Only `is_superuser` counts: staff flags and workspace admin roles do not."""
    return bool(user is not None and user.is_active and getattr(user, "is_superuser", False))


def workspaces_for(user: AnyUser | None) -> QuerySet[Workspace]:
    """The workspaces a user is a member of (super-admins included only where they are members)."""
    if user is None or not user.is_authenticated:
        return Workspace.objects.none()
    return Workspace.objects.filter(memberships__user_id=user.pk).distinct()


def workspace_ids_for(user: AnyUser | None) -> list[Any]:
    if user is None or not user.is_authenticated:
        return []
    return list(Membership.objects.filter(user_id=user.pk).values_list("workspace_id", flat=True))


def membership_for(user: AnyUser | None, workspace: Workspace) -> Membership | None:
    if user is None or not user.is_authenticated:
        return None
    return Membership.objects.filter(user_id=user.pk, workspace=workspace).first()


def is_member(user: AnyUser | None, workspace: Workspace) -> bool:
    return membership_for(user, workspace) is not None


def is_workspace_admin(user: AnyUser | None, workspace: Workspace) -> bool:
    membership = membership_for(user, workspace)
    return is_true_superadmin(user) or (membership is not None and membership.role == Role.ADMIN)


def scope_to_workspace[M: Model](
    queryset: QuerySet[M], workspace: Workspace, field: str = "workspace"
) -> QuerySet[M]:
    """Rows of one workspace only; `field` is the lookup path to the workspace."""
    return queryset.filter(**{field: workspace})


def scope_to_user[M: Model](
    queryset: QuerySet[M], user: AnyUser | None, field: str = "workspace"
) -> QuerySet[M]:
    """Rows of every workspace the user belongs to (admin lists, cross-workspace feeds)."""
    if user is None or not user.is_authenticated:
        return queryset.none()
    return queryset.filter(**{f"{field}__memberships__user_id": user.pk}).distinct()


def get_in_workspace_or_404[M: Model](
    queryset: QuerySet[M], workspace: Workspace, field: str = "workspace", **lookup: Any
) -> M:
    """One object of this workspace, or 404 whether it does not exist or belongs elsewhere."""
    try:
        return scope_to_workspace(queryset, workspace, field).get(**lookup)
    except (ObjectDoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise Http404("Not found.") from exc


def resolve_workspace(user: AnyUser | None, workspace_id: Any | None) -> Workspace | None:
    """The workspace a browser session works in: the chosen one if the user is a member,
    else their first membership, else None."""
    workspaces = workspaces_for(user).order_by("name")
    if workspace_id:
        try:
            chosen = workspaces.filter(pk=workspace_id).first()
        except (ValueError, TypeError, ValidationError):
            chosen = None
        if chosen is not None:
            return chosen
    return workspaces.first()
