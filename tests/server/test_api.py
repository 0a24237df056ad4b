"""The ActivityWatch REST API of a real tg-server: shapes, status codes and bad input."""

from __future__ import annotations

import json

import pytest

from tg_core.errors import BadRequest
from tg_server.api.buckets import INLINE_BODY
from tg_server.http import parse_json

T = "2024-05-01T10:00:00+00:00"


@pytest.fixture
def bucket(server):
    r = server.api("POST", "buckets/b1", json={"type": "currentwindow", "client": "t", "hostname": "h"})
    assert r.status_code == 200
    return "b1"


def ev(seconds=0, data=None, duration=0):
    return {"timestamp": f"2024-05-01T10:00:{seconds:02d}+00:00", "duration": duration,
            "data": data if data is not None else {"app": "a"}}


def test_info_describes_the_server(server):
    info = server.api("GET", "info").json()
    assert info["testing"] is False and info["auth"] == "token"
    assert {"hostname", "version", "device_id"} <= set(info)
    assert server.api("GET", "info").json()["device_id"] == info["device_id"]


def test_bucket_lifecycle(server, bucket):
    again = server.api("POST", "buckets/b1", json={"type": "currentwindow", "client": "t", "hostname": "h"})
    assert again.status_code == 304
    listed = server.api("GET", "buckets/").json()
    assert listed["b1"]["type"] == "currentwindow" and listed["b1"]["hostname"] == "h"
    assert server.api("PUT", "buckets/b1", json={"hostname": "h2"}).status_code == 200
    assert server.api("GET", "buckets/b1").json()["hostname"] == "h2"
    assert server.api("DELETE", "buckets/b1").status_code == 401  # needs ?force=1
    assert server.api("DELETE", "buckets/b1?force=1").status_code == 200
    assert server.api("GET", "buckets/b1").status_code == 404


def test_events_are_returned_newest_first_with_limit_and_range(server, bucket):
    assert server.api("POST", "buckets/b1/events", json=[ev(0), ev(10), ev(20)]).status_code == 200
    got = server.api("GET", "buckets/b1/events").json()
    assert [e["timestamp"] for e in got] == [ev(20)["timestamp"], ev(10)["timestamp"], ev(0)["timestamp"]]
    assert len(server.api("GET", "buckets/b1/events?limit=1").json()) == 1
    ranged = server.api("GET", "buckets/b1/events", params={"start": ev(5)["timestamp"], "end": ev(15)["timestamp"]})
    assert [e["timestamp"] for e in ranged.json()] == [ev(10)["timestamp"]]
    assert server.api("GET", "buckets/b1/events/count").json() == 3
    eid = got[0]["id"]
    assert server.api("GET", f"buckets/b1/events/{eid}").json()["data"] == {"app": "a"}
    assert server.api("DELETE", f"buckets/b1/events/{eid}").status_code == 200
    assert server.api("GET", f"buckets/b1/events/{eid}").status_code == 404


def test_single_event_post_answers_with_the_event(server, bucket):
    r = server.api("POST", "buckets/b1/events", json=ev(0, duration=5))
    assert r.status_code == 200 and r.json()["duration"] == 5 and isinstance(r.json()["id"], int)


def test_heartbeat_endpoint_merges(server, bucket):
    server.api("POST", "buckets/b1/heartbeat?pulsetime=5", json=ev(0))
    r = server.api("POST", "buckets/b1/heartbeat?pulsetime=5", json=ev(4))
    assert r.status_code == 200 and r.json()["duration"] == 4
    assert server.api("GET", "buckets/b1/events/count").json() == 1


def test_batch_heartbeats_merge_in_one_request(server, bucket):
    batch = [ev(i, {"app": "a" if i < 3 else "b"}) for i in range(6)]
    r = server.api("POST", "buckets/b1/heartbeats?pulsetime=2", json=batch)
    assert r.status_code == 200 and r.json()["count"] == 6
    got = server.api("GET", "buckets/b1/events").json()
    assert [(e["data"]["app"], e["duration"]) for e in got] == [("b", 2.0), ("a", 2.0)]


