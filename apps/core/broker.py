"""Kombu's Redis transport, keeping one Redis client per channel instead of building one per command.

Kombu's Redis channel runs every publish, every delivery bookkeeping (the unacked hash) and every ack
through `conn_or_acquire()`, which constructs a new `redis.Redis` client on the channel's connection
pool each time. The pool, and so the sockets, are shared either way; what is thrown away is the
client object, and building one costs redis-py a few hundred microseconds of CPU (its command and
response tables). A B1 instance passes through it about five times, so this was ~5% of the CPU an
instance costs (docs/performance.md). The client is kept per channel and rebuilt when the channel
replaces its pool (after a fork, or after a connection error), so it never outlives its sockets.
A Redis client is thread-safe (each command takes a connection from the pool), as the pool is.

Used when the broker is Redis (`CELERY_BROKER_TRANSPORT` in settings); behaviour is kombu's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kombu.transport import redis


class Channel(redis.Channel):
    """A Redis channel whose synchronous client is built once per connection pool."""

    _kept_client: tuple[Any, Any] | None = None

    @contextmanager
    def conn_or_acquire(self, client: Any = None) -> Iterator[Any]:
        yield client if client else self._client_for_pool()

    def _client_for_pool(self) -> Any:
        pool = self.pool  # kombu sets a new pool after a fork or a reconnect: a new client then
        kept = self._kept_client
        if kept is None or kept[0] is not pool:
            kept = (pool, self._create_client())  # type: ignore[no-untyped-call]  # kombu is untyped
            self._kept_client = kept
        return kept[1]


class Transport(redis.Transport):
    """Kombu's Redis transport with `Channel` above."""

    Channel = Channel
