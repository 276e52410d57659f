"""Words for people: the codes the system stores (gate categories, knob names, kill switches,
sources of a change) mapped to the labels pages show. Data only, one table, so every page
says the same thing for the same code. `human_label` is the one filter for codes (in both
`{% load labels %}` and `{% load review %}`); it falls back to the code with its underscores
spaced out, so a new code still reads as words until it gets a label here."""

from __future__ import annotations

LABELS: dict[str, str] = {
    # Safety-gate categories (autosend.gate.Category): why a draft was blocked.
    "auto_reply": "Automatic reply or bounce",
    "legal_threat": "Legal threat",
    "threat": "Threat",
    "sensitive_situation": "Sensitive situation",
    "prompt_injection": "Attempt to manipulate the AI",
    "opt_out": "Asked to stop messages",
    "complaint": "Complaint",
    "wrong_person": "Wrong person",
    "already_customer": "Already a customer",
    "asks_for_human": "Asked for a person",
    "unsupported_commitment": "Promise we cannot back",
    # Global kill switches (environment variables).
    "AUTO_SEND_DISABLED": "Automatic sending stopped for every workspace",
    "AUTO_SEND_REVISION_DISABLED": "Revision loop stopped for every workspace",
    # Workspace knobs (workspaces.models.KNOBS).
    "auto_send_enabled": "Auto-send",
    "auto_send_confidence_threshold": "Confidence threshold",
    "auto_send_delay_min_seconds": "Shortest delay before an automatic send",
    "auto_send_delay_max_seconds": "Longest delay before an automatic send",
    "revision_enabled": "Revision (canary)",
    "revision_model": "Revision model",
    "revision_reasoning_effort": "Revision reasoning effort",
    "revision_max_iterations": "Most revision rounds",
    "draft_model": "Drafting model",
    "lead_context_bundle_enabled": "Lead context bundle",
    "meeting_booking_gate_enabled": "Meeting booking check",
    "reply_guidelines": "Reply guidelines",
    "message_retention_days": "Message retention (days)",
    # Why a booked send was called off (ScheduledSend.cancel_reason).
    "undone": "Undone by an operator",
    "stale": "The thread changed before it went out",
    "newer_inbound": "The lead wrote again before it went out",
    "rejected by operator": "Rejected by an operator",
    "draft_changed": "The draft was edited after it was booked",
    "kill_switch": "Automatic sending was stopped",
    "auto_send_off": "Auto-send was turned off",
    "human_replied": "A person replied from another tool",
    # LLM providers (PipelineRun.provider).
    "offline": "Offline model (built in, for demos and tests)",
    "openai": "OpenAI",
    # Where a knob change came from (SettingsChange.source).
    "ops": "Control plane",
    "admin": "Django admin",
    "api": "API",
    "provision": "Provisioning",
}


def human_label(code: object) -> str:
    """The label for `code`, or the code itself in words when it has none ("" for empty)."""
    text = "" if code is None else str(code)
    return LABELS.get(text) or text.replace("_", " ").strip()
