"""The outbound guard (`config/netguard.py`): no server-side request reaches an internal
address, in any spelling, at send time or at configuration time, unless the development
switch OUTBOUND_ALLOW_PRIVATE is on. Real sockets throughout: a listener on loopback proves
that a refused request never arrives."""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from autosend.delivery import Outcome, scheduled_send_deliver, scheduled_sends_deliver_due
from autosend.models import ScheduledSend
from autosend.transports import NotSent, transport_send
from config import netguard
from config.netguard import (
    OutboundRefused,
    OutboundTarget,
    address_is_public,
    outbound_target,
    outbound_url_check,
    pinned_connection,
)
from drafts.models import Draft, Notification
from pipeline.fetchers import FetchError, HttpFetcher
from pipeline.knowledge_refresh import knowledge_refresh_due
from pipeline.models import KnowledgeDocument
from tests import test_delivery, test_knowledge_refresh, test_transports
from workspaces.errors import DomainError
from workspaces.models import Channel, OutboundWebhook, Transport, WebhookDelivery, WebhookEvent
from workspaces.services import channel_create, new_webhook_secret
from workspaces.webhooks_out import (
    outbound_webhook_create,
    webhook_deliveries_deliver_due,
    webhook_delivery_attempt,
)

webhook_receiver = test_transports.webhook_receiver
payload = test_transports.payload
book = test_delivery.book
REPO = Path(__file__).resolve().parent.parent
S = ScheduledSend.Status

# Every spelling the issue names, plus the other internal ranges and wrappings.
PRIVATE_HOSTS = [
    "localhost",
    "LOCALHOST",
    "localhost.",
    "api.localhost",
    "127.1",
    "0x7f000001",
    "2130706433",
    "0177.0.0.1",
    "127.0.0.1.",
    "[::ffff:127.0.0.1]",
    "[::1]",
    "0.0.0.0",
    "10.0.0.1",
    "169.254.169.254",
    "192.168.1.1",
    "172.16.0.1",
    "100.64.0.1",
    "[fe80::1]",
    "[fec0::1]",
    "[fc00::1]",
    "[::]",
    "[::127.0.0.1]",
    "[64:ff9b::a00:1]",
    "[2002:7f00:1::]",
    "[::ffff:169.254.169.254]",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
]


def refusal(host: str) -> str:
    return (
        f"refused: {host} is a private address; set OUTBOUND_ALLOW_PRIVATE=1 only for development"
    )


