"""`{{ code|human_label }}`: the label people read for a stored code (see config/labels.py)."""

from __future__ import annotations

from django import template

from config.labels import human_label

register = template.Library()
register.filter("human_label", human_label)
