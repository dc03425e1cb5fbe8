"""The Redis transport keeps one Redis client per channel and still delivers as kombu's does."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from django.conf import settings
from kombu import Connection, Exchange, Queue
from kombu.simple import SimpleQueue

from apps.core.broker import Transport
from tests.conftest import require_redis


@pytest.fixture
def connection() -> Iterator[Connection]:
    url = require_redis()
    with Connection(url, transport=Transport) as conn:
        yield conn


@pytest.fixture
def queue(connection: Connection) -> Iterator[SimpleQueue]:
    name = f"patchbay-test-{uuid.uuid4().hex}"
    simple = connection.SimpleQueue(Queue(name, Exchange(name), routing_key=name))
    yield simple
    simple.clear()
    simple.close()


def test_published_messages_are_delivered_once_and_acknowledged(queue: SimpleQueue) -> None:
    for n in range(3):
        queue.put({"n": n})

    received = []
    for _ in range(3):
        message = queue.get(timeout=5)
        received.append(message.payload)
        message.ack()

    assert received == [{"n": 0}, {"n": 1}, {"n": 2}]
    with pytest.raises(queue.Empty):
        queue.get(timeout=0.2)
    assert not queue.channel.client.hlen(queue.channel.unacked_key)


def test_a_channel_reuses_its_client_until_its_pool_is_replaced(connection: Connection) -> None:
    channel = connection.default_channel
    with channel.conn_or_acquire() as first, channel.conn_or_acquire() as second:
        assert first is second
        assert first.connection_pool is channel.pool

    channel._after_fork()  # what kombu does in a forked child: the old pool's sockets are not ours

    with channel.conn_or_acquire() as after:
        assert after is not first
        assert after.connection_pool is channel.pool
        assert after.ping()


def test_a_client_passed_in_is_used_as_given(connection: Connection) -> None:
    channel = connection.default_channel
    given = object()

    with channel.conn_or_acquire(given) as used:
        assert used is given


def test_as_configured_a_delivered_message_leaves_redis_before_it_is_acknowledged() -> None:
    # Patchbay's sweeps re-send from the database what a lost message carried (docs/operations.md),
    # so kombu's emulated acks (an unacked hash in Redis, given back after an hour) are off.
    url = require_redis()
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    name = f"patchbay-test-{uuid.uuid4().hex}"
    with Connection(url, transport=Transport, transport_options=options) as conn:
        simple = conn.SimpleQueue(Queue(name, Exchange(name), routing_key=name))
        try:
            simple.put({"n": 1})
            message = simple.get(timeout=5)

            client = simple.channel.client
            assert message.payload == {"n": 1}
            assert (client.llen(name), client.hlen(simple.channel.unacked_key)) == (0, 0)
            message.ack()
        finally:
            simple.clear()
            simple.close()
