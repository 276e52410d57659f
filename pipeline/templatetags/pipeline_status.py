"""`{% waiting_for_provider workspace [conversation] as waiting %}`: the messages whose run is
parked until the model provider answers, so the operator pages say so (rather than leave a
message that simply has no draft yet, or show a failure). Each argument is an object or its id."""

from __future__ import annotations

from typing import Any

from django import template

from pipeline.provider_health import WaitingRun, runs_waiting_for_provider

register = template.Library()


@register.simple_tag
def waiting_for_provider(workspace: Any, conversation: Any = None) -> list[WaitingRun]:
    if not workspace:
        return []
    return runs_waiting_for_provider(
        workspace_id=getattr(workspace, "pk", workspace),
        conversation_id=getattr(conversation, "pk", conversation) or None,
    )