def test_batch_with_one_bad_heartbeat_stores_nothing(server, bucket):
    batch = [ev(0), ev(1), {"timestamp": "yesterday", "data": {}}]
    r = server.api("POST", "buckets/b1/heartbeats?pulsetime=2", json=batch)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_timestamp"
    assert server.api("GET", "buckets/b1/events/count").json() == 0


# Bad events inside a bulk POST, as raw JSON: each is a 400 with its code, and stores nothing.
BAD_BATCH_EVENTS = [
    ('5', "invalid_event"),
    ('{"duration": 1}', "invalid_event"),
    ('{"timestamp": null}', "invalid_timestamp"),
    ('{"timestamp": "2024-13-01T00:00:00Z"}', "invalid_timestamp"),
    ('{"timestamp": "1969-12-31T23:59:59+00:00"}', "invalid_timestamp"),
    ('{"timestamp": "9000-01-01T00:00:00+00:00"}', "invalid_timestamp"),
    ('{"timestamp": "2024-05-01T10:00:00+00:00", "duration": -0.5}', "invalid_duration"),
    ('{"timestamp": "2024-05-01T10:00:00+00:00", "duration": "2"}', "invalid_duration"),
    ('{"timestamp": "2024-05-01T10:00:00+00:00", "duration": false}', "invalid_duration"),
    ('{"timestamp": "2024-05-01T10:00:00+00:00", "duration": 1e300}', "invalid_duration"),
    ('{"timestamp": "2024-05-01T10:00:00+00:00", "data": ["app"]}', "invalid_event"),
    ('{"timestamp": "2024-05-01T10:00:00+00:00", "id": "3"}', "invalid_event"),
    ('{"timestamp": "2024-05-01T10:00:00+00:00", "id": 0}', "invalid_event"),
    ('{"timestamp": "2024-05-01T10:00:00+00:00", "id": 9007199254740992}', "invalid_event"),
]


def test_bulk_post_with_one_bad_event_stores_nothing(server, bucket):
    good = ",".join(json.dumps(ev(i, {"app": f"new{i}"})) for i in range(3))
    for bad, code in BAD_BATCH_EVENTS:
        r = server.api("POST", "buckets/b1/events", data=f"[{good},{bad}]".encode(),
                       headers={"Content-Type": "application/json"})
        assert (r.status_code, r.json()["error"]["code"]) == (400, code), bad
        assert server.api("GET", "buckets/b1/events/count").json() == 0
    r = server.api("POST", "buckets/b1/events", data=f"[{good}]".encode(),
                   headers={"Content-Type": "application/json"})
    assert r.status_code == 200 and r.json() is None
    assert [e["data"]["app"] for e in server.api("GET", "buckets/b1/events").json()] == ["new2", "new1", "new0"]


def test_bulk_post_stores_events_as_single_posts_do(server, bucket):
    batch = [{"timestamp": "2024-05-01T12:00:00+02:00", "duration": 2, "data": {"app": "a"}},
             {"timestamp": "2024-05-01T10:00:01.5Z", "duration": 0.25},
             {"timestamp": "2024-05-01T10:00:03", "data": {"app": "b", "n": [1, {"x": None}]}}]
    assert server.api("POST", "buckets/b1/events", json=batch).status_code == 200
    singles = [server.api("POST", "buckets/b1/events", json=e).json() for e in batch]
    got = server.api("GET", "buckets/b1/events").json()
    pairs = {}
    for e in got:
        pairs.setdefault((e["timestamp"], e["duration"], json.dumps(e["data"], sort_keys=True)), []).append(e["id"])
    assert len(pairs) == 3 and all(len(ids) == 2 for ids in pairs.values())
    assert {(e["timestamp"], e["duration"]) for e in singles} == {(t, d) for t, d, _ in pairs}


