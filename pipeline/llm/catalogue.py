"""Known models and what they accept. Workspace knobs and callers name models freely; only
names in this list (or the configured default) reach a provider."""

from __future__ import annotations

from django.conf import settings

OFFLINE_MODEL = "offline-rules-v1"

# name → takes `reasoning_effort`
KNOWN_MODELS: dict[str, bool] = {
    "gpt-5.2": True,
    "gpt-5.1": True,
    "gpt-5": True,
    "gpt-5-mini": True,
    "gpt-5-nano": True,
    "o4-mini": True,
    "o3": True,
    "o3-mini": True,
    "o1": True,
    "gpt-4.1": False,
    "gpt-4.1-mini": False,
    "gpt-4.1-nano": False,
    "gpt-4o": False,
    "gpt-4o-mini": False,
}
REASONING_EFFORTS = ("minimal", "low", "medium", "high")


def default_model() -> str:
    return str(settings.LLM_DEFAULT_MODEL)


def model_coerce(name: str | None) -> str:
    """`name` if it is a known model or the configured default (which may be a local server's
    model, e.g. on vLLM), else the configured default."""
    cleaned = (name or "").strip()
    if cleaned in KNOWN_MODELS or (cleaned and cleaned == default_model()):
        return cleaned
    return default_model()


def reasoning_effort_for(model: str, effort: str | None) -> str | None:
    """The effort to send: only to models that take one, only a known value, else none."""
    if not KNOWN_MODELS.get(model, False):
        return None
    cleaned = (effort or "").strip().lower()
    return cleaned if cleaned in REASONING_EFFORTS else None
