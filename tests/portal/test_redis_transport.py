"""kombu's Redis channel, as the worker's consumer uses it, closes cleanly when Redis goes away under
a pending BRPOP (portal.celery.RedisChannel). Service mode only: it needs a Redis server, reached
through a proxy the test owns and cuts; the server itself is never restarted."""

from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from django.conf import settings
from kombu import Connection, Consumer, Exchange, Queue

from portal.celery import RedisTransport
from tests.tcp_proxy import TcpProxy

KEY_PREFIX = f"{settings.CELERY_BROKER_TRANSPORT_OPTIONS.get('global_keyprefix', '')}transport-test:"


@pytest.fixture
def redis_through_proxy():
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("needs Redis: service mode only (docs/testing.md)")
    parts = urlsplit(settings.CELERY_BROKER_URL)
    proxy = TcpProxy(upstream_port=parts.port or 6379)
    try:
        yield proxy, urlunsplit(parts._replace(netloc=f"{parts.hostname}:{proxy.port}"))
    finally:
        proxy.close()
        client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        for key in client.scan_iter(match=f"{KEY_PREFIX}*"):
            client.delete(key)
        client.close()


def test_redis_urls_use_the_repaired_transport():
    assert Connection("redis://127.0.0.1:1/0").get_transport_cls() is RedisTransport


def test_a_connection_lost_under_a_pending_brpop_closes_with_its_unacked_messages(redis_through_proxy):
    """The worker's sequence after a connection loss (Celery's consumer: collect, then close): the
    task channel holds an unacknowledged message and waits on BRPOP; a second channel listens to a
    fanout exchange (the remote control's pub/sub). kombu's own channel raised AttributeError
    ('NoneType' object has no attribute 'hostname') from the final close, killing the consumer."""
    proxy, url = redis_through_proxy
    tasks = Queue("transport-test", routing_key="transport-test")
    control = Queue("transport-test.control", Exchange("transport-test.control", type="fanout"), auto_delete=True)
    connection = Connection(url, transport_options={"global_keyprefix": KEY_PREFIX})
    received = []
    with connection.Producer() as producer:
        producer.publish({"n": 1}, routing_key=tasks.routing_key, declare=[tasks])
    task_channel = connection.default_channel
    Consumer(task_channel, [tasks], callbacks=[lambda body, message: received.append(message)]).consume()
    Consumer(connection.channel(), [control], callbacks=[lambda body, message: None]).consume()
    for _ in range(20):  # the message (delivered, not acknowledged), the pub/sub subscription, then silence
        try:
            connection.drain_events(timeout=0.2)
        except TimeoutError:
            break
    assert len(received) == 1 and task_channel._in_poll  # the next BRPOP is left waiting

    proxy.cut()
    connection.collect(socket_timeout=1)
    connection.close()

    assert task_channel.closed
