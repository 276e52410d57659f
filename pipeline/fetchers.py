"""Where a knowledge document's fresh text comes from.

A fetcher takes a document and returns its current text or raises `FetchError` with a short
reason (shown to operators as the document's refresh error). `HttpFetcher` is the default:
it GETs the document's `source_url` with a short timeout and a size cap, accepts HTML, plain
text, Markdown and JSON, and reads HTML as text with the standard library's parser.

Every hop, the first URL and each redirect, goes through the outbound guard
(`config.netguard`): private, loopback, link-local and other internal addresses are refused
in every spelling unless OUTBOUND_ALLOW_PRIVATE is set, and the connection is pinned to the
address that was checked. An operator-supplied URL must not make the server read its own
network (cloud metadata, admin ports) into knowledge that the operator can read.
"""

from __future__ import annotations

import http.client
import re
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, Protocol
from urllib.parse import urljoin

from config.netguard import (
    OutboundRefused,
    OutboundTarget,
    OutboundUnresolvable,
    outbound_target,
    pinned_connection,
)
from pipeline.models import KnowledgeDocument

FETCH_TIMEOUT_SECONDS = 10.0
FETCH_MAX_BYTES = 1024 * 1024
# The most text a document holds, as for documents added through the API.
BODY_MAX_CHARS = 100_000
MAX_REDIRECTS = 3
READ_CHUNK_BYTES = 64 * 1024
ALLOWED_CONTENT_TYPES = frozenset(
    {
        "text/html",
        "application/xhtml+xml",
        "text/plain",
        "text/markdown",
        "text/x-markdown",
        "application/json",
    }
)
USER_AGENT = "Replydesk-knowledge-refresh/1"


@dataclass(frozen=True)
class FetchResult:
    """The document's current text. The title stays the one the operator gave."""

    body: str


class FetchError(Exception):
    """The source could not give a usable document; `str()` is a short reason for people."""


class Fetcher(Protocol):
    def fetch(self, document: KnowledgeDocument) -> FetchResult: ...


# --- HTML as text ---------------------------------------------------------------------------

_SKIPPED = frozenset({"head", "script", "style", "noscript", "template", "svg", "iframe"})
_BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "fieldset",
        "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
        "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul",
    }
)  # fmt: skip


_SPACES = re.compile(r"\s+")


class _TextExtractor(HTMLParser):
    """Visible text, one line per block element; scripts, styles and the head dropped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.preformatted = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skipping += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")
            self.preformatted += tag == "pre"

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")
            self.preformatted = max(0, self.preformatted - (tag == "pre"))

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            # Line breaks in the source are spaces, except inside <pre>.
            self.parts.append(data if self.preformatted else _SPACES.sub(" ", data))


def html_text(html: str) -> str:
    """The readable text of an HTML page: whitespace collapsed, one line per block."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


# --- The HTTP fetcher -----------------------------------------------------------------------

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


def _target(url: str) -> OutboundTarget:
    """The vetted address for `url` (see `config.netguard`), or the guard's reason."""
    try:
        return outbound_target(url)
    except OutboundRefused as exc:
        raise FetchError(str(exc)) from None
    except OutboundUnresolvable:
        raise FetchError("cannot resolve host") from None


class HttpFetcher:
    """GET the document's source URL; see the module docstring for what it accepts."""

    def __init__(
        self,
        *,
        timeout: float = FETCH_TIMEOUT_SECONDS,
        max_bytes: int = FETCH_MAX_BYTES,
    ) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes

    def _read(self, response: Any) -> bytes:
        """At most max_bytes + 1 bytes, within twice the timeout in all: the socket timeout
        bounds each read, not a server that trickles a byte at a time."""
        deadline = time.monotonic() + 2 * self.timeout
        chunks: list[bytes] = []
        size = 0
        while size <= self.max_bytes:
            chunk = response.read1(min(READ_CHUNK_BYTES, self.max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if time.monotonic() > deadline:
                raise FetchError(f"too slow: still sending after {2 * self.timeout:g} s")
        return b"".join(chunks)

    def _get(self, url: str) -> tuple[str, str, bytes]:
        """Content type, charset and body of `url`, following at most MAX_REDIRECTS
        redirects; every hop is vetted by the outbound guard and connected to pinned."""
        for _ in range(MAX_REDIRECTS + 1):
            target = _target(url)
            conn = pinned_connection(target, timeout=self.timeout)
            try:
                conn.connect()
            except OSError as exc:  # refused, unreachable, timed out, TLS
                conn.close()
                raise FetchError(f"cannot connect: {_reason(exc)}") from None
            try:
                conn.request(
                    "GET",
                    target.path,
                    headers={"User-Agent": USER_AGENT, "Accept": ", ".join(ALLOWED_CONTENT_TYPES)},
                )
                response = conn.getresponse()
                location = response.headers.get("Location")
                if response.status in REDIRECT_STATUSES and location:
                    url = urljoin(url, location)
                    continue
                if response.status >= 400:
                    raise FetchError(f"HTTP {response.status}")
                content_type = response.headers.get_content_type()
                if content_type not in ALLOWED_CONTENT_TYPES:
                    raise FetchError(f"unsupported content type {content_type[:80]}")
                length = response.headers.get("Content-Length")
                if length and length.isdigit() and int(length) > self.max_bytes:
                    raise FetchError(f"larger than {self.max_bytes:,} bytes")
                raw = self._read(response)
                return content_type, response.headers.get_content_charset() or "utf-8", raw
            except TimeoutError:
                raise FetchError(f"timed out after {self.timeout:g} s") from None
            except (http.client.HTTPException, OSError) as exc:
                raise FetchError(f"connection failed: {type(exc).__name__}") from None
            finally:
                conn.close()
        raise FetchError(f"more than {MAX_REDIRECTS} redirects")

    def fetch(self, document: KnowledgeDocument) -> FetchResult:
        url = document.source_url
        if not url:
            raise FetchError("the document has no source URL")
        content_type, charset, raw = self._get(url)
        if len(raw) > self.max_bytes:
            raise FetchError(f"larger than {self.max_bytes:,} bytes")
        try:
            text = raw.decode(charset, errors="replace")
        except LookupError:
            text = raw.decode("utf-8", errors="replace")
        body = html_text(text) if content_type in ("text/html", "application/xhtml+xml") else text
        body = body.replace("\x00", "\ufffd").strip()
        if not body:
            raise FetchError("the page has no text")
        if len(body) > BODY_MAX_CHARS:
            raise FetchError(f"more than {BODY_MAX_CHARS:,} characters of text")
        return FetchResult(body=body)


def _reason(reason: object) -> str:
    if isinstance(reason, TimeoutError):
        return "timed out"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror[:120]
    return str(reason)[:120] or type(reason).__name__
