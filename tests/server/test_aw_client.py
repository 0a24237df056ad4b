"""ActivityWatch's own client (aw-client from PyPI) against a real tg-server, unchanged.

Runs twice: with the token sent as `Authorization: Bearer` (as aw-server-rust's api_key
clients do; aw-client 0.5 has no option for it, so the header is added to its requests
session) and with `auth = "none"`.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import requests

from tgtest import wait_until


@pytest.fixture(params=["token", "none"])
def aw(request, server_factory, tmp_path, monkeypatch):
    for var, sub in (("HOME", "home"), ("XDG_CONFIG_HOME", "xdg-config"), ("XDG_DATA_HOME", "xdg-data"),
                     ("XDG_CACHE_HOME", "xdg-cache")):
        monkeypatch.setenv(var, str(tmp_path / sub))
    config = {"server": {"auth": "none"}} if request.param == "none" else None
    server = server_factory(config)
    if request.param == "token":
        original = requests.sessions.Session.request

        def with_token(self, method, url, *args, **kwargs):
            if str(url).startswith(server.url):
                kwargs["headers"] = {**(kwargs.get("headers") or {}), **server.headers}
            return original(self, method, url, *args, **kwargs)

        monkeypatch.setattr(requests.sessions.Session, "request", with_token)
    from aw_client import ActivityWatchClient

    client = ActivityWatchClient("compat-test", host="127.0.0.1", port=server.port)
    yield client, server
    if client.request_queue.is_alive():
        client.disconnect()


def test_info_reports_auth_mode(aw):
    client, server = aw
    expected = "none" if (server.config_dir / "config.toml").exists() else "token"
    assert client.get_info()["auth"] == expected


def test_aw_client_full_round_trip(aw):
    from aw_core.models import Event

    client, server = aw
    bucket = "aw-compat-test_host"
    client.create_bucket(bucket, "currentwindow")
    assert bucket in client.get_buckets()

    now = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)
    # unqueued heartbeats: merged by the server
    for i in range(5):
        client.heartbeat(bucket, Event(timestamp=now + timedelta(seconds=i), data={"app": "x"}), pulsetime=2)
    events = client.get_events(bucket)
    assert len(events) == 1 and events[0].duration == timedelta(seconds=4)

    # insert / get / count / delete
    client.insert_events(bucket, [Event(timestamp=now + timedelta(hours=1), duration=10, data={"app": "y"}),
                                  Event(timestamp=now + timedelta(hours=2), duration=20, data={"app": "z"})])
    assert client.get_eventcount(bucket) == 3
    newest = client.get_events(bucket, limit=1)[0]
    assert newest.data == {"app": "z"}
    assert client.get_event(bucket, newest.id).data == {"app": "z"}
    ranged = client.get_events(bucket, start=now + timedelta(minutes=30), end=now + timedelta(minutes=90))
    assert [e.data["app"] for e in ranged] == ["y"]
    client.delete_event(bucket, newest.id)
    assert client.get_eventcount(bucket) == 2

    # query2
    result = client.query(f'events = query_bucket("{bucket}"); '
                          'events = merge_events_by_keys(events, ["app"]); '
                          'RETURN = sort_by_duration(events);',
                          [(now, now + timedelta(days=1))])
    assert [(e["data"]["app"], e["duration"]) for e in result[0]] == [("y", 10.0), ("x", 4.0)]

    # export / import (into a new bucket, then again without duplicates)
    export = client.export_bucket(bucket)["buckets"][bucket]
    export["id"] = "aw-compat-copy"
    client.import_bucket(export)
    client.import_bucket(export)
    assert client.get_eventcount("aw-compat-copy") == 2

    # settings
    client.set_setting("compat", "value")
    assert client.get_setting("compat") == "value"

    client.delete_bucket(bucket, force=True)
    assert bucket not in client.get_buckets()


def test_aw_client_queued_heartbeats_arrive(aw):
    from aw_core.models import Event

    client, server = aw
    bucket = "aw-compat-queued_host"
    client.create_bucket(bucket, "currentwindow", queued=True)
    client.connect()
    now = datetime(2024, 6, 2, 9, 0, tzinfo=timezone.utc)
    for i in range(30):  # data changes every 10: three events once the last is flushed
        client.heartbeat(bucket, Event(timestamp=now + timedelta(seconds=i), data={"app": f"a{i // 10}"}),
                         pulsetime=2, queued=True)
    client.heartbeat(bucket, Event(timestamp=now + timedelta(seconds=30), data={"app": "end"}),
                     pulsetime=2, queued=True)

    def arrived():
        try:
            return [(e.data["app"], e.duration.total_seconds()) for e in
                    reversed(client.get_events(bucket))] if bucket in client.get_buckets() else None
        except requests.HTTPError:
            return None

    got = wait_until(lambda: (lambda a: a if a and len(a) >= 3 else None)(arrived()), timeout=30,
                     message="queued heartbeats to arrive")
    assert got[:3] == [("a0", 9.0), ("a1", 9.0), ("a2", 9.0)]
