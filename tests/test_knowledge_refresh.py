"""Knowledge freshness: due documents are fetched from their source (a real HTTP server on
127.0.0.1 here), re-indexed for search when they change, kept as they were when the fetch
fails, each batch recorded as a JobRun."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.utils import timezone

from pipeline import tasks
from pipeline.fetchers import FetchError, HttpFetcher, html_text
from pipeline.knowledge import knowledge_content_hash, knowledge_search
from pipeline.knowledge_refresh import (
    REFRESH_LEASE,
    knowledge_documents_claim_due,
    knowledge_refresh_due,
)
from pipeline.models import KnowledgeDocument
from workspaces.models import JobRun

OLD_BODY = "Solar panel installation takes two days and includes a free roof inspection."
NEW_PAGE = """<!doctype html><html><head><title>Heat pumps</title>
<style>body { color: red }</style><script>trackVisitor("secret")</script></head>
<body><nav>Home · Products</nav><h1>Heat pumps</h1>
<p>Our heat pump installs cost &euro;9,000 and take one day.</p>
<ul><li>Quiet</li><li>Efficient</li></ul></body></html>"""


@dataclass
class Source:
    """A tiny web server: path → (status, content type, body). Counts requests per path."""

    base_url: str
    routes: dict[str, tuple[int, str, bytes]] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)
    # path → seconds to wait before answering, or between bytes when trickling
    slow: dict[str, float] = field(default_factory=dict)
    trickle: dict[str, float] = field(default_factory=dict)

    def serve(self, path: str, body: str | bytes, *, status: int = 200, ctype: str = "") -> str:
        data = body.encode() if isinstance(body, str) else body
        self.routes[path] = (status, ctype or "text/html; charset=utf-8", data)
        return self.base_url + path


@pytest.fixture
def source(settings: Any) -> Iterator[Source]:
    settings.OUTBOUND_ALLOW_PRIVATE = True
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    state = Source(base_url=f"http://127.0.0.1:{server.server_address[1]}")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.hits[self.path] = state.hits.get(self.path, 0) + 1
            if self.path in state.redirects:
                self.send_response(302)
                self.send_header("Location", state.redirects[self.path])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status, ctype, data = state.routes.get(self.path, (404, "text/plain", b"not found"))
            time.sleep(state.slow.get(self.path, 0))
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            pause = state.trickle.get(self.path)
            if pause is None:
                self.wfile.write(data)
                return
            try:
                for byte in data:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(pause)
            except OSError:
                pass  # the fetcher gave up

        def log_message(self, *args: Any) -> None:
            pass

    server.RequestHandlerClass = Handler
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: the connection is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/pricing"


def due_document(workspace: Any, url: str, *, body: str = OLD_BODY, **fields: Any):
    """A document whose daily refresh fell due a minute ago."""
    defaults = {
        "title": "Installation",
        "content_hash": knowledge_content_hash(body),
        "refresh_interval": timedelta(hours=24),
        "next_refresh_at": timezone.now() - timedelta(minutes=1),
    }
    return KnowledgeDocument.objects.create(
        workspace=workspace, body=body, source_url=url, **{**defaults, **fields}
    )


def titles(workspace: Any, text: str) -> list[str]:
    return [hit.title for hit in knowledge_search(workspace_id=workspace.pk, text=text)]


# --- A succeeding refresh --------------------------------------------------------------------


def test_a_changed_page_replaces_the_text_and_search_finds_only_the_new(
    tenant: Any, source: Source
) -> None:
    document = due_document(tenant.workspace, source.serve("/install", NEW_PAGE))
    assert titles(tenant.workspace, "roof inspection") == ["Installation"]
    assert titles(tenant.workspace, "heat pump") == []
    now = timezone.now()

    batch = knowledge_refresh_due(now=now)

    assert (batch.claimed, batch.outcomes) == (1, {"changed": 1, "unchanged": 0, "failed": 0})
    document.refresh_from_db()
    assert document.body == (
        "Home · Products\nHeat pumps\nOur heat pump installs cost €9,000 and take one day.\n"
        "Quiet\nEfficient"
    )
    assert document.title == "Installation"  # the operator's title stays
    assert document.content_hash == knowledge_content_hash(document.body)
    assert (document.updated_at, document.last_refreshed_at) == (now, now)
    assert document.next_refresh_at == now + timedelta(hours=24)
    assert (document.last_refresh_error, document.refresh_failures) == ("", 0)
    # The full-text index reads the new text, not the old.
    assert titles(tenant.workspace, "heat pump") == ["Installation"]
    assert titles(tenant.workspace, "roof inspection") == []
    assert titles(tenant.workspace, "trackVisitor") == []

    run = JobRun.objects.get()
    assert (run.type, run.workspace_id, run.status, run.error) == (
        "knowledge_refresh",
        tenant.workspace.pk,
        "succeeded",
        "",
    )
    assert {k: v for k, v in run.metrics.items() if k != "duration_ms"} == {
        "rows_processed": 1,
        "changed": 1,
        "unchanged": 0,
        "failed": 0,
    }


def test_an_unchanged_page_changes_only_the_bookkeeping(tenant: Any, source: Source) -> None:
    url = source.serve("/faq", OLD_BODY, ctype="text/plain; charset=utf-8")
    document = due_document(tenant.workspace, url)
    updated_at = document.updated_at
    now = timezone.now()

    batch = knowledge_refresh_due(now=now)

    assert batch.outcomes == {"changed": 0, "unchanged": 1, "failed": 0}
    document.refresh_from_db()
    assert (document.body, document.updated_at) == (OLD_BODY, updated_at)
    assert (document.last_refreshed_at, document.next_refresh_at) == (
        now,
        now + timedelta(hours=24),
    )
    assert JobRun.objects.get().status == "succeeded"


# --- A failing refresh -----------------------------------------------------------------------


@pytest.mark.parametrize("failure", ["server_error", "connection_refused"])
def test_a_failing_refresh_keeps_the_old_text_and_fails_the_job(
    tenant: Any, source: Source, failure: str
) -> None:
    if failure == "server_error":
        url = source.serve("/install", "<p>Oops</p>", status=500)
        reason = "HTTP 500"
    else:
        url = closed_port_url()
        reason = "cannot connect: Connection refused"
    document = due_document(tenant.workspace, url)
    updated_at = document.updated_at
    now = timezone.now()

    batch = knowledge_refresh_due(now=now)

    assert batch.outcomes == {"changed": 0, "unchanged": 0, "failed": 1}
    document.refresh_from_db()
    assert (document.body, document.updated_at, document.last_refreshed_at) == (
        OLD_BODY,
        updated_at,
        None,
    )
    assert (document.last_refresh_error, document.refresh_failures) == (reason, 1)
    assert document.next_refresh_at == now + timedelta(minutes=5)  # the first retry
    assert titles(tenant.workspace, "roof inspection") == ["Installation"]
    run = JobRun.objects.get()
    assert (run.type, run.status, run.error) == (
        "knowledge_refresh",
        "failed",
        "1 of 1 documents could not be refreshed",
    )
    assert (run.metrics["rows_processed"], run.metrics["failed"]) == (1, 1)


def test_failures_back_off_up_to_the_interval_and_a_success_clears_them(
    tenant: Any, source: Source
) -> None:
    url = source.serve("/install", "down", status=503)
    document = due_document(tenant.workspace, url, refresh_interval=timedelta(hours=1))
    waits = []
    now = timezone.now()
    for _ in range(6):
        knowledge_refresh_due(now=now)
        document.refresh_from_db()
        waits.append(document.next_refresh_at - now)
        now = document.next_refresh_at
    assert waits == [timedelta(minutes=m) for m in (5, 10, 20, 40, 60, 60)]
    assert document.refresh_failures == 6

    source.serve("/install", NEW_PAGE)
    knowledge_refresh_due(now=now)
    document.refresh_from_db()
    assert (document.refresh_failures, document.last_refresh_error) == (0, "")
    assert document.next_refresh_at == now + timedelta(hours=1)
    assert list(JobRun.objects.order_by("created_at").values_list("status", flat=True)) == [
        *["failed"] * 6,
        "succeeded",
    ]


def test_one_failure_fails_its_workspace_job_and_the_others_still_refresh(
    tenant: Any, other_tenant: Any, source: Source
) -> None:
    broken = due_document(tenant.workspace, source.serve("/a", "x", status=500))
    fine = KnowledgeDocument.objects.create(
        workspace=tenant.workspace, title="Pricing", body="Old pricing.",
        source_url=source.serve("/b", "New pricing: $99.", ctype="text/markdown"),
        refresh_interval=timedelta(hours=2), next_refresh_at=timezone.now() - timedelta(hours=1),
    )  # fmt: skip
    theirs = due_document(other_tenant.workspace, source.serve("/c", "Theirs, new."))

    knowledge_refresh_due()

    for document in (broken, fine, theirs):
        document.refresh_from_db()
    assert (broken.body, fine.body, theirs.body) == (OLD_BODY, "New pricing: $99.", "Theirs, new.")
    jobs = {run.workspace_id: run for run in JobRun.objects.all()}
    assert (jobs[tenant.workspace.pk].status, jobs[tenant.workspace.pk].error) == (
        "failed",
        "1 of 2 documents could not be refreshed",
    )
    assert jobs[tenant.workspace.pk].metrics["changed"] == 1
    assert jobs[other_tenant.workspace.pk].status == "succeeded"


# --- What is due, and claiming it -----------------------------------------------------------


def test_only_due_documents_with_an_interval_are_fetched(tenant: Any, source: Source) -> None:
    url = source.serve("/page", NEW_PAGE)
    due_document(tenant.workspace, url, next_refresh_at=timezone.now() + timedelta(minutes=5))
    KnowledgeDocument.objects.create(
        workspace=tenant.workspace, title="Never refreshed", body="Static.", source_url=url
    )

    batch = knowledge_refresh_due()

    assert (batch.claimed, source.hits, JobRun.objects.count()) == (0, {}, 0)


def test_a_claimed_document_is_not_claimed_again_while_its_lease_runs(tenant: Any) -> None:
    document = due_document(tenant.workspace, "https://docs.example/install")
    now = timezone.now()

    assert [d.pk for d in knowledge_documents_claim_due(now=now, limit=10)] == [document.pk]
    assert knowledge_documents_claim_due(now=now + REFRESH_LEASE / 2, limit=10) == []
    # A worker that died mid-batch: the lease runs out and the document is due again.
    assert [d.pk for d in knowledge_documents_claim_due(now=now + REFRESH_LEASE, limit=10)] == [
        document.pk
    ]


def test_the_beat_task_refreshes_a_batch_and_queues_itself_while_full(
    tenant: Any, source: Source, monkeypatch: Any, django_capture_on_commit_callbacks: Any
) -> None:
    url = source.serve("/page", NEW_PAGE)
    for n in range(3):
        KnowledgeDocument.objects.create(
            workspace=tenant.workspace, title=f"Doc {n}", body=OLD_BODY, source_url=url,
            refresh_interval=timedelta(hours=1),
            next_refresh_at=timezone.now() - timedelta(minutes=n + 1),
        )  # fmt: skip
    monkeypatch.setattr("pipeline.knowledge_refresh.REFRESH_BATCH_SIZE", 2)

    with django_capture_on_commit_callbacks() as callbacks:
        tasks.refresh_due_knowledge()
    assert len(callbacks) == 1
    assert source.hits == {"/page": 2}
    with django_capture_on_commit_callbacks() as callbacks:
        tasks.refresh_due_knowledge()
    assert callbacks == []
    assert source.hits == {"/page": 3}
    assert not KnowledgeDocument.objects.filter(body=OLD_BODY).exists()


# --- The HTTP fetcher ------------------------------------------------------------------------


def _fetch(url: str, **kwargs: Any) -> str:
    return HttpFetcher(**kwargs).fetch(KnowledgeDocument(source_url=url)).body


def test_the_fetcher_refuses_what_is_not_a_readable_document(source: Source) -> None:
    cases = {
        source.serve("/img", b"\x89PNG", ctype="image/png"): "unsupported content type image/png",
        source.serve("/big", "x" * 2000, ctype="text/plain"): "larger than 1,000 bytes",
        source.serve("/empty", "<html><script>x()</script></html>"): "the page has no text",
        source.base_url + "/missing": "HTTP 404",
    }
    for url, reason in cases.items():
        with pytest.raises(FetchError) as caught:
            _fetch(url, max_bytes=1000)
        assert str(caught.value) == reason


def test_the_fetcher_gives_up_on_a_slow_or_trickling_server(source: Source) -> None:
    source.slow["/slow"] = 1.0
    slow = source.serve("/slow", "late")
    source.trickle["/drip"] = 0.05
    drip = source.serve("/drip", "x" * 100, ctype="text/plain")

    with pytest.raises(FetchError) as caught:
        _fetch(slow, timeout=0.3)
    assert str(caught.value) == "timed out after 0.3 s"
    with pytest.raises(FetchError) as caught:
        _fetch(drip, timeout=0.3)
    assert str(caught.value) == "too slow: still sending after 0.6 s"


def test_the_fetcher_reads_json_and_follows_a_redirect(source: Source) -> None:
    source.serve("/data.json", '{"plans": ["basic", "pro"]}', ctype="application/json")
    source.redirects["/old.json"] = "/data.json"

    assert _fetch(source.base_url + "/old.json") == '{"plans": ["basic", "pro"]}'
    assert source.hits == {"/old.json": 1, "/data.json": 1}


def test_private_addresses_are_refused_unless_allowed(source: Source, settings: Any) -> None:
    url = source.serve("/page", NEW_PAGE)
    settings.OUTBOUND_ALLOW_PRIVATE = False
    for private in (url, "http://169.254.169.254/latest/meta-data/", "http://[::1]/"):
        with pytest.raises(FetchError, match=r"refused: .* is a private address"):
            _fetch(private)
    with pytest.raises(FetchError, match="only http and https"):
        _fetch("file:///etc/passwd")
    assert source.hits == {}


def test_html_text_keeps_visible_text_one_line_per_block() -> None:
    assert (
        html_text(
            "<head><title>T</title></head><body><p>One  <b>two</b>\n three</p><p>Four&amp;5</p>"
            "<noscript>no</noscript><br>Six</body>"
        )
        == "One two three\nFour&5\nSix"
    )
