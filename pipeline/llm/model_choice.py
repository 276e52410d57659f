"""Whether a workspace's model choices exist on the model server it will talk to.

A local or self-hosted OpenAI-compatible server (llama.cpp, vLLM, Ollama) offers a handful of
models, and one it does not offer would be replaced at call time by the deployment's default
(`capabilities.model_resolve`): the person who chose it would never learn that their choice is
not the model writing the drafts. So a choice is checked when it is made, against the server's
`/v1/models` list from the probe (`server_probe.server_capabilities`: probed once per server
and cached, never per keystroke). The offline provider, hosted OpenAI (never probed) and a
server that lists no models have nothing to check against. A server that cannot be reached
does not block the save: the verdict says the check could not be done.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from django.conf import settings

from pipeline.llm.errors import LLMTransientError
from pipeline.llm.openai_provider import openai_clients
from pipeline.llm.server_probe import hosted_openai, server_capabilities
from workspaces.model_choice_port import ModelChoiceVerdict

logger = logging.getLogger("pipeline.llm")

# A settings page waits at most this long for the server (the pipeline's own timeout may be
# a minute: a person saving a form should not wait that long to learn nothing).
CHECK_TIMEOUT_SECONDS = 10.0
# Names listed in a message, at most (a gateway in front of many models lists hundreds).
LISTED_MODELS_MAX = 12


def _server_label(base_url: str) -> str:
    """`127.0.0.1:8090`: where the server is, without any credentials or path in the URL."""
    parts = urlsplit(base_url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname or base_url)


def timeout_seconds() -> float:
    return min(float(settings.LLM_TIMEOUT_SECONDS), CHECK_TIMEOUT_SECONDS)


def models_offered() -> tuple[str, ...] | None:
    """The model names the configured server offers, from its (cached) probe. None when there
    is nothing to check against: the offline provider, hosted OpenAI, a server that lists none.
    Raises `LLMTransientError` when the server cannot be reached."""
    base_url = settings.OPENAI_BASE_URL
    if settings.LLM_PROVIDER != "openai" or hosted_openai(base_url):
        return None
    clients = openai_clients(settings.OPENAI_API_KEY, base_url, timeout_seconds())
    with clients.borrow() as client:
        caps = server_capabilities(client, base_url, settings.LLM_STRUCTURED_OUTPUT)
    return caps.models or None


def model_choice_check(choices: dict[str, str]) -> ModelChoiceVerdict:
    """The verdict on `choices` (knob → model name): a problem per name the server does not
    offer, naming the ones it does; a notice when the server could not be asked."""
    try:
        offered = models_offered()
    except LLMTransientError as exc:
        server = _server_label(str(settings.OPENAI_BASE_URL))
        logger.warning(
            "model choice not checked", extra={"outcome": exc.outcome, "knobs": sorted(choices)}
        )
        return ModelChoiceVerdict(
            notice=f"Saved without checking the model name: the model server ({server}) "
            f"could not be reached within {timeout_seconds():g} s (down, or busy answering).",
        )
    if offered is None:
        return ModelChoiceVerdict()
    listed = ", ".join(offered[:LISTED_MODELS_MAX])
    if len(offered) > LISTED_MODELS_MAX:
        listed += f" and {len(offered) - LISTED_MODELS_MAX} more"
    server = _server_label(str(settings.OPENAI_BASE_URL))
    problems = tuple(
        {
            "field": knob,
            "message": f"The model server ({server}) does not offer “{name}”. It offers: {listed}.",
        }
        for knob, name in choices.items()
        if name not in offered
    )
    return ModelChoiceVerdict(problems=problems)
