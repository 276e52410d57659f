"""Kombu's Redis transport with one synchronous Redis client per channel.

Stock kombu builds a new `redis.Redis` client for every publish and every acknowledgement
(`Channel.conn_or_acquire` -> `_create_client`): building one fills a table of ~170 response
callbacks, a third of the CPU a webhook spends publishing its pipeline task and a cost every
worker pays again on each ack (profiled in docs/architecture.md "Concurrency"). A client is
thread-safe and borrows a connection from the channel's pool per command, so one per channel
does the same work. It is dropped with the pools (after a fork, on close), so it never
outlives the connections it would use.

Used for `redis://` brokers (config/settings/base.py); other brokers keep kombu's own.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis as kombu_redis


# kombu's type stubs leave out the channel's private client and pool methods overridden here.
class Channel(kombu_redis.Channel):
    _sync_client: Any = None

    def _create_client(self, asynchronous: bool = False) -> Any:
        if asynchronous:
            return super()._create_client(asynchronous=True)  # type: ignore[misc]
        client = self._sync_client
        if client is None:
            client = self._sync_client = super()._create_client()  # type: ignore[misc]
        return client

    def _disconnect_pools(self) -> None:
        self._sync_client = None
        super()._disconnect_pools()  # type: ignore[misc]


class Transport(kombu_redis.Transport):
    Channel = Channel
