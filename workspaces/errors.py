"""The one domain exception type; the API and views map it to a JSON or page error."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refused request: `status` is the HTTP status the edges answer with."""

    status = 400

    def __init__(self, message: str, *, details: Any = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if status is not None:
            self.status = status


class PermissionDenied(DomainError):
    status = 403


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409