def test_bulk_post_too_big_for_the_loop_is_all_or_nothing_too(server, bucket):
    events = [ev(i % 60, {"app": "a", "title": "t" * 200 + str(i)}) for i in range(1500)]
    assert len(json.dumps(events)) > INLINE_BODY  # parsed and inserted in the writer thread
    bad = events + [{"timestamp": "2024-05-01T10:00:00+00:00", "duration": -1}]
    r = server.api("POST", "buckets/b1/events", json=bad)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_duration"
    assert server.api("GET", "buckets/b1/events/count").json() == 0
    assert server.api("POST", "buckets/b1/events", json=events).status_code == 200
    assert server.api("GET", "buckets/b1/events/count").json() == 1500


# Bodies on which a faster parser could differ from json: each must parse exactly as json.loads.
JSON_EDGE_BODIES = [
    b'{"n": 123456789012345678901234567890, "m": -9223372036854775809, "u": 18446744073709551616}',
    b'[1.0000000000000002, 5e-324, 0.1, -0.0, 1e22, 123456789.123456789e-5]',
    b'[1e400, -1e400]',
    b'{"a": 1, "a": 2, "b": 3}',
    b'"\\ud800 \\udc00\\ud800 \\ud83d\\ude00"',
    b'\xef\xbb\xbf{"bom": true}',
    '{"utf16": "\u00e9"}'.encode("utf-16"),
    '{"title": "caf\u00e9 \u2014 Z\u00fcrich"}'.encode(),
]


@pytest.mark.parametrize("body", JSON_EDGE_BODIES)
def test_request_json_parses_as_json_loads_does(body):
    assert repr(parse_json(body)) == repr(json.loads(body))


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2", b'{"a": NaN}', b"[Infinity]", b"\xff", b"1 2"])
def test_bad_request_json_is_invalid_json(body):
    with pytest.raises(BadRequest) as err:
        parse_json(body)
    assert err.value.code == "invalid_json"


def test_settings(server):
    assert server.api("GET", "settings/nothing").json() is None
    assert server.api("POST", "settings/theme", json="dark").status_code == 200
    assert server.api("GET", "settings/theme").json() == "dark"
    all_settings = server.api("GET", "settings").json()
    assert all_settings["theme"] == "dark" and isinstance(all_settings["classes"], list)
    assert server.api("DELETE", "settings/theme").status_code == 200
    assert server.api("GET", "settings/theme").json() is None


def test_export_and_import_merge_without_duplicates(server, bucket):
    server.api("POST", "buckets/b1/events", json=[ev(0), ev(10)])
    export = server.api("GET", "export")
    assert "attachment" in export.headers["Content-Disposition"]
    doc = export.json()
    assert len(doc["buckets"]["b1"]["events"]) == 2
    assert server.api("POST", "import", json=doc).json() == {"imported": {"b1": 0}}
    doc["buckets"]["copy"] = dict(doc["buckets"]["b1"], id="copy")
    assert server.api("POST", "import", json=doc).json() == {"imported": {"b1": 0, "copy": 2}}
    single = server.api("GET", "buckets/b1/export").json()
    assert list(single["buckets"]) == ["b1"]


def test_import_as_multipart_form(server, bucket):
    server.api("POST", "buckets/b1/events", json=[ev(0)])
    doc = server.api("GET", "export").json()
    doc["buckets"] = {"up": dict(doc["buckets"]["b1"], id="up")}
    r = server.api("POST", "import", files={"file": ("export.json", json.dumps(doc), "application/json")})
    assert r.status_code == 200 and r.json() == {"imported": {"up": 1}}


