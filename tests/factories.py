"""factory_boy factories for the models tests build most often."""

from __future__ import annotations

import uuid

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from drafts.models import Conversation, Draft, Message, Notification, Proposal
from pipeline.models import PipelineArtifact, PipelineRun, Stage
from workspaces.models import Lead, Membership, Role, Workspace, WorkspaceSettings
from workspaces.services import channel_create


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}@example.test")
    email = factory.SelfAttribute("username")
    password = factory.django.Password("pass-12345-word")


class WorkspaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workspace
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Workspace {n}")
    slug = factory.Sequence(lambda n: f"workspace-{n}")

    @factory.post_generation
    def with_settings(obj: Workspace, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            WorkspaceSettings.objects.get_or_create(workspace=obj)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    workspace = factory.SubFactory(WorkspaceFactory)
    role = Role.OPERATOR


def make_channel(workspace: Workspace, kind: str = "email", **kwargs: object):
    return channel_create(workspace=workspace, kind=kind, **kwargs)  # type: ignore[arg-type]


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    workspace = factory.SubFactory(WorkspaceFactory)
    external_id = factory.Sequence(lambda n: f"lead-{n}")
    name = factory.Sequence(lambda n: f"Lead {n}")
    email = factory.Sequence(lambda n: f"lead{n}@example.com")


class ConversationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Conversation

    workspace = factory.SelfAttribute("lead.workspace")
    lead = factory.SubFactory(LeadFactory)
    channel = factory.LazyAttribute(lambda o: make_channel(o.lead.workspace))


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    conversation = factory.SubFactory(ConversationFactory)
    workspace = factory.SelfAttribute("conversation.workspace")
    channel = factory.SelfAttribute("conversation.channel")
    lead = factory.SelfAttribute("conversation.lead")
    direction = Message.Direction.INBOUND
    sender_kind = Message.Sender.LEAD
    external_id = factory.Sequence(lambda n: f"m-{n}")
    body_text = "Hi, what does a 7kW system cost?"
    sent_at = factory.LazyFunction(timezone.now)


class DraftFactory(factory.django.DjangoModelFactory):
    """A pending draft replying to a fresh inbound message (pass `trigger_message` to reuse)."""

    class Meta:
        model = Draft

    trigger_message = factory.SubFactory(MessageFactory)
    conversation = factory.SelfAttribute("trigger_message.conversation")
    workspace = factory.SelfAttribute("trigger_message.workspace")
    text = "Thanks for asking! A 7kW system is usually $14,000 before incentives."
    original_text = factory.SelfAttribute("text")
    prompt_key = "draft_generation_step2"
    prompt_version = "v1"
    auto_send_action = Draft.Action.REVIEW
    auto_send_confidence = 0.62
    original_confidence = 0.62
    held_reason = "below threshold 0.85"


class PipelineRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PipelineRun

    trigger_message = factory.SubFactory(MessageFactory)
    workspace = factory.SelfAttribute("trigger_message.workspace")
    channel = factory.SelfAttribute("trigger_message.channel")
    status = PipelineRun.Status.COMPLETED
    provider = "offline"


class PipelineArtifactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PipelineArtifact

    run = factory.SubFactory(PipelineRunFactory)
    stage = Stage.GENERATION
    iteration = 0
    prompt_key = "draft_generation_step2"
    prompt_version = "v1"
    model = "offline"
    payload = factory.LazyFunction(lambda: {"reply": "…"})
    latency_ms = 12
    input_tokens = 300
    output_tokens = 80


class ProposalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Proposal

    lead = factory.SubFactory(LeadFactory)
    workspace = factory.SelfAttribute("lead.workspace")
    batch_id = factory.LazyFunction(uuid.uuid4)
    field = Proposal.Field.COMPANY
    proposed_value = "Sunrise Roofing"
    source_text = "I run Sunrise Roofing."


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notification

    workspace = factory.SubFactory(WorkspaceFactory)
    kind = Notification.Kind.DRAFT_NEEDS_REVIEW
    title = factory.Sequence(lambda n: f"Draft {n} needs review")


def make_draft(
    workspace: Workspace,
    channel: object,
    *,
    lead: Lead | None = None,
    body: str = "Hi, what does a 7kW system cost?",
    **kwargs: object,
) -> Draft:
    """A draft in `workspace` on `channel`, replying to a new inbound message from `lead`."""
    lead = lead or LeadFactory(workspace=workspace)
    conversation = Conversation.objects.filter(lead=lead, channel=channel).first()
    if conversation is None:
        conversation = ConversationFactory(lead=lead, channel=channel, workspace=workspace)
    message = MessageFactory(conversation=conversation, body_text=body)
    return DraftFactory(trigger_message=message, **kwargs)
