"""Versioned prompt templates. Each file `<key>.<version>.txt` holds a `[system]` and a `[user]`
part with `$placeholders`; `CURRENT` pins the version each key renders with, and every
artifact records the key and version that produced it. A changed prompt is a new file and a
new pin, never an edit in place, so old artifacts still name the text they came from."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from string import Template
from typing import Any

PROMPT_DIR = Path(__file__).resolve().parent
_FILE = re.compile(r"^(?P<key>[a-z_]+)\.(?P<version>v\d+)\.txt$")

CURRENT: dict[str, str] = {
    "draft_strategy": "v1",
    "draft_generation": "v1",
    "draft_verifier": "v1",
    "meeting_extract": "v1",
    "meeting_gate": "v1",
    "auto_send_evaluation": "v1",
    "revision_selector": "v1",
    "revision_reviser": "v1",
}


@dataclass(frozen=True)
class PromptTemplate:
    key: str
    version: str
    system: Template
    user: Template


@dataclass(frozen=True)
class RenderedPrompt:
    """A prompt ready for a provider: the text a model reads, plus the same inputs as data
    (`inputs`) for the offline provider, which works on structure rather than prose."""

    key: str
    version: str
    system: str
    user: str
    inputs: Mapping[str, Any] = field(default_factory=dict)
    # How many times its stage's usual output-token budget this call may use: a reply cut
    # off at the limit is asked again once with a larger budget (pipeline/stages.py).
    max_tokens_scale: int = 1


def _parse(path: Path, key: str, version: str) -> PromptTemplate:
    text = path.read_text(encoding="utf-8")
    match = re.search(r"^\[system\]\n(?P<system>.*?)^\[user\]\n(?P<user>.*)\Z", text, re.M | re.S)
    if match is None:
        raise ValueError(f"{path.name}: needs a [system] and a [user] part")
    return PromptTemplate(
        key=key,
        version=version,
        system=Template(match["system"].strip()),
        user=Template(match["user"].strip()),
    )


@cache
def templates() -> dict[tuple[str, str], PromptTemplate]:
    found = {}
    for path in PROMPT_DIR.glob("*.txt"):
        match = _FILE.match(path.name)
        if match:
            found[(match["key"], match["version"])] = _parse(path, match["key"], match["version"])
    return found


def prompt_render(
    key: str, *, variables: Mapping[str, str], inputs: Mapping[str, Any]
) -> RenderedPrompt:
    """The current version of `key` with `variables` filled in (all must be given)."""
    version = CURRENT[key]
    template = templates()[(key, version)]
    return RenderedPrompt(
        key=key,
        version=version,
        system=template.system.substitute(variables),
        user=template.user.substitute(variables),
        inputs=inputs,
    )