BAD_REQUESTS = [
    # (method, path, body (None: no body, str: raw JSON text), expected status, expected code)
    ("POST", "buckets/b1/heartbeat?pulsetime=5", "{not json", 400, "invalid_json"),
    ("POST", "buckets/b1/heartbeat?pulsetime=5", "", 400, "invalid_json"),
    ("POST", "buckets/b1/heartbeat?pulsetime=5", '{"timestamp": NaN}', 400, "invalid_json"),
    ("POST", "buckets/b1/heartbeat?pulsetime=5", "[1, 2]", 400, "invalid_event"),
    ("POST", "buckets/b1/heartbeat", json.dumps(ev(0)), 400, "invalid_pulsetime"),
    ("POST", "buckets/b1/heartbeat?pulsetime=abc", json.dumps(ev(0)), 400, "invalid_pulsetime"),
    ("POST", "buckets/b1/heartbeat?pulsetime=-1", json.dumps(ev(0)), 400, "invalid_pulsetime"),
    ("POST", "buckets/b1/heartbeat?pulsetime=inf", json.dumps(ev(0)), 400, "invalid_pulsetime"),
    ("POST", "buckets/b1/heartbeat?pulsetime=5", '{"timestamp": "2024-13-01T00:00:00Z"}', 400, "invalid_timestamp"),
    ("POST", "buckets/b1/heartbeat?pulsetime=5", '{"timestamp": 12345}', 400, "invalid_timestamp"),
    ("POST", "buckets/b1/heartbeat?pulsetime=5", '{"timestamp": "99999-01-01T00:00:00Z"}', 400, "invalid_timestamp"),
    ("POST", "buckets/b1/heartbeat?pulsetime=5", '{"duration": 1}', 400, "invalid_event"),
    ("POST", "buckets/b1/heartbeat?pulsetime=5", '{"timestamp": "2024-01-01T00:00:00Z", "duration": -1}', 400, "invalid_duration"),
    ("POST", "buckets/b1/heartbeat?pulsetime=5", '{"timestamp": "2024-01-01T00:00:00Z", "duration": "1"}', 400, "invalid_duration"),
    ("POST", "buckets/b1/heartbeat?pulsetime=5", '{"timestamp": "2024-01-01T00:00:00Z", "duration": 1e308}', 400, "invalid_duration"),
    ("POST", "buckets/b1/heartbeat?pulsetime=5", '{"timestamp": "2024-01-01T00:00:00Z", "data": [1]}', 400, "invalid_event"),
    ("POST", "buckets/b1/heartbeat?pulsetime=5", '{"timestamp": "2024-01-01T00:00:00Z", "id": "x"}', 400, "invalid_event"),
    ("POST", "buckets/b1/events", '"just a string"', 400, "invalid_event"),
    ("POST", "buckets/b1/events", '[{"timestamp": "2024-01-01T00:00:00Z"}, 5]', 400, "invalid_event"),
    ("POST", "buckets/nope/events", json.dumps([ev(0)]), 404, "bucket_not_found"),
    ("POST", "buckets/nope/heartbeat?pulsetime=1", json.dumps(ev(0)), 404, "bucket_not_found"),
    ("GET", "buckets/nope/events", None, 404, "bucket_not_found"),
    ("GET", "buckets/nope", None, 404, "bucket_not_found"),
    ("GET", "buckets/b1/events/999", None, 404, "event_not_found"),
    ("GET", "buckets/b1/events/abc", None, 400, "invalid_event_id"),
    ("DELETE", "buckets/b1/events/999", None, 404, "event_not_found"),
    ("GET", "buckets/b1/events?limit=x", None, 400, "invalid_limit"),
    ("GET", "buckets/b1/events?start=notadate", None, 400, "invalid_timestamp"),
    ("POST", "buckets/b2", '{"client": "x"}', 400, "invalid_bucket"),
    ("POST", "buckets/b2", '{"type": 5}', 400, "invalid_bucket"),
    ("POST", "buckets/b2", '{"type": "t", "data": 3}', 400, "invalid_bucket"),
    ("POST", "buckets/b1/heartbeats?pulsetime=1", '{"timestamp": "2024-01-01T00:00:00Z"}', 400, "invalid_event"),
    ("POST", "import", '{"nope": 1}', 400, "invalid_import"),
    ("POST", "import", '{"buckets": {"x": {"type": "t", "events": [{"timestamp": "bad"}]}}}', 400, "invalid_timestamp"),
    ("POST", "import", '{"buckets": {"x": {"type": 3}}}', 400, "invalid_import"),
    ("POST", "query/", '{"query": []}', 400, "invalid_query"),
    ("GET", "no/such/endpoint", None, 404, "not_found"),
    ("PATCH", "buckets/b1", "{}", 405, "method_not_allowed"),
]


