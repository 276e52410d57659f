"""Lead-profile proposals: the lead's assigned rep accepts, edits then accepts, or rejects
them, one by one or a whole batch. Anyone else is refused (403) before anything changes.

Status moves pending → accepted | rejected by compare-and-swap; decided proposals stay, with
the lead's value before (`previous_value`) and the value applied (`applied_value`).
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Field
from django.utils import timezone

from drafts.models import Proposal
from workspaces.errors import Conflict, DomainError, NotFound, PermissionDenied
from workspaces.models import Lead, WebhookEvent, Workspace
from workspaces.webhooks_out import EventRecord, webhook_deliveries_record

P = Proposal.Status


def proposal_check_decider(*, lead: Lead, user: Any) -> None:
    """Only the lead's assigned rep decides what goes on the lead's profile."""
    if lead.assigned_to_id is None or lead.assigned_to_id != user.pk:
        raise PermissionDenied(
            "Only the lead's assigned rep can decide on these proposals.",
            details={"lead_id": str(lead.pk), "assigned_to_id": lead.assigned_to_id},
        )


def _known_timezone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def proposal_value_clean(*, field: str, value: str) -> str:
    """The value as it would be stored on the lead, or a 400 naming what is wrong."""
    value = (value or "").strip()
    try:
        model_field = Lead._meta.get_field(field)
    except Exception as exc:  # an unknown field name cannot come from a valid proposal
        raise DomainError(f"Unknown lead field {field!r}.") from exc
    assert isinstance(model_field, Field)
    problem = ""
    if not value:
        problem = "Cannot be empty."
    elif field == "timezone" and not _known_timezone(value):
        problem = "Not a known time zone (e.g. Europe/Berlin)."
    else:
        try:
            value = model_field.clean(value, None)
        except ValidationError as exc:
            problem = " ".join(exc.messages)
    if problem:
        raise DomainError(
            f"That is not a valid {field}.", details=[{"field": "value", "message": problem}]
        )
    return str(value)


def _decide(
    *, proposals: list[Proposal], user: Any, accept: bool, values: dict[UUID, str]
) -> list[Proposal]:
    """Apply or reject pending proposals in one transaction. Leads are locked first so the
    recorded previous value is the one actually replaced. Acceptances record their outbound
    webhook deliveries in the same transaction (sent after commit, never blocking this)."""
    now = timezone.now()
    lead_ids = sorted({p.lead_id for p in proposals})
    leads = {lead.pk: lead for lead in Lead.objects.select_for_update().filter(pk__in=lead_ids)}
    for proposal in proposals:
        proposal_check_decider(lead=leads[proposal.lead_id], user=user)
    decided: list[Proposal] = []
    for proposal in proposals:
        lead = leads[proposal.lead_id]
        fields: dict[str, Any] = {"decided_by_id": user.pk, "decided_at": now}
        if accept:
            applied = values[proposal.pk]
            fields |= {
                "status": P.ACCEPTED,
                "previous_value": getattr(lead, proposal.field) or "",
                "applied_value": applied,
            }
        else:
            fields["status"] = P.REJECTED
        if not Proposal.objects.filter(pk=proposal.pk, status=P.PENDING).update(**fields):
            raise Conflict(
                "This proposal was already decided.",
                details={"proposal_id": str(proposal.pk)},
            )
        if accept:
            setattr(lead, proposal.field, fields["applied_value"])
            Lead.objects.filter(pk=lead.pk).update(
                **{proposal.field: fields["applied_value"], "updated_at": now}
            )
        for name, value in fields.items():
            setattr(proposal, name, value)
        decided.append(proposal)
    if accept:
        webhook_deliveries_record(
            event=WebhookEvent.PROPOSAL_ACCEPTED,
            records=[
                EventRecord(
                    workspace_id=p.workspace_id,
                    event_key=f"proposal:{p.pk}",
                    payload=proposal_accepted_payload(proposal=p, lead=leads[p.lead_id], user=user),
                )
                for p in decided
            ],
        )
    return decided


def proposal_accepted_payload(*, proposal: Proposal, lead: Lead, user: Any) -> dict[str, Any]:
    """The `proposal.accepted` webhook event; `lead` as it is after the acceptance."""
    accepted_at = proposal.decided_at or timezone.now()
    return {
        "type": WebhookEvent.PROPOSAL_ACCEPTED.value,
        "workspace_id": str(proposal.workspace_id),
        "proposal_id": str(proposal.pk),
        "lead": {"id": str(lead.pk), "external_id": lead.external_id, "name": lead.name},
        "field": proposal.field,
        "previous_value": proposal.previous_value,
        "applied_value": proposal.applied_value,
        "accepted_by": getattr(user, "email", "") or getattr(user, "username", ""),
        "accepted_at": accepted_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    }


def _pending_or_conflict(proposal: Proposal) -> None:
    if proposal.status != P.PENDING:
        raise Conflict(
            f"This proposal was already {proposal.status}.",
            details={"proposal_id": str(proposal.pk), "status": proposal.status},
        )


def proposal_accept(*, proposal: Proposal, user: Any, value: str | None = None) -> Proposal:
    """Accept one proposal, as proposed or with `value` edited by the rep; the lead changes."""
    proposal_check_decider(lead=proposal.lead, user=user)
    _pending_or_conflict(proposal)
    applied = proposal_value_clean(
        field=proposal.field, value=proposal.proposed_value if value is None else value
    )
    with transaction.atomic():
        return _decide(proposals=[proposal], user=user, accept=True, values={proposal.pk: applied})[
            0
        ]


def proposal_reject(*, proposal: Proposal, user: Any) -> Proposal:
    """Reject one proposal; the lead stays as it is and the proposal is kept as rejected."""
    proposal_check_decider(lead=proposal.lead, user=user)
    _pending_or_conflict(proposal)
    with transaction.atomic():
        return _decide(proposals=[proposal], user=user, accept=False, values={})[0]


def proposal_batch_decide(
    *, workspace: Workspace, batch_id: UUID, user: Any, accept: bool
) -> list[Proposal]:
    """Accept or reject every pending proposal of a batch, all or nothing. A batch of another
    workspace is a 404; a batch with nothing pending left is a 409."""
    batch = list(
        Proposal.objects.filter(workspace=workspace, batch_id=batch_id)
        .select_related("lead")
        .order_by("created_at", "id")
    )
    if not batch:
        raise NotFound("Not found.")
    for proposal in batch:
        proposal_check_decider(lead=proposal.lead, user=user)
    pending = [p for p in batch if p.status == P.PENDING]
    if not pending:
        raise Conflict("Every proposal of this batch was already decided.")
    values = (
        {p.pk: proposal_value_clean(field=p.field, value=p.proposed_value) for p in pending}
        if accept
        else {}
    )
    with transaction.atomic():
        return _decide(proposals=pending, user=user, accept=accept, values=values)
