"""The login page, and throttling of repeated failures."""

from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def clear_cache():
    cache.clear()
    yield
    cache.clear()


def test_login_page_renders_and_signs_in(client, tenant):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b"Sign in to Replydesk" in response.content
    response = client.post(
        "/accounts/login/", {"username": tenant.operator.username, "password": "pass-12345-word"}
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_repeated_failures_are_throttled(client, tenant):
    for _ in range(5):
        response = client.post(
            "/accounts/login/", {"username": tenant.operator.username, "password": "wrong"}
        )
        assert b"Too many failed sign-ins" not in response.content
    response = client.post(
        "/accounts/login/", {"username": tenant.operator.username, "password": "pass-12345-word"}
    )
    assert response.status_code == 200
    assert b"Too many failed sign-ins" in response.content
    assert "_auth_user_id" not in client.session


def test_queue_requires_login(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
