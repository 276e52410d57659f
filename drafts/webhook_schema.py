"""The inbound webhook payload (CONTRACTS.md "Webhooks") as pydantic models.

Every limit here mirrors a column's `max_length`, and text must be storable in PostgreSQL
(no NUL characters, no lone surrogates), so whatever validates here can be inserted as is:
a sender's mistake is a 400 naming the field, never a database error. Over-long values are
refused rather than cut, because most of them are identifiers (cutting one changes identity).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator, validate_email
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)

INBOUND = "message.inbound"
OUTBOUND = "message.outbound"
BIGINT_MAX = 2**63 - 1


def _storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (no lone surrogates)") from None
    return value


def _email(value: str) -> str:
    if value:
        try:
            validate_email(value)
        except DjangoValidationError:
            raise ValueError("must be a valid email address") from None
    return value


_url_validator = URLValidator(schemes=["http", "https"])


def _url(value: str) -> str:
    if value:
        try:
            _url_validator(value)
        except DjangoValidationError:
            raise ValueError("must be an http(s) URL") from None
    return value


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError("is out of the supported date range") from None


Storable = AfterValidator(_storable)


def _bounded(max_length: int, min_length: int = 0) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)


ExternalId = Annotated[str, _bounded(200, min_length=1), Storable]
ThreadId = Annotated[str, _bounded(200), Storable]
Name = Annotated[str, _bounded(200), Storable]
Phone = Annotated[str, _bounded(40), Storable]
Subject = Annotated[str, _bounded(500), Storable]
FileName = Annotated[str, _bounded(500, min_length=1), Storable]
MimeType = Annotated[str, _bounded(200), Storable]
Email = Annotated[str, _bounded(254), Storable, AfterValidator(_email)]
Url = Annotated[str, _bounded(2000), Storable, AfterValidator(_url)]
# Message bodies are kept exactly as sent (no stripping); the 256 KiB body limit bounds them.
Body = Annotated[str, Storable]
Timestamp = Annotated[AwareDatetime, AfterValidator(_utc)]


class _Model(BaseModel):
    # Unknown keys are ignored so senders can add fields without breaking delivery.
    model_config = ConfigDict(extra="ignore", frozen=True)


class AttachmentIn(_Model):
    file_name: FileName
    mime_type: MimeType | None = None
    size_bytes: Annotated[int, Field(ge=0, le=BIGINT_MAX)] | None = None
    url: Url | None = None


class MessageIn(_Model):
    external_id: ExternalId
    sent_at: Timestamp
    subject: Subject | None = None
    body_text: Body | None = None
    body_html: Body | None = None
    attachments: list[AttachmentIn] = Field(default_factory=list)


class LeadIn(_Model):
    external_id: ExternalId
    name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None


class ThreadIn(_Model):
    external_id: ThreadId | None = None
    subject: Subject | None = None


class SenderIn(_Model):
    user_email: Email


class WebhookPayload(_Model):
    type: Literal["message.inbound", "message.outbound"]
    message: MessageIn
    lead: LeadIn
    thread: ThreadIn | None = None
    sender: SenderIn | None = Field(default=None, validate_default=True)

    @field_validator("sender")
    @classmethod
    def _outbound_names_its_sender(cls, sender: SenderIn | None, info: ValidationInfo) -> Any:
        if info.data.get("type") == OUTBOUND and sender is None:
            raise ValueError("is required for message.outbound (sender.user_email)")
        return sender


def payload_error_details(exc: ValidationError) -> list[dict[str, str]]:
    """[{field, message}] for a 400: dotted field paths, messages without the sender's input."""
    details = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        field = ".".join(str(part) for part in error["loc"]) or "body"
        message = error["msg"].removeprefix("Value error, ")
        details.append({"field": printable(field), "message": printable(message)})
    return details


def printable(value: str) -> str:
    """Storable in text and jsonb columns: no NUL, no lone surrogates (headers and error paths
    may carry whatever a sender put there)."""
    return value.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")
