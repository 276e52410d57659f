"""Who owns a conversation: the operator it is assigned to, or, until anyone assigns it, the
lead's rep. Assigning writes a `ConversationAssignment` row (who, from whom, to whom).

The default is read, not copied: ingest stores messages in one statement and never looks up
an owner, and a conversation nobody assigned follows its lead's rep if the rep changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from drafts.models import Conversation, ConversationAssignment
from workspaces.context import Actor
from workspaces.errors import DomainError
from workspaces.models import Lead, Membership, Workspace

User = get_user_model()


def owned_by_q(user_id: Any, prefix: str = "conversation__") -> Q:
    """Drafts (with the default prefix) or conversations (prefix "") owned by this user."""
    return Q(**{f"{prefix}owner_set_at__isnull": False, f"{prefix}owner_id": user_id}) | Q(
        **{f"{prefix}owner_set_at__isnull": True, f"{prefix}lead__assigned_to_id": user_id}
    )


def unowned_q(prefix: str = "conversation__") -> Q:
    """Owned by nobody: unassigned on purpose, or never assigned and the lead has no rep."""
    return Q(**{f"{prefix}owner_set_at__isnull": False, f"{prefix}owner__isnull": True}) | Q(
        **{f"{prefix}owner_set_at__isnull": True, f"{prefix}lead__assigned_to__isnull": True}
    )


def conversation_owner(conversation: Conversation) -> Any:
    """The owner (a user or None). Load the conversation with `owner` and `lead__assigned_to`
    to make this free."""
    if conversation.owner_set_at is not None:
        return conversation.owner
    return conversation.lead.assigned_to


def workspace_people(*, workspace: Workspace) -> list[Any]:
    """The members an operator can assign a conversation to, by email, each with `is_rep`
    (leads are assigned to them; see `user_is_rep`), all in one query."""
    ids = Membership.objects.filter(workspace=workspace).values("user_id")
    reps = Lead.objects.filter(workspace=workspace, assigned_to_id=OuterRef("pk"))
    return list(
        User.objects.filter(pk__in=ids, is_active=True)
        .annotate(is_rep=Exists(reps))
        .order_by("email", "username")
    )


def user_is_rep(*, workspace: Workspace, user: Any) -> bool:
    """A rep is someone leads are assigned to: their queue opens on "Mine"."""
    return Lead.objects.filter(workspace=workspace, assigned_to_id=user.pk).exists()


def member_by_email(*, workspace: Workspace, email: str) -> Any:
    """The active member of this workspace with this email, or a 400 naming the field."""
    found = (
        User.objects.filter(
            email__iexact=email.strip(),
            is_active=True,
            memberships__workspace=workspace,
        )
        .order_by("pk")
        .first()
    )
    if found is None:
        raise DomainError(
            "No one with that email works in this workspace.",
            details=[{"field": "user_email", "message": "Not a member of this workspace."}],
        )
    return found


@dataclass(frozen=True)
class Assignment:
    conversation_id: Any
    owner: Any
    changed: bool


def conversation_assign(
    *, workspace: Workspace, conversation_id: Any, user_email: str | None, by: Any
) -> Assignment:
    """Give the conversation to the member with `user_email`, or to nobody (None). The row
    is locked while the owner changes, so two people assigning at once leave a history that
    reads in order. Assigning to whoever already owns it changes nothing and writes nothing."""
    new_owner = (
        member_by_email(workspace=workspace, email=user_email) if user_email is not None else None
    )
    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("owner", "lead__assigned_to")
            .get(pk=conversation_id, workspace=workspace)
        )
        previous = conversation_owner(conversation)
        previous_id = previous.pk if previous is not None else None
        new_id = new_owner.pk if new_owner is not None else None
        if previous_id == new_id and conversation.owner_set_at is not None:
            return Assignment(conversation_id=conversation.pk, owner=previous, changed=False)
        Conversation.objects.filter(pk=conversation.pk).update(
            owner_id=new_id, owner_set_at=timezone.now()
        )
        ConversationAssignment.objects.create(
            conversation_id=conversation.pk,
            previous_owner_id=previous_id,
            new_owner_id=new_id,
            assigned_by=by,
        )
    return Assignment(conversation_id=conversation.pk, owner=new_owner, changed=True)


ME = "me"
NOBODY = "none"


def assignee_parse(*, actor: Actor, value: str) -> int | str | None:
    """`me` → the caller's id, `none` → unassigned, an email → that member's id, "" → anyone
    (the `assignee` filter of the queue and the API). An unknown email is a 400."""
    value = (value or "").strip()
    if not value:
        return None
    if value.lower() == ME:
        return int(actor.user.pk)
    if value.lower() == NOBODY:
        return NOBODY
    return int(member_by_email(workspace=actor.workspace, email=value).pk)
