"""GET /api/v1/health."""

from __future__ import annotations

import pytest
from django.test import override_settings


@pytest.mark.django_db
def test_health_reports_database_broker_and_kill_switches(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {
        "database": "ok",
        "broker": "ok",
        "kill_switches": {"auto_send_disabled": False, "revision_disabled": False},
    }


@pytest.mark.django_db
@override_settings(AUTO_SEND_DISABLED=True, AUTO_SEND_REVISION_DISABLED=True)
def test_health_shows_kill_switches(client):
    body = client.get("/api/v1/health").json()
    assert body["kill_switches"] == {"auto_send_disabled": True, "revision_disabled": True}


@pytest.mark.django_db
@override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0")
def test_health_says_when_the_broker_is_down(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 503
    assert response.json()["broker"] == "error"
    assert response.json()["database"] == "ok"
