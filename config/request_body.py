"""Oversized request bodies: answer 413 so the sender actually sees it.

A WSGI server that answers before the client has finished sending, and then closes the
socket with body bytes still unread, makes the kernel reset the connection: an ordinary
client (`http.client`, `requests`, `urllib3`) is still writing and gets a broken pipe instead
of the status, so it cannot tell "too large" from "network error" and may retry forever.
Django's development server drains what is left; gunicorn does not. So this middleware,
outermost, reads and discards what the application left unread before the response goes
out, up to `DRAIN_MAX_BYTES`. A body declared larger than that is not read at all (reading
it would let anyone hold a worker for as long as they like to send); the server closes the
connection after the answer (gunicorn's sync workers close every connection, and a WSGI
application may not set `Connection` itself).

It also gives the one answer for a body over Django's `DATA_UPLOAD_MAX_MEMORY_SIZE` (the
REST API's and the pages' limit): a JSON 413 before the view runs, instead of the
`RequestDataTooBig` that Django would turn into a bare 400 on first touch of
`request.body`. A view marked `@body_limit_own` (the inbound webhook: 256 KiB, CONTRACTS.md,
after its 404) reads the stream itself and answers its own 413; that answer is drained here
just the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase, JsonResponse

DRAIN_MAX_BYTES = 16 * 1024 * 1024
DRAIN_CHUNK = 64 * 1024


def body_limit_own[View: Callable[..., Any]](view: View) -> View:
    """Mark a view that bounds and reads the body itself (the middleware only drains)."""
    view.body_limit_own = True  # type: ignore[attr-defined]
    return view


def declared_content_length(request: HttpRequest) -> int | None:
    """The request's Content-Length, or None when it is absent or not a number."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None
    return declared if declared >= 0 else None


def body_too_large_response(limit: int) -> JsonResponse:
    """The one 413 answer, shared with the inbound webhook."""
    return JsonResponse({"error": f"The body is larger than {limit} bytes."}, status=413)


def request_body_drain(request: HttpRequest) -> None:
    """Read and discard what the application left unread of the body, unless it is declared
    larger than `DRAIN_MAX_BYTES`. A client that stops sending ends the drain quietly."""
    declared = declared_content_length(request)
    if not declared or declared > DRAIN_MAX_BYTES:
        return
    try:
        # Django bounds the stream by Content-Length, so this ends at the declared size.
        while request.read(DRAIN_CHUNK):
            pass
    except OSError:  # UnreadablePostError included
        return


class RequestBodyLimitMiddleware:
    """413 for bodies over `DATA_UPLOAD_MAX_MEMORY_SIZE`; every answer goes out with the
    body drained (up to the bound), so the client reads it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        request_body_drain(request)
        return response

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponseBase | None:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is None or getattr(view_func, "body_limit_own", False):
            return None
        if (declared_content_length(request) or 0) > limit:
            return body_too_large_response(limit)
        return None
