"""factory_boy factories for the models tests build most often."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from drafts.models import Conversation, Draft, Message
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
    class Meta:
        model = Draft

    trigger_message = factory.SubFactory(MessageFactory)
    conversation = factory.SelfAttribute("trigger_message.conversation")
    workspace = factory.SelfAttribute("trigger_message.workspace")
    text = "Hi! A 7kW system is about $21,000 before the federal tax credit."
    original_text = factory.SelfAttribute("text")
