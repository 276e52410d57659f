"""Global kill switches, set in the environment and read at call time."""

from __future__ import annotations

from django.conf import settings


def auto_send_disabled() -> bool:
    """`AUTO_SEND_DISABLED=1`: nothing is sent automatically, anywhere."""
    return bool(settings.AUTO_SEND_DISABLED)


def revision_disabled() -> bool:
    """`AUTO_SEND_REVISION_DISABLED=1`: no selector/reviser calls; the evaluator still runs."""
    return bool(settings.AUTO_SEND_REVISION_DISABLED)


def kill_switches() -> dict[str, bool]:
    return {"auto_send_disabled": auto_send_disabled(), "revision_disabled": revision_disabled()}
