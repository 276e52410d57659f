"""The one NinjaAPI: every app's router, JSON errors in one shape `{"error", "details"}`."""

from __future__ import annotations

from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.operation import Operation

from autosend.api import router as autosend_router
from config.unavailable import unavailable_response
from ops.api import router as ops_router
from pipeline.api import router as pipeline_router
from review.api import router as drafts_router
from review.api_queue import router as drafts_queue_router
from timing.api import router as timing_router
from workspaces.api import router as workspaces_router
from workspaces.errors import DomainError

# The OpenAPI document publishes each operation's id, made from its module; the drafts API's
# modules moved to the review app, and their ids stay the ones clients already know.
OPERATION_ID_MODULES = {"review.api": "drafts.api", "review.api_queue": "drafts.api_queue"}


class ReplydeskAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation: Operation) -> str:
        module = operation.view_func.__module__
        module = OPERATION_ID_MODULES.get(module, module)
        return f"{module}_{operation.view_func.__name__}".replace(".", "_")


api = ReplydeskAPI(
    title="Replydesk API",
    version="1",
    urls_namespace="api",
    description="Drafts, proposals, knowledge, timing and workspace settings. "
    "Authenticate with `Authorization: Bearer <api token>`.",
)


def _error(request: HttpRequest, status: int, message: str, details: object = None) -> HttpResponse:
    return api.create_response(request, {"error": message, "details": details}, status=status)


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return _error(request, exc.status, exc.message, exc.details)


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    details = [
        {
            "field": ".".join(
                str(part) for part in err.get("loc", []) if part not in ("body", "query", "path")
            ),
            "message": err.get("msg", "invalid"),
        }
        for err in exc.errors
    ]
    return _error(request, 400, "Invalid request.", details)


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "Authentication required: send `Authorization: Bearer <token>`.")


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "Not found.")


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _error(request, exc.status_code, str(exc.message))


@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
def on_database_unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
    return unavailable_response(request, exc)


api.add_router("", ops_router)
api.add_router("", workspaces_router)
api.add_router("", drafts_queue_router)
api.add_router("", drafts_router)
api.add_router("", pipeline_router)
api.add_router("", autosend_router)
api.add_router("", timing_router)
