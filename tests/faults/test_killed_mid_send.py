"""kill -9 of a worker's whole process group while it is delivering a reply to a slow
receiver, then a new worker: the receiver gets the reply exactly once. The product never
resends it (the receiver may have it): the row becomes `unknown` once the sending timeout
passes, an operator is told, and their reconciliation records the one outbound message."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from autosend.delivery import scheduled_send_reconcile
from autosend.models import ScheduledSend
from drafts.models import Draft, Message, Notification
from tests.factories import make_channel
from tests.faults.conftest import wait_until
from tests.test_delivery import book
from workspaces.models import Channel, Transport

pytestmark = [pytest.mark.faults, pytest.mark.worker]

SENDING_TIMEOUT_SECONDS = 4


class SlowReceiver:
    """An SMS provider that takes the request at once and answers only when released: a
    worker delivering to it sits in the transport call. Counts every delivery by webhook-id."""

    def __init__(self) -> None:
        self.deliveries: list[str] = []
        self.arrived = threading.Event()
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
                receiver.deliveries.append(self.headers.get("webhook-id", ""))
                receiver.arrived.set()
                receiver.release.wait(timeout=30)
                body = json.dumps({"id": "sms-1"}).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the sender is dead: nobody reads the answer

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver() -> Any:
    slow = SlowReceiver()
    yield slow
    slow.close()


def _deliver_due_runs(stack: Any, worker: str) -> int:
    """How many delivery sweeps the worker has finished (from its log)."""
    lines = (stack.log_dir / f"{worker}.log").read_text().splitlines()
    return sum("autosend.deliver_due[" in line and "succeeded" in line for line in lines)


def test_a_worker_killed_mid_send_never_sends_twice_and_tells_an_operator(
    stack, tenant, receiver: SlowReceiver
):
    channel = make_channel(tenant.workspace, kind="sms")
    Channel.objects.filter(pk=channel.pk).update(
        transport=Transport.WEBHOOK, outbound_url=f"http://127.0.0.1:{receiver.port}/sms"
    )
    channel.refresh_from_db()
    send = book(tenant, channel=channel)
    stack.extra_env = {
        "OUTBOUND_ALLOW_PRIVATE": "1",  # the receiver is on loopback
        "AUTO_SEND_SENDING_TIMEOUT_SECONDS": str(SENDING_TIMEOUT_SECONDS),
    }
    stack.up(web=False, workers=("doomed",))  # beat's deliver_due (every 5 s) claims it

    assert receiver.arrived.wait(timeout=30), "no worker delivered the reply"
    send.refresh_from_db()
    assert send.status == "sending"  # the worker waits on the receiver's answer
    stack.kill_group(stack.workers["doomed"])
    killed_at = time.monotonic()
    receiver.release.set()  # it answers into a dead connection
    stack.up(web=False, beat=False, workers=("successor",))

    wait_until(
        lambda: ScheduledSend.objects.filter(pk=send.pk, status="unknown").exists(),
        timeout=SENDING_TIMEOUT_SECONDS + 30,
        what="the interrupted send to be marked unknown",
    )
    told_in = time.monotonic() - killed_at
    notice = Notification.objects.get(kind="send_unknown", draft_id=send.draft_id)
    assert "check before resending" in notice.title
    # Another delivery sweep on the new worker: the row is not claimed or sent again.
    seen = _deliver_due_runs(stack, "successor")
    wait_until(
        lambda: _deliver_due_runs(stack, "successor") > seen,
        timeout=20,
        what="another delivery sweep",
    )
    send.refresh_from_db()
    assert (send.status, send.attempts) == ("unknown", 1)
    assert receiver.deliveries == [str(send.draft_id)]
    assert not Message.objects.filter(direction="outbound").exists()

    # The operator checks the provider: it arrived. One outbound message, the draft sent.
    assert scheduled_send_reconcile(scheduled_send=send, delivered=True)
    assert Message.objects.filter(direction="outbound", draft_id=send.draft_id).count() == 1
    assert Draft.objects.get(pk=send.draft_id).status == "sent"
    assert receiver.deliveries == [str(send.draft_id)]
    print(
        f"\nfault: worker killed mid-send -> delivered once, operator told {told_in:.1f} s "
        f"later (sending timeout {SENDING_TIMEOUT_SECONDS} s; production 300 s)"
    )
