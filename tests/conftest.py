"""Shared fixtures: a workspace with people, channels and an API client acting as a token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory, make_channel
from workspaces.models import Channel, Role, Workspace
from workspaces.services import api_token_create


@pytest.fixture(scope="session", autouse=True)
def _close_stray_test_connections(django_db_setup: None, django_db_blocker: Any) -> Any:
    """Live-server and worker threads can leave sessions open on the test database; end them
    before pytest-django drops it, so teardown is clean and the next run starts fresh."""
    yield
    from django.db import OperationalError, connection

    try:
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
    except OperationalError:
        pass  # a session whose tests never opened the database: nothing to end


@pytest.fixture
def celery_worker_live(transactional_db: None) -> Any:
    """A real Celery worker (threads) consuming the real Redis broker, for tests whose
    behaviour depends on tasks being delivered and run. Data must be committed, hence
    `transactional_db`. The queue is purged first so no other test's tasks leak in."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    app.control.purge()
    with start_worker(
        app, pool="threads", concurrency=2, perform_ping_check=False, loglevel="WARNING"
    ) as worker:
        yield worker
    app.control.purge()


@dataclass
class Tenant:
    workspace: Workspace
    operator: Any
    rep: Any
    email_channel: Channel
    sms_channel: Channel
    token: str


def build_tenant(name: str = "Acme") -> Tenant:
    workspace = WorkspaceFactory(name=name)
    operator = UserFactory()
    rep = UserFactory()
    MembershipFactory(user=operator, workspace=workspace, role=Role.OPERATOR)
    MembershipFactory(user=rep, workspace=workspace, role=Role.OPERATOR)
    _, token = api_token_create(workspace=workspace, user=operator)
    return Tenant(
        workspace=workspace,
        operator=operator,
        rep=rep,
        email_channel=make_channel(workspace, "email"),
        sms_channel=make_channel(workspace, "sms"),
        token=token,
    )


@pytest.fixture
def tenant(db: None) -> Tenant:
    return build_tenant("Acme")


@pytest.fixture
def other_tenant(db: None) -> Tenant:
    return build_tenant("Globex")


@pytest.fixture
def allow_private_outbound(settings: Any) -> None:
    """For tests whose receivers are local servers on 127.0.0.1: the outbound guard refuses
    them otherwise, since OUTBOUND_ALLOW_PRIVATE is off by default, in tests too."""
    settings.OUTBOUND_ALLOW_PRIVATE = True


@pytest.fixture
def superadmin(db: None) -> Any:
    return UserFactory(is_superuser=True, is_staff=True)


class ApiClient(Client):
    """A test client that sends a bearer token and JSON bodies."""

    def __init__(self, token: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.token = token

    def _auth(self, extra: dict[str, Any]) -> dict[str, Any]:
        if self.token:
            extra.setdefault("HTTP_AUTHORIZATION", f"Bearer {self.token}")
        return extra

    def get(self, path: str, data: Any = None, **extra: Any) -> Any:  # type: ignore[override]
        return super().get(path, data, **self._auth(extra))

    def post(self, path: str, data: Any = None, **extra: Any) -> Any:  # type: ignore[override]
        return super().post(path, data or {}, content_type="application/json", **self._auth(extra))

    def patch(self, path: str, data: Any = None, **extra: Any) -> Any:  # type: ignore[override]
        return super().patch(path, data or {}, content_type="application/json", **self._auth(extra))


@pytest.fixture
def api(tenant: Tenant) -> ApiClient:
    return ApiClient(tenant.token)


@pytest.fixture
def api_as() -> Any:
    return ApiClient