@pytest.mark.parametrize("method,path,body,status,code", BAD_REQUESTS)
def test_bad_input_gets_a_json_4xx_and_stores_nothing(server, bucket, method, path, body, status, code):
    headers = {"Content-Type": "application/json"} if body is not None else {}
    r = server.api(method, path, data=body.encode() if body is not None else None, headers=headers)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    assert r.json()["error"]["message"]
    assert server.api("GET", "buckets/b1/events/count").json() == 0
    assert set(server.api("GET", "buckets/").json()) == {"b1"}


def test_body_over_the_limit_is_413(server, bucket):
    big = b'{"timestamp": "2024-01-01T00:00:00Z", "data": {"x": "' + b"a" * (65 * 1024 * 1024) + b'"}}'
    r = server.api("POST", "buckets/b1/heartbeat?pulsetime=1", data=big,
                   headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "request_entity_too_large"


def test_openapi_document_covers_every_endpoint(server):
    doc = server.api("GET", "openapi.json").json()
    assert doc["openapi"].startswith("3.")
    expected = {("get", "/api/0/info"), ("get", "/api/0/buckets/"), ("post", "/api/0/buckets/{bucket_id}"),
                ("put", "/api/0/buckets/{bucket_id}"), ("delete", "/api/0/buckets/{bucket_id}"),
                ("get", "/api/0/buckets/{bucket_id}/events"), ("post", "/api/0/buckets/{bucket_id}/events"),
                ("get", "/api/0/buckets/{bucket_id}/events/count"),
                ("get", "/api/0/buckets/{bucket_id}/events/{event_id}"),
                ("delete", "/api/0/buckets/{bucket_id}/events/{event_id}"),
                ("post", "/api/0/buckets/{bucket_id}/heartbeat"), ("post", "/api/0/buckets/{bucket_id}/heartbeats"),
                ("post", "/api/0/query/"), ("get", "/api/0/export"), ("get", "/api/0/buckets/{bucket_id}/export"),
                ("post", "/api/0/import"), ("get", "/api/0/settings/{key}"), ("post", "/api/0/settings/{key}"),
                ("delete", "/api/0/settings/{key}")}
    documented = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert expected <= documented
    heartbeat = doc["paths"]["/api/0/buckets/{bucket_id}/heartbeat"]["post"]
    assert any(p["name"] == "pulsetime" and p["required"] for p in heartbeat["parameters"])


def test_server_binds_loopback_only(server):
    import psutil

    conns = [c for c in psutil.Process(server.proc.pid).net_connections() if c.status == "LISTEN"]
    assert conns and all(c.laddr.ip == "127.0.0.1" for c in conns)


def test_help_documents_the_flags():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "tg_server", "--help"], capture_output=True, text=True,
                         check=True).stdout
    for flag in ("--host", "--port", "--testing", "--data-dir", "TG_DATA_DIR", "TG_CONFIG_DIR", "TG_CACHE_DIR"):
        assert flag in out
    assert "127.0.0.1" in out and "5700" in out and "5766" in out


def test_testing_mode_uses_a_separate_database(server_factory):
    testing = server_factory(testing=True)
    assert testing.api("GET", "info").json()["testing"] is True
    testing.api("POST", "buckets/t", json={"type": "x"})
    assert testing.api("DELETE", "buckets/t").status_code == 200  # no force needed in testing
    assert (testing.data_dir / "timelygator-testing.db").exists()
    assert not (testing.data_dir / "timelygator.db").exists()