class Listener:
    """A real HTTP server on a loopback address that counts what reaches it; it answers 200,
    or a redirect to `redirect_to` when that is set."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.requests: list[tuple[str, str, str]] = []
        self.redirect_to = ""
        self.redirect_status = 302
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length", 0) or 0)
                self.rfile.read(length)
                listener.requests.append((self.command, self.path, self.headers.get("Host", "")))
                if listener.redirect_to and self.path != "/final":
                    self.send_response(listener.redirect_status)
                    self.send_header("Location", listener.redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = b"<p>Fresh installation notes</p>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.host = host
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, path: str = "/hook") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


# --- The guard itself -----------------------------------------------------------------------


def test_the_switch_is_off_by_default_in_tests_and_in_development() -> None:
    assert settings.OUTBOUND_ALLOW_PRIVATE is False
    env = {k: v for k, v in os.environ.items() if k != "OUTBOUND_ALLOW_PRIVATE"}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.OUTBOUND_ALLOW_PRIVATE, s.DEBUG)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1].split() == ["False", "True"]


@pytest.mark.parametrize("host", PRIVATE_HOSTS)
def test_every_internal_spelling_is_refused_when_sent(host: str, listener: Listener) -> None:
    url = f"http://{host}:{listener.port}/hook"
    shown = host.strip("[]").lower().rstrip(".")
    with pytest.raises(OutboundRefused) as caught:
        outbound_target(url)
    assert str(caught.value) == refusal(shown)
    assert listener.requests == []


@pytest.mark.parametrize("host", PRIVATE_HOSTS)
def test_every_literal_internal_spelling_is_refused_at_configuration(host: str) -> None:
    with pytest.raises(OutboundRefused, match="is a private address"):
        outbound_url_check(f"https://{host}/hook")


def test_a_name_resolving_to_an_internal_address_is_refused_when_sent(listener: Listener) -> None:
    """This machine's own host name resolves (through /etc/hosts, no DNS) to loopback or a
    private address. Configuration cannot know without DNS; sending refuses it."""
    name = socket.gethostname().lower()
    resolved = {info[4][0] for info in socket.getaddrinfo(name, None)}
    assert not any(address_is_public(ipaddress.ip_address(a)) for a in resolved), resolved
    url = f"http://{name}:{listener.port}/hook"

    outbound_url_check(url)  # no DNS at configuration time
    with pytest.raises(OutboundRefused) as caught:
        outbound_target(url)
    assert str(caught.value) == refusal(name)
    assert listener.requests == []


def test_one_internal_answer_among_public_ones_is_enough_to_refuse(monkeypatch: Any) -> None:
    """A DNS answer that mixes a public address with an internal one (a rebinding attempt)."""
    real = socket.getaddrinfo
    answers = {
        "mixed.example": ["93.184.216.34", "10.0.0.7"],
        "public.example": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"],
    }

    def resolve(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in answers:
            return real(host, port, *args, **kwargs)
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in answers[host]
        ]

    monkeypatch.setattr(netguard.socket, "getaddrinfo", resolve)
    with pytest.raises(OutboundRefused, match=r"mixed\.example is a private address"):
        outbound_target("https://mixed.example/hook")
    target = outbound_target("https://public.example/hook?x=1")
    assert (target.address, target.port, target.host, target.path) == (
        "93.184.216.34",
        443,
        "public.example",
        "/hook?x=1",
    )


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("1.1.1.1", True),
        ("2606:4700::1111", True),
        ("::ffff:93.184.216.34", True),
        ("127.0.0.1", False),
        ("::ffff:10.1.2.3", False),
        ("100.127.255.255", False),
        ("fe80::1%1", False),
        ("ff02::1", False),
        ("192.0.2.1", False),  # documentation range
    ],
)
def test_address_is_public(address: str, public: bool) -> None:
    assert address_is_public(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://files.example.com/x", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("gopher://example.com:70/", "only http and https"),
        ("javascript:alert(1)", "only http and https"),
        ("http://user:secret@hooks.example.com/x", "must not carry a user name or password"),
        ("http://user@127.0.0.1/x", "must not carry a user name or password"),
        ("http:///no-host", "has no host"),
        ("http://hooks.example.com:99999/", "not a valid URL"),
    ],
)
def test_schemes_userinfo_and_broken_urls_are_refused_even_with_the_switch_on(
    url: str, reason: str, allow_private_outbound: None
) -> None:
    with pytest.raises(OutboundRefused, match=reason):
        outbound_url_check(url)
    with pytest.raises(OutboundRefused, match=reason):
        outbound_target(url)


def test_public_urls_pass_configuration_without_dns() -> None:
    for url in (
        "https://hooks.example.com/rd",
        "http://93.184.216.34:8080/x",
        "https://[2606:4700::1111]/",
    ):
        outbound_url_check(url)


def test_the_connection_goes_to_the_vetted_address_not_a_new_lookup(listener: Listener) -> None:
    """The name cannot resolve (`.invalid`): the request still arrives, with the name in the
    Host header, because the connection uses the address vetted earlier."""
    target = OutboundTarget(
        scheme="http", host="pinned.invalid", port=listener.port, address="127.0.0.1", path="/p?q=1"
    )
    conn = pinned_connection(target, timeout=5)
    try:
        conn.request("GET", target.path)
        assert conn.getresponse().status == 200
    finally:
        conn.close()
    assert listener.requests == [("GET", "/p?q=1", f"pinned.invalid:{listener.port}")]


# --- Reply transports -----------------------------------------------------------------------


def _webhook_channel(tenant: Any, url: str) -> Channel:
    """A channel whose URL was stored before the guard existed (saved without validation)."""
    channel = tenant.sms_channel
    channel.transport = Transport.WEBHOOK
    channel.outbound_url = url
    channel.save()
    return channel


@pytest.mark.parametrize("host", ["127.1", "0x7f000001", "[::ffff:127.0.0.1]", "localhost"])
def test_a_send_to_a_private_outbound_url_fails_once_with_the_reason(
    tenant: Any, listener: Listener, operator_page: Any, host: str
) -> None:
    channel = _webhook_channel(tenant, f"http://{host}:{listener.port}/hook")
    send = book(tenant, channel=channel)

    assert scheduled_send_deliver(scheduled_send_id=send.pk) == Outcome.FAILED
    scheduled_sends_deliver_due()  # a refusal is final: never retried

    send.refresh_from_db()
    draft = Draft.objects.get(pk=send.draft_id)
    reason = refusal(host.strip("[]"))
    assert (send.status, send.attempts, send.last_error) == (S.FAILED, 1, reason)
    assert draft.status == Draft.Status.PENDING  # back with a person, not lost
    note = Notification.objects.get(draft_id=draft.pk)
    assert note.kind == Notification.Kind.SEND_FAILED
    assert listener.requests == []
    assert reason in operator_page(f"/drafts/{draft.pk}")


def test_with_the_switch_on_the_same_local_receiver_gets_the_reply(
    tenant: Any, webhook_receiver: Any
) -> None:
    receiver = webhook_receiver()  # turns OUTBOUND_ALLOW_PRIVATE on for this test
    send = book(tenant, channel=_webhook_channel(tenant, receiver.url))

    assert scheduled_send_deliver(scheduled_send_id=send.pk) == Outcome.SENT
    assert len(receiver.verified()) == 1


def test_a_transport_never_follows_a_redirect(
    tenant: Any, listener: Listener, allow_private_outbound: None
) -> None:
    inner = Listener()
    try:
        listener.redirect_to = inner.url("/internal")
        listener.redirect_status = 307
        channel = _webhook_channel(tenant, listener.url())
        with pytest.raises(NotSent, match="HTTP 307"):
            transport_send(channel=channel, payload=payload(), idempotency_key="d-1")
        assert [r[0] for r in listener.requests] == ["POST"]
        assert inner.requests == []
    finally:
        inner.close()


# --- Workflow webhooks ----------------------------------------------------------------------


def test_a_workflow_webhook_to_a_private_url_fails_at_once_with_the_reason(
    tenant: Any, listener: Listener
) -> None:
    webhook = OutboundWebhook.objects.create(  # stored before the guard existed
        workspace=tenant.workspace,
        url=f"http://2130706433:{listener.port}/hooks",
        secret=new_webhook_secret(),
        events=[WebhookEvent.PROPOSAL_ACCEPTED],
    )
    delivery = WebhookDelivery.objects.create(
        webhook=webhook,
        event_type=WebhookEvent.PROPOSAL_ACCEPTED,
        event_key="proposal:1",
        payload={"type": "proposal.accepted"},
        next_attempt_at=webhook.created_at,
    )

    assert webhook_delivery_attempt(delivery_id=delivery.pk) == WebhookDelivery.Status.FAILED
    webhook_deliveries_deliver_due()

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == (
        WebhookDelivery.Status.FAILED,
        1,
        refusal("2130706433"),
    )
    assert listener.requests == []


# --- Knowledge fetches and redirects --------------------------------------------------------


@pytest.fixture
def public_loopback(monkeypatch: Any) -> Iterator[Listener]:
    """A listener on 127.0.0.2 that the guard treats as a public server, so a redirect from
    a "public" page to the real internal address 127.0.0.1 can be tried."""
    judged = netguard.address_is_public
    pretend = ipaddress.ip_address("127.0.0.2")
    monkeypatch.setattr(netguard, "address_is_public", lambda a: a == pretend or judged(a))
    server = Listener("127.0.0.2")
    yield server
    server.close()


@pytest.mark.parametrize("internal", ["127.0.0.1", "0x7f000001", "[::ffff:127.0.0.1]"])
def test_a_redirect_to_an_internal_address_is_refused(
    public_loopback: Listener, listener: Listener, internal: str
) -> None:
    public_loopback.redirect_to = f"http://{internal}:{listener.port}/secret"
    document = KnowledgeDocument(source_url=public_loopback.url("/docs"))

    with pytest.raises(FetchError) as caught:
        HttpFetcher(timeout=5).fetch(document)

    assert str(caught.value) == refusal(internal.strip("[]"))
    assert [r[1] for r in public_loopback.requests] == ["/docs"]
    assert listener.requests == []


def test_a_redirect_to_an_allowed_address_is_followed(public_loopback: Listener) -> None:
    public_loopback.redirect_to = public_loopback.url("/final")
    document = KnowledgeDocument(source_url=public_loopback.url("/docs"))

    assert HttpFetcher(timeout=5).fetch(document).body == "Fresh installation notes"
    assert [r[1] for r in public_loopback.requests] == ["/docs", "/final"]


def test_a_refused_refresh_is_recorded_on_the_document(tenant: Any, listener: Listener) -> None:
    document = test_knowledge_refresh.due_document(
        tenant.workspace, f"http://0177.0.0.1:{listener.port}/docs"
    )

    batch = knowledge_refresh_due()

    document.refresh_from_db()
    assert batch.outcomes["failed"] == 1
    assert document.last_refresh_error == refusal("0177.0.0.1")
    assert document.body == test_knowledge_refresh.OLD_BODY
    assert listener.requests == []


# --- Configuration: services, admin, API ----------------------------------------------------


def test_services_refuse_internal_urls_and_create_nothing(tenant: Any) -> None:
    channels = Channel.objects.count()
    with pytest.raises(DomainError) as caught:
        channel_create(
            workspace=tenant.workspace,
            kind="sms",
            transport=Transport.WEBHOOK,
            outbound_url="http://169.254.169.254/latest/meta-data/",
        )
    assert caught.value.details == [
        {"field": "outbound_url", "message": refusal("169.254.169.254")}
    ]
    with pytest.raises(DomainError, match=r"refused: ::1 is a private address"):
        outbound_webhook_create(workspace=tenant.workspace, url="http://[::1]:9000/", events=[])
    assert Channel.objects.count() == channels
    assert not OutboundWebhook.objects.exists()


def test_services_accept_internal_urls_with_the_switch_on(
    tenant: Any, allow_private_outbound: None
) -> None:
    channel = channel_create(
        workspace=tenant.workspace, kind="chat", outbound_url="http://127.0.0.1:9000/hook"
    )
    assert channel.outbound_url == "http://127.0.0.1:9000/hook"


def test_the_admin_refuses_an_internal_channel_url(
    client: Any, tenant: Any, superadmin: Any
) -> None:
    client.force_login(superadmin)
    channel = tenant.sms_channel
    form = {
        "workspace": str(tenant.workspace.pk),
        "kind": channel.kind,
        "name": channel.name,
        "transport": Transport.WEBHOOK,
        # (Spellings such as 0x7f000001 already fail the URL field's own check.)
        "outbound_url": "http://[::ffff:127.0.0.1]:6379/",
        "from_address": "",
    }
    url = f"/admin/workspaces/channel/{channel.pk}/change/"

    response = client.post(url, form)

    assert response.status_code == 200
    assert refusal("::ffff:127.0.0.1") in response.content.decode()
    channel.refresh_from_db()
    assert (channel.transport, channel.outbound_url) == (Transport.LOG, "")

    response = client.post(url, {**form, "outbound_url": "https://sms.example.com/rd"})
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.outbound_url == "https://sms.example.com/rd"


def test_the_admin_refuses_an_internal_workflow_webhook(
    client: Any, tenant: Any, superadmin: Any
) -> None:
    client.force_login(superadmin)
    form = {
        "workspace": str(tenant.workspace.pk),
        "url": "http://10.0.0.1/hooks",
        "events": [WebhookEvent.PROPOSAL_ACCEPTED],
        "active": "on",
    }

    response = client.post("/admin/workspaces/outboundwebhook/add/", form)

    assert response.status_code == 200
    assert refusal("10.0.0.1") in response.content.decode()
    assert not OutboundWebhook.objects.exists()


def test_the_api_refuses_a_knowledge_source_it_would_fetch_internally(api: Any) -> None:
    document = {
        "title": "Docs",
        "body": "Install notes",
        "source_url": "http://192.168.1.1/docs",
        "refresh_interval_hours": 24,
    }

    response = api.post("/api/v1/knowledge", document)

    assert response.status_code == 400
    assert response.json()["details"] == [
        {"field": "source_url", "message": refusal("192.168.1.1")}
    ]
    assert not KnowledgeDocument.objects.exists()
    # Never fetched, the URL is only provenance: it is kept as given.
    assert (
        api.post("/api/v1/knowledge", {**document, "refresh_interval_hours": None}).status_code
        == 201
    )


@pytest.fixture
def operator_page(client: Any, tenant: Any) -> Any:
    client.force_login(tenant.operator)

    def page(path: str) -> str:
        response = client.get(path)
        assert response.status_code == 200
        return str(response.content.decode())

    return page
