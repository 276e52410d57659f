"""503 with Retry-After, never 500, when the database refuses or times out.

PostgreSQL refusing a connection (`too many clients`, a restart, a failover), the process's
pool finding no free connection within DB_POOL_TIMEOUT, or a connection dropped mid-request
are not the sender's fault and pass within seconds: a webhook sender or API client told
503 + Retry-After tries again, and the retry (same `webhook-id`) is accepted once, because
whatever the failed request began was rolled back with its transaction.

Two hooks, so every path is covered: the middleware answers for exceptions raised by a view
(API handlers re-raise them to it, see config/api.py), and `server_error` (the project's
`handler500`) answers for those raised by another middleware, such as the session or
authentication lookups, which Django turns into a 500 before any middleware sees them.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

logger = logging.getLogger("replydesk.unavailable")

RETRY_AFTER_SECONDS = 5
MESSAGE = "The service is briefly unavailable (database busy or restarting). Retry shortly."
_JSON_PREFIXES = ("/api/", "/webhooks/")


def is_unavailable(exc: BaseException | None) -> bool:
    """A database that refused, timed out or dropped us: transient, the client should retry."""
    return isinstance(exc, OperationalError | InterfaceError)


def unavailable_response(request: HttpRequest, exc: BaseException) -> HttpResponse:
    logger.warning(
        "database unavailable: answered 503",
        extra={"path": request.path, "error": type(exc).__name__},
    )
    response: HttpResponse
    if request.path.startswith(_JSON_PREFIXES):
        response = JsonResponse({"error": MESSAGE}, status=503)
    else:
        response = HttpResponse(
            f"<!doctype html><title>Back in a moment</title><h1>Back in a moment</h1>"
            f"<p>{MESSAGE}</p>",
            status=503,
        )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        return unavailable_response(request, exc) if is_unavailable(exc) else None


def server_error(request: HttpRequest, template_name: str = "500.html") -> HttpResponse:
    """Django's 500 page, or a 503 when what failed was the database being unavailable."""
    exc = sys.exc_info()[1]
    if is_unavailable(exc) and exc is not None:
        return unavailable_response(request, exc)
    return defaults.server_error(request, template_name)
