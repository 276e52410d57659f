"""The API tokens page's form (the control plane's forms are `ops.forms`)."""

from __future__ import annotations

from django import forms


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=120,
        help_text="What will use it, for example “CRM sync”.",
        error_messages={"required": "Give the token a name, for example the tool that uses it."},
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "CRM sync"}),
    )
