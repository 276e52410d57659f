"""PostgreSQL refusing the web's connections (its role is out of connection slots, as with
`too many clients`): the sender gets 503 + Retry-After, never a 500, and nothing is kept; once
the database takes connections again the same webhook is accepted once and drafted by the
worker like any other message."""

from __future__ import annotations

import time
from typing import Any

import pytest

from drafts.models import Draft, Message
from tests.faults.conftest import post_webhook, wait_until
from tests.live_processes import subprocess_env
from tests.pipeline_support import channel_of, demo_workspace
from tests.test_unavailable import _database_back, refused_role, url_as_role
from tests.webhooks import payload

pytestmark = [pytest.mark.faults, pytest.mark.worker]
__all__ = ["refused_role"]  # the fixture, used by name


def test_a_webhook_refused_by_the_database_is_503_then_accepted_once_and_drafted(
    stack, refused_role: str
):
    demo = demo_workspace()
    channel = channel_of(demo, "email")
    refused_url = url_as_role(subprocess_env()["DATABASE_URL"], refused_role)
    stack.up(web_env={"DATABASE_URL": refused_url, "DB_POOL_TIMEOUT": "2"})
    body = payload(message={"external_id": "db-down-1"})

    refused = post_webhook(stack.url, channel, body, msg_id="msg_db_down")
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "5"
    assert not Message.objects.filter(external_id="db-down-1").exists()

    _database_back(refused_role)
    back_at = time.monotonic()
    # The sender retries (every second, sooner than Retry-After asks) until it is accepted:
    # the web's pool reconnects on its own backoff, so the first retry may still be a 503.
    answers: list[int] = []

    def accepted() -> Any:
        answer = post_webhook(stack.url, channel, body, msg_id="msg_db_down")
        answers.append(answer.status_code)
        return answer if answer.status_code != 503 else None

    retried = wait_until(accepted, timeout=30, every=1, what=lambda: f"a 202 (got {answers})")
    accepted_in = time.monotonic() - back_at
    again = post_webhook(stack.url, channel, body, msg_id="msg_db_down")

    assert (retried.status_code, retried.json()["duplicate"]) == (202, False)
    assert set(answers[:-1]) <= {503}
    assert (again.status_code, again.json()["duplicate"]) == (200, True)
    message_id = retried.json()["message_id"]
    wait_until(
        lambda: Draft.objects.filter(trigger_message_id=message_id).exists(),
        timeout=30,
        what="the accepted retry to be drafted",
    )
    assert Message.objects.filter(external_id="db-down-1").count() == 1
    drafted_in = time.monotonic() - back_at
    print(
        f"\nfault: database refusing -> 503; back -> accepted {accepted_in:.1f} s later "
        f"({len(answers)} tries), drafted {drafted_in:.1f} s later"
    )
