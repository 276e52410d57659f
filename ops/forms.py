"""Forms of the control plane (/ops/). They parse what the browser sent; the rules (ranges, min <=
max, who may change revision knobs) live in `workspace_settings_update` alone."""

from __future__ import annotations

from typing import Any

from django import forms

from ops.figures import FEED_SOURCES
from pipeline.models import AIInteraction, Stage
from workspaces.errors import DomainError
from workspaces.models import JobRun, JobType, ReasoningEffort, Workspace, WorkspaceSettings

ON_OFF = {"on": True, "off": False}


class KnobsForm(forms.Form):
    """The numeric and text knobs of one workspace (the on/off knobs are `ToggleForm`s).

    Every field carries its rendered value as a hidden initial, so only the fields the person
    changed are sent: a stale page never reverts someone else's change to another knob.
    """

    auto_send_confidence_threshold = forms.FloatField(
        label="Confidence threshold",
        widget=forms.NumberInput(attrs={"step": "0.01"}),
        show_hidden_initial=True,
    )
    auto_send_delay_min_seconds = forms.IntegerField(
        label="Delay min (s)", show_hidden_initial=True
    )
    auto_send_delay_max_seconds = forms.IntegerField(
        label="Delay max (s)", show_hidden_initial=True
    )
    revision_model = forms.CharField(label="Revision model", show_hidden_initial=True)
    revision_reasoning_effort = forms.ChoiceField(
        label="Reasoning effort", choices=ReasoningEffort.choices, show_hidden_initial=True
    )
    revision_max_iterations = forms.TypedChoiceField(
        label="Max iterations",
        choices=[(n, str(n)) for n in (1, 2, 3)],
        coerce=int,
        show_hidden_initial=True,
    )
    message_retention_days = forms.IntegerField(
        label="Message retention (days)",
        required=False,
        help_text="Empty: message bodies are kept.",
        show_hidden_initial=True,
    )

    def __init__(self, *args: Any, ws_settings: WorkspaceSettings, **kwargs: Any) -> None:
        kwargs["initial"] = {name: getattr(ws_settings, name) for name in self.base_fields}
        super().__init__(*args, **kwargs)
        self.auto_id = f"id_{ws_settings.workspace_id}_%s"

    def changes(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.changed_data}

    def add_domain_error(self, exc: DomainError) -> None:
        """Put each `{"field", "message"}` of a refusal next to its field."""
        details = exc.details if isinstance(exc.details, list) else []
        placed = False
        for item in details:
            if isinstance(item, dict) and item.get("field") in self.fields:
                self.add_error(item["field"], str(item.get("message", exc.message)))
                placed = True
        if not placed:
            self.add_error(None, exc.message)


class ToggleForm(forms.Form):
    """Turn one on/off knob to an explicit value (a repeated click changes nothing more)."""

    field = forms.ChoiceField(
        choices=[("auto_send_enabled", "Auto-send"), ("revision_enabled", "Revision")]
    )
    value = forms.ChoiceField(choices=[("on", "on"), ("off", "off")])
    next = forms.CharField(required=False)
    confirmed = forms.BooleanField(required=False)

    def changes(self) -> dict[str, bool]:
        return {self.cleaned_data["field"]: ON_OFF[self.cleaned_data["value"]]}

    def needs_confirmation(self) -> bool:
        """Turning auto-send on lets drafts go out with no person reading them: the page asks
        first (saying what it affects), then sends the same form back with `confirmed`."""
        return self.changes() == {"auto_send_enabled": True} and not self.cleaned_data["confirmed"]


class FeedFilterForm(forms.Form):
    stage = forms.ChoiceField(choices=[("", "Any stage"), *Stage.choices], required=False)
    workspace = forms.ModelChoiceField(
        queryset=Workspace.objects.order_by("name"),
        required=False,
        empty_label="Any workspace",
    )
    outcome = forms.ChoiceField(
        choices=[("", "Any outcome"), *AIInteraction.Outcome.choices], required=False
    )
    source = forms.ChoiceField(
        choices=[("", "Calls and artifacts"), *FEED_SOURCES.items()], required=False
    )


class JobFilterForm(forms.Form):
    type = forms.ChoiceField(choices=[("", "Any job"), *JobType.choices], required=False)
    status = forms.ChoiceField(choices=[("", "Any status"), *JobRun.Status.choices], required=False)
