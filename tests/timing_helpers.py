"""Hand-built threads with exact timestamps for the response-timing tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from autosend.models import ScheduledSend
from drafts.models import Conversation, Draft, Message
from tests.factories import LeadFactory
from workspaces.models import Channel, Lead, Workspace

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@dataclass
class Thread:
    """One lead on one channel; `inbound`, `setter` and `ai` add messages at T0 + seconds."""

    workspace: Workspace
    channel: Channel
    lead: Lead
    conversation: Conversation
    base: datetime = T0
    messages: list[Message] = field(default_factory=list)

    @classmethod
    def start(
        cls,
        workspace: Workspace,
        channel: Channel,
        lead: Lead | None = None,
        *,
        base: datetime = T0,
    ) -> Thread:
        lead = lead or LeadFactory(workspace=workspace)
        conversation, _ = Conversation.objects.get_or_create(
            workspace=workspace, channel=channel, lead=lead, external_id=""
        )
        return cls(workspace, channel, lead, conversation, base)

    def at(self, seconds: float) -> datetime:
        return self.base + timedelta(seconds=seconds)

    def _message(self, seconds: float, **fields: Any) -> Message:
        message = Message.objects.create(
            workspace=self.workspace,
            channel=self.channel,
            conversation=self.conversation,
            lead=self.lead,
            external_id=f"{self.conversation.pk}-{len(self.messages)}-{seconds}",
            sent_at=self.at(seconds),
            body_text="…",
            **fields,
        )
        self.messages.append(message)
        return message

    def inbound(self, seconds: float) -> Message:
        return self._message(seconds, direction="inbound", sender_kind="lead")

    def setter(self, seconds: float, user: Any = None, email: str = "") -> Message:
        return self._message(
            seconds,
            direction="outbound",
            sender_kind="user",
            sender_user=user,
            sender_email=email or (user.email if user else ""),
        )

    def ai(
        self,
        seconds: float,
        *,
        trigger: Message,
        delay: tuple[int, int] | None = None,
        started: float | None = None,
        finished: float | None = None,
    ) -> Message:
        """An AI reply drafted for `trigger`; with `delay` (min, max) it went out through a
        ScheduledSend due at the trigger's time plus the delay chosen for the trigger."""
        draft = Draft.objects.create(
            workspace=self.workspace,
            conversation=self.conversation,
            trigger_message=trigger,
            status=Draft.Status.SENT,
            text="…",
            original_text="…",
        )
        if delay is not None:
            from autosend.scheduling import chosen_delay_seconds

            chosen = chosen_delay_seconds(trigger.pk, *delay)
            ScheduledSend.objects.create(
                workspace=self.workspace,
                draft=draft,
                conversation=self.conversation,
                text="…",
                run_at=trigger.sent_at + timedelta(seconds=chosen),
                chosen_delay_seconds=chosen,
                delay_min_seconds=delay[0],
                delay_max_seconds=delay[1],
                status=ScheduledSend.Status.SENT if finished is not None else "sending",
                started_at=self.at(started) if started is not None else None,
                finished_at=self.at(finished) if finished is not None else None,
            )
        return self._message(seconds, direction="outbound", sender_kind="ai", draft=draft)


def sample_history(tenant: Any, other_tenant: Any) -> None:
    """Burst openers' setter replies: 60 s, 120 s, 300 s (email) and 10 s (sms);
    AI replies: 30 s, 300 s (email) and 90 s (sms)."""
    email = tenant.email_channel
    one = Thread.start(tenant.workspace, email)
    first = one.inbound(0)
    one.ai(30, trigger=first)
    one.setter(60, user=tenant.rep)

    two = Thread.start(tenant.workspace, email)
    two.inbound(100)
    second = two.inbound(110)  # in the same burst: not counted on its own
    two.setter(220, user=tenant.operator)
    two.ai(400, trigger=second)

    three = Thread.start(tenant.workspace, email)
    three.inbound(200)
    three.setter(500, email="closer@elsewhere.test")

    Thread.start(tenant.workspace, email).inbound(300)  # never answered

    sms = Thread.start(tenant.workspace, tenant.sms_channel)
    text = sms.inbound(50)
    sms.setter(60, user=tenant.rep)
    sms.ai(140, trigger=text)

    # The day before the window, and another workspace: never counted.
    early = Thread.start(tenant.workspace, email, base=T0 - timedelta(days=1))
    early.inbound(0)
    early.setter(1, user=tenant.rep)
    theirs = Thread.start(other_tenant.workspace, other_tenant.email_channel)
    theirs.inbound(0)
    theirs.setter(1, user=other_tenant.rep)
    theirs.ai(2, trigger=theirs.messages[0])
