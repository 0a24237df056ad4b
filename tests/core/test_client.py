"""The watchers' client against a real tg-server, directly or through a proxy that fails on
purpose: local merging, batching, retries, dropped bad data, lost answers, auth."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import pytest

from delivery_helpers import FaultProxy
from tgtest import wait_until
from tg_core.client import Client, _dechunk
from tg_core.event import Event

T0 = datetime(2024, 5, 6, 9, 0, tzinfo=timezone.utc)
BUCKET = "tg-test-client_host"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
def proxy(server):
    proxy = FaultProxy(server.port)
    yield proxy
    proxy.close()


@pytest.fixture
def make_client(server, tmp_path):
    """`make_client(port=None, **kwargs)` -> a Client for `server` (or another port), closed
    at the end; its queue lives in tmp_path."""
    clients = []

    def factory(port: int | None = None, config: dict | None = None, **kwargs) -> Client:
        config = {"client": {"retry_max": 0.3}, **(config or {})}
        client = Client("tg-test-client", port=port or server.port, config=config,
                        config_dir=kwargs.pop("config_dir", server.config_dir),
                        queue_path=tmp_path / f"queue{len(clients)}.sqlite", **kwargs)
        client.create_bucket(BUCKET, "test.client", "host")
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close(timeout=0)


def events(server, bucket: str = BUCKET) -> list[tuple]:
    response = server.api("GET", f"buckets/{bucket}/events?limit=-1")
    if response.status_code == 404:
        return []
    assert response.status_code == 200, response.text
    got = sorted((Event.from_json(e) for e in response.json()), key=lambda e: e.timestamp)
    return [(e.timestamp, round(e.duration, 6), e.data) for e in got]


def wait_events(server, expected: list[tuple], timeout: float = 20.0) -> None:
    wait_until(lambda: events(server) == expected, timeout,
               message=f"events {expected}, have {events(server)}")


def test_equal_heartbeats_are_merged_before_sending(server, proxy, make_client):
    client = make_client(port=proxy.port, batch_seconds=3600)
    for i in range(20):
        client.heartbeat(BUCKET, {"app": "a"}, timestamp=at(i), pulsetime=2)
    client.flush()
    wait_events(server, [(at(0), 19.0, {"app": "a"})])
    # The first heartbeat goes out at once, the 19 merged into it in one more request (or
    # both in one, when the sender thread runs late).
    assert proxy.heartbeat_posts() in (["forward"], ["forward", "forward"])


def test_new_data_is_sent_at_once_without_waiting_for_the_batch(server, make_client):
    client = make_client(batch_seconds=3600)
    client.heartbeat(BUCKET, {"app": "a"}, timestamp=at(0), pulsetime=2)
    client.heartbeat(BUCKET, {"app": "a"}, timestamp=at(1), pulsetime=2)
    client.heartbeat(BUCKET, {"app": "b"}, timestamp=at(2), pulsetime=2)
    wait_events(server, [(at(0), 1.0, {"app": "a"}), (at(2), 0.0, {"app": "b"})])


def test_merged_heartbeat_is_sent_every_batch_interval(server, make_client):
    client = make_client(batch_seconds=0.3)
    for i in range(3):
        client.heartbeat(BUCKET, {"app": "a"}, timestamp=at(i), pulsetime=2)
    wait_events(server, [(at(0), 2.0, {"app": "a"})])


def test_gap_longer_than_pulsetime_starts_a_new_event(server, make_client):
    client = make_client(batch_seconds=3600)
    client.heartbeat(BUCKET, {"app": "a"}, timestamp=at(0), pulsetime=2)
    client.heartbeat(BUCKET, {"app": "a"}, timestamp=at(1), pulsetime=2)
    client.heartbeat(BUCKET, {"app": "a"}, timestamp=at(10), pulsetime=2)
    wait_events(server, [(at(0), 1.0, {"app": "a"}), (at(10), 0.0, {"app": "a"})])


def test_server_errors_timeouts_and_dropped_connections_are_retried_in_order(
        server, proxy, make_client):
    proxy.actions = ["503", "hang", "drop", "503"]
    client = make_client(port=proxy.port, timeout=1.0)
    for i, app in enumerate("abc"):
        client.heartbeat(BUCKET, {"app": app}, timestamp=at(i), pulsetime=2)
    wait_events(server, [(at(i), 0.0, {"app": app}) for i, app in enumerate("abc")], 30)
    assert proxy.heartbeat_posts()[:5] == ["503", "hang", "drop", "503", "forward"]
    wait_until(lambda: len(client.queue) == 0, message="an empty queue")


def test_answer_lost_after_the_server_stored_the_batch_is_not_stored_twice(
        server, proxy, make_client):
    client = make_client(port=proxy.port, batch_seconds=3600)
    client.heartbeat(BUCKET, {"app": "a"}, timestamp=at(0), pulsetime=2)
    wait_events(server, [(at(0), 0.0, {"app": "a"})])
    proxy.actions = ["lose"]
    client.heartbeat(BUCKET, {"app": "a"}, timestamp=at(1), pulsetime=2)
    client.heartbeat(BUCKET, {"app": "a"}, timestamp=at(2), pulsetime=2)
    # [a until 2 s, b]: resending it blindly would add a second "a" event after "b".
    client.heartbeat(BUCKET, {"app": "b"}, timestamp=at(3), pulsetime=2)
    wait_until(lambda: len(client.queue) == 0, 20, message="an empty queue")
    assert events(server) == [(at(0), 2.0, {"app": "a"}), (at(3), 0.0, {"app": "b"})]
    assert proxy.heartbeat_posts() == ["forward", "lose"]
    assert ("GET", f"/api/0/buckets/{BUCKET}/events?limit=1", "forward") in proxy.requests
    # And the client goes on normally afterwards.
    client.heartbeat(BUCKET, {"app": "c"}, timestamp=at(4), pulsetime=2)
    wait_events(server, [(at(0), 2.0, {"app": "a"}), (at(3), 0.0, {"app": "b"}),
                         (at(4), 0.0, {"app": "c"})])


def test_rejected_heartbeat_is_logged_and_dropped_and_the_rest_arrives(
        server, proxy, make_client, caplog):
    proxy.actions = ["503"]  # hold the first attempt back so the three entries are joined
    client = make_client(port=proxy.port)
    with caplog.at_level(logging.ERROR, logger="tg_core.client"):
        client.heartbeat(BUCKET, {"app": "a"}, timestamp=at(0), pulsetime=2)
        client.heartbeat(BUCKET, {"app": "bad"}, pulsetime=2,
                         timestamp=datetime(9500, 1, 1, tzinfo=timezone.utc))
        client.heartbeat(BUCKET, {"app": "c"}, timestamp=at(2), pulsetime=2)
        wait_until(lambda: len(client.queue) == 0, 20, message="an empty queue")
    assert events(server) == [(at(0), 0.0, {"app": "a"}), (at(2), 0.0, {"app": "c"})]
    rejected = [r.getMessage() for r in caplog.records if "rejected" in r.getMessage()]
    assert len(rejected) == 1 and "400" in rejected[0] and "9500" in rejected[0]


def test_unauthorized_is_retried_until_the_token_is_valid(server, make_client, tmp_path, caplog):
    config_dir = tmp_path / "client-config"
    config_dir.mkdir()
    (config_dir / "api_token").write_text("wrong-token\n")
    client = make_client(config_dir=config_dir)
    client.heartbeat(BUCKET, {"app": "a"}, timestamp=at(0), pulsetime=2)
    wait_until(lambda: any("401" in r.getMessage() for r in caplog.records), message="a 401")
    assert events(server) == [] and len(client.queue) == 1
    (config_dir / "api_token").write_text(server.token + "\n")
    wait_events(server, [(at(0), 0.0, {"app": "a"})])


def test_bucket_is_created_with_its_type_and_recreated_if_deleted(server, make_client):
    client = make_client()
    client.heartbeat(BUCKET, {"app": "a"}, timestamp=at(0), pulsetime=2)
    wait_events(server, [(at(0), 0.0, {"app": "a"})])
    bucket = server.api("GET", f"buckets/{BUCKET}").json()
    assert (bucket["type"], bucket["client"], bucket["hostname"]) == (
        "test.client", "tg-test-client", "host")
    assert server.api("DELETE", f"buckets/{BUCKET}?force=1").status_code == 200
    client.heartbeat(BUCKET, {"app": "b"}, timestamp=at(5), pulsetime=2)
    wait_events(server, [(at(5), 0.0, {"app": "b"})])


def test_close_reports_undelivered_batches_and_the_next_client_delivers_them(
        server, make_client, tmp_path):
    dead = make_client(port=1)  # nothing listens on port 1
    dead.heartbeat(BUCKET, {"app": "a"}, timestamp=at(0), pulsetime=2)
    assert dead.close(timeout=0.5) is False
    client = Client("tg-test-client", port=server.port, config_dir=server.config_dir,
                    queue_path=dead.queue.path)
    try:
        wait_events(server, [(at(0), 0.0, {"app": "a"})])
    finally:
        assert client.close(timeout=5)


def test_chunked_http_bodies_are_decoded():
    assert _dechunk(b"4\r\nWiki\r\n6;ext=1\r\npedia \r\n0\r\n\r\n") == b"Wikipedia "
    with pytest.raises(ValueError):
        _dechunk(b"10\r\nshort")


def test_heartbeats_for_an_unknown_bucket_are_dropped_not_retried_forever(
        server, make_client, caplog):
    client = make_client()
    with caplog.at_level(logging.ERROR, logger="tg_core.client"):
        client.heartbeat("never-declared", {"app": "x"}, timestamp=at(0), pulsetime=2)
        client.heartbeat(BUCKET, {"app": "a"}, timestamp=at(1), pulsetime=2)
        wait_events(server, [(at(1), 0.0, {"app": "a"})])
        wait_until(lambda: len(client.queue) == 0, message="an empty queue")
    assert any("never-declared" in r.getMessage() and "404" in r.getMessage()
               for r in caplog.records)
