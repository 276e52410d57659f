"""Helpers the pipeline tests share: the demo knowledge workspace and inbound messages."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from django.utils import timezone

from drafts.models import Conversation, Message
from ops.provisioning import DEMO_KNOWLEDGE, Provisioned, workspace_provision
from pipeline.knowledge import knowledge_file_read
from tests.factories import LeadFactory, MessageFactory
from workspaces.models import Channel, Lead

DEV_SET = Path(__file__).resolve().parent / "data" / "inbound_dev.jsonl"


def dev_rows() -> list[dict[str, Any]]:
    return [json.loads(line) for line in DEV_SET.read_text().splitlines() if line.strip()]


def demo_workspace(name: str = "Acme Solar") -> Provisioned:
    return workspace_provision(
        name=name,
        channel_kinds=["email", "sms"],
        knowledge=knowledge_file_read(DEMO_KNOWLEDGE),
    )


def channel_of(provisioned: Provisioned, kind: str) -> Channel:
    return next(c for c in provisioned.channels if c.kind == kind)


def inbound(
    channel: Channel,
    text: str,
    *,
    lead: Lead | None = None,
    conversation: Conversation | None = None,
    sent_at: datetime | None = None,
) -> Message:
    """An inbound message from a lead (a new one unless given) in a conversation."""
    if conversation is None:
        lead = lead or LeadFactory(workspace=channel.workspace, name="Sam Rivera")
        conversation = Conversation.objects.create(
            workspace=channel.workspace, channel=channel, lead=lead
        )
    return MessageFactory(
        conversation=conversation,
        body_text=text,
        sent_at=sent_at or timezone.now(),
    )


_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_LINK = re.compile(r"https?://[^\s)]+")


def numbers_and_links(text: str) -> set[str]:
    """Every number (commas dropped) and link in a text: what a draft may not invent."""
    links = {link.rstrip(".,;:!?") for link in _LINK.findall(text)}
    rest = _LINK.sub(" ", text)
    return links | {number.replace(",", "") for number in _NUMBER.findall(rest)}
