"""The Redis broker transport (config/broker.py): tasks still travel, one client per channel."""

from __future__ import annotations

import uuid
from typing import Any, cast

from kombu import Connection, Exchange, Queue

from config.broker import Channel, Transport
from config.celery import app


def test_redis_broker_urls_use_the_project_transport():
    with app.connection_for_write() as connection:
        assert connection.transport_cls == "config.broker:Transport"
        assert isinstance(connection.default_channel, Channel)


def _roundtrip(connection: Connection, queue: Queue, body: dict[str, str]) -> dict[str, str]:
    with connection.Producer() as producer:
        producer.publish(
            body, exchange=queue.exchange, routing_key=queue.routing_key, declare=[queue]
        )
    with connection.SimpleQueue(cast(Any, queue)) as simple:
        message = simple.get(timeout=5)
        message.ack()
        return message.payload


def test_messages_publish_and_ack_through_one_client_and_after_a_fork():
    name = f"test-broker-{uuid.uuid4().hex[:8]}"
    queue = Queue(name, Exchange(name, type="direct"), routing_key=name)
    with Connection(app.conf.broker_url, transport=Transport) as connection:
        assert _roundtrip(connection, queue, {"n": "1"}) == {"n": "1"}
        channel = cast(Channel, connection.default_channel)
        client = channel._create_client()
        assert channel._create_client() is client  # not a new client per operation
        assert _roundtrip(connection, queue, {"n": "2"}) == {"n": "2"}

        channel._disconnect_pools()  # what a forked child does first: its pools are gone
        assert channel._create_client() is not client
        assert _roundtrip(connection, queue, {"n": "3"}) == {"n": "3"}
        assert channel.client.llen(name) == 0  # each message acknowledged, none left behind
        channel.queue_delete(name)
