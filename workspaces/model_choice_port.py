"""The seam through which the settings service asks whether a workspace's model choices exist
on the model server, without importing the layer that talks to it.

The pipeline (which owns the LLM gateway and the server probe) plugs its check in from
`PipelineConfig.ready` (`model_choice_checker_register`); workspaces, the base layer, imports
nothing of the pipeline, and `lint-imports` keeps it that way. With no checker registered
(a process without the pipeline app), nothing is checked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# The knobs that name a model.
MODEL_KNOBS = ("draft_model", "revision_model")


@dataclass(frozen=True)
class ModelChoiceVerdict:
    """`problems`: `{"field", "message"}` per choice the server does not offer (the save is
    refused). `notice`: a check that could not be done (the save goes ahead, the person is told)."""

    problems: tuple[dict[str, str], ...] = ()
    notice: str = ""


# choices (knob → model name) → verdict
ModelChoiceChecker = Callable[[dict[str, str]], ModelChoiceVerdict]

_checker: ModelChoiceChecker | None = None


def model_choice_checker_register(checker: ModelChoiceChecker) -> None:
    """Called once, from the pipeline's AppConfig.ready."""
    global _checker
    _checker = checker


def model_choices_verdict(choices: dict[str, str]) -> ModelChoiceVerdict:
    """The registered checker's verdict on `choices`; nothing to say when none is registered
    or nothing names a model."""
    if _checker is None or not choices:
        return ModelChoiceVerdict()
    return _checker(choices)
