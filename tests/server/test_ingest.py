"""The heartbeat shortcut (tg_server.ingest): answers like aiohttp's route, keeps answers in
order on a connection, and hands everything unusual to aiohttp.

Most tests talk raw HTTP to a real tg-server subprocess so the bytes on the wire are exactly
the test's; one runs the server in-process to see which requests took the shortcut.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from contextlib import contextmanager

import pytest
import requests

from tg_server.api.buckets import INLINE_BODY


HB = {"timestamp": "2026-03-01T10:00:00+00:00", "duration": 0, "data": {"app": "editor"}}
HB_PATH = "/api/0/buckets/b1/heartbeat?pulsetime=60"


class Conn:
    """One keep-alive connection that sends raw bytes and reads whole responses in order."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=15)
        self.file = self.sock.makefile("rb")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def response(self) -> tuple[int, dict, bytes]:
        status_line = self.file.readline()
        assert status_line, "the server closed the connection without answering"
        status = int(status_line.split()[1])
        if status == 100:  # Expect: 100-continue: the real answer follows
            assert self.file.readline() == b"\r\n"
            return self.response()
        headers = {}
        while (line := self.file.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        body = self.file.read(int(headers.get("content-length", 0)))
        return status, headers, body

    def close(self):
        self.file.close()
        self.sock.close()


def request(method: str, target: str, body: bytes = b"", headers: dict | None = None,
            port: int = 0, version: str = "HTTP/1.1") -> bytes:
    lines = [f"{method} {target} {version}", f"Host: 127.0.0.1:{port}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body and not any(k.lower() in ("content-length", "transfer-encoding") for k in (headers or {})):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@pytest.fixture
def hb_server(server):
    server.api("POST", "buckets/b1", json={"type": "t", "client": "c", "hostname": "h"}).raise_for_status()
    return server


def heartbeat(server, data=HB, extra: dict | None = None, **kwargs) -> bytes:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {server.token}",
               **(extra or {})}
    return request("POST", kwargs.pop("target", HB_PATH), json.dumps(data).encode(), headers,
                   port=server.port, **kwargs)


def stored(server, bucket="b1"):
    return server.api("GET", f"buckets/{bucket}/events").json()


def test_heartbeats_merge_and_answer_like_the_api(hb_server):
    conn = Conn(hb_server.port)
    answers = []
    for second in (0, 5, 10):
        hb = dict(HB, timestamp=f"2026-03-01T10:00:{second:02d}+00:00")
        conn.send(heartbeat(hb_server, hb))
        status, headers, body = conn.response()
        assert status == 200 and headers["content-type"] == "application/json; charset=utf-8"
        answers.append(json.loads(body))
    assert [a["duration"] for a in answers] == [0, 5, 10]
    assert answers[-1] == {"id": answers[0]["id"], "timestamp": "2026-03-01T10:00:00+00:00",
                           "duration": 10.0, "data": {"app": "editor"}}
    assert stored(hb_server) == [answers[-1]]
    # The next heartbeat through aiohttp's route (an Origin header, even our own, sends it
    # there) extends the same event and answers in the same shape.
    via_aiohttp = hb_server.api("POST", HB_PATH.removeprefix("/api/0/"), json=dict(
        HB, timestamp="2026-03-01T10:00:12+00:00"), headers={"Origin": hb_server.url})
    assert via_aiohttp.headers["Content-Type"] == "application/json; charset=utf-8"
    assert via_aiohttp.json() == dict(answers[-1], duration=12.0)
    conn.close()


def test_batches_take_the_same_route(hb_server):
    conn = Conn(hb_server.port)
    batch = [dict(HB, timestamp=f"2026-03-01T11:00:0{s}+00:00") for s in (0, 2, 4)]
    conn.send(heartbeat(hb_server, batch, target="/api/0/buckets/b1/heartbeats?pulsetime=60"))
    status, _, body = conn.response()
    assert status == 200
    answer = json.loads(body)
    assert answer["count"] == 3 and answer["last"]["duration"] == 4.0
    conn.close()


@pytest.mark.parametrize("case, expected_status, expected_code", [
    ("bad token", 401, "unauthorized"),
    ("foreign host", 400, "invalid_host"),
    ("foreign origin", 403, "forbidden_origin"),
    ("text body", 415, "unsupported_media_type"),
    ("bad json", 400, "invalid_json"),
    ("nan", 400, "invalid_json"),
    ("no pulsetime", 400, "invalid_pulsetime"),
    ("bad pulsetime", 400, "invalid_pulsetime"),
    ("bad timestamp", 400, "invalid_timestamp"),
    ("unknown bucket", 404, "bucket_not_found"),
    ("batch not a list", 400, "invalid_event"),
])
def test_anything_wrong_gets_the_apis_error_and_stores_nothing(hb_server, case, expected_status,
                                                               expected_code):
    token = hb_server.token
    body, target = json.dumps(HB).encode(), HB_PATH
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    host = None
    if case == "bad token":
        headers["Authorization"] = "Bearer " + "x" * len(token)
    elif case == "foreign host":
        host = "evil.example:80"
    elif case == "foreign origin":
        headers["Origin"] = "https://evil.example"
    elif case == "text body":
        headers["Content-Type"] = "text/plain"
    elif case == "bad json":
        body = b'{"timestamp": '
    elif case == "nan":
        body = b'{"timestamp": "2026-03-01T10:00:00+00:00", "duration": NaN}'
    elif case == "no pulsetime":
        target = "/api/0/buckets/b1/heartbeat"
    elif case == "bad pulsetime":
        target = "/api/0/buckets/b1/heartbeat?pulsetime=-1"
    elif case == "bad timestamp":
        body = json.dumps(dict(HB, timestamp="yesterday")).encode()
    elif case == "unknown bucket":
        target = "/api/0/buckets/nope/heartbeat?pulsetime=60"
    elif case == "batch not a list":
        target = "/api/0/buckets/b1/heartbeats?pulsetime=60"
    raw = request("POST", target, body, headers, port=hb_server.port)
    if host:
        raw = raw.replace(f"Host: 127.0.0.1:{hb_server.port}".encode(), f"Host: {host}".encode())
    conn = Conn(hb_server.port)
    conn.send(raw)
    status, headers_out, answer = conn.response()
    assert (status, json.loads(answer)["error"]["code"]) == (expected_status, expected_code)
    assert stored(hb_server) == []
    conn.close()


def test_pipelined_requests_are_answered_in_order(hb_server):
    """Shortcut answers never overtake a request aiohttp is still answering."""
    port, auth = hb_server.port, {"Authorization": f"Bearer {hb_server.token}"}
    json_auth = {**auth, "Content-Type": "application/json"}
    bucket = json.dumps({"type": "t", "client": "c", "hostname": "h"}).encode()
    events = json.dumps([dict(HB, timestamp=f"2026-02-01T00:00:{s:02d}+00:00") for s in range(50)]).encode()
    raw = b"".join([
        heartbeat(hb_server),
        request("POST", "/api/0/buckets/b2", bucket, json_auth, port=port),
        request("POST", "/api/0/buckets/b2/events", events, json_auth, port=port),
        heartbeat(hb_server, target="/api/0/buckets/b2/heartbeat?pulsetime=60"),
        request("GET", "/api/0/buckets/b2/events/count", headers=auth, port=port),
        heartbeat(hb_server, dict(HB, timestamp="2026-03-01T10:00:30+00:00")),
        request("GET", "/api/0/buckets/b1/events", headers=auth, port=port),
    ])
    conn = Conn(port)
    conn.send(raw)
    answers = [conn.response() for _ in range(7)]
    assert [a[0] for a in answers] == [200] * 7
    assert json.loads(answers[0][2])["duration"] == 0
    assert json.loads(answers[1][2]) == {}
    assert json.loads(answers[2][2]) is None  # a list of events answers null, as ActivityWatch
    assert json.loads(answers[3][2])["timestamp"] == HB["timestamp"]
    assert json.loads(answers[4][2]) == 51
    assert json.loads(answers[5][2])["duration"] == 30
    assert [e["duration"] for e in json.loads(answers[6][2])] == [30]
    conn.close()


def test_requests_split_anywhere_are_put_together(hb_server):
    raw = heartbeat(hb_server) + heartbeat(hb_server, dict(HB, timestamp="2026-03-01T10:00:07+00:00"))
    conn = Conn(hb_server.port)
    for cut in range(0, len(raw), 7):  # 7-byte pieces: heads and bodies split mid-line
        conn.send(raw[cut:cut + 7])
    assert [json.loads(conn.response()[2])["duration"] for _ in range(2)] == [0, 7]
    conn.close()


def test_unusual_framing_goes_to_aiohttp(hb_server):
    """Chunked bodies, HTTP/1.0, Expect: 100-continue and a big body on the same connection
    as heartbeats: each is answered, and the heartbeats after them still merge."""
    port, token = hb_server.port, hb_server.token
    body = json.dumps(dict(HB, timestamp="2026-03-01T10:00:02+00:00")).encode()
    chunked = request("POST", HB_PATH, f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n",
                      {"Content-Type": "application/json", "Authorization": f"Bearer {token}",
                       "Transfer-Encoding": "chunked"}, port=port)
    conn = Conn(port)
    conn.send(heartbeat(hb_server))
    assert conn.response()[0] == 200
    conn.send(chunked)
    status, _, answer = conn.response()
    assert status == 200 and json.loads(answer)["duration"] == 2
    conn.close()  # after chunked, aiohttp owns the connection: a new one for the rest

    conn = Conn(port)
    conn.send(heartbeat(hb_server, dict(HB, timestamp="2026-03-01T10:00:03+00:00"),
                        extra={"Expect": "100-continue"}))
    assert json.loads(conn.response()[2])["duration"] == 3
    big = json.dumps([dict(HB, timestamp=f"2026-01-0{d}T{h:02d}:{m:02d}:00+00:00", duration=30)
                      for d in range(1, 8) for h in range(8) for m in range(60)]).encode()
    assert len(big) > INLINE_BODY  # bigger than the shortcut takes, sent in pieces
    raw = request("POST", "/api/0/buckets/b1/events", big, {
        "Content-Type": "application/json", "Authorization": f"Bearer {token}"}, port=port)
    for cut in range(0, len(raw), 5000):
        conn.send(raw[cut:cut + 5000])
    assert conn.response()[0] == 200
    conn.send(heartbeat(hb_server, dict(HB, timestamp="2026-03-01T10:00:04+00:00")))
    assert json.loads(conn.response()[2])["duration"] == 4
    conn.close()

    conn = Conn(port)
    conn.send(heartbeat(hb_server, dict(HB, timestamp="2026-03-01T10:00:05+00:00"), version="HTTP/1.0"))
    status, _, answer = conn.response()
    assert status == 200 and json.loads(answer)["duration"] == 5
    conn.close()
    assert len(stored(hb_server)) == 1 + 7 * 8 * 60


def test_big_bodies_one_after_another_are_all_answered(hb_server):
    conn = Conn(hb_server.port)
    for batch in range(12):
        events = [dict(HB, timestamp=f"2025-{batch + 1:02d}-01T00:00:00+00:00", duration=1,
                       data={"app": "editor", "title": f"{batch}-{i}" + "x" * 60}) for i in range(5000)]
        body = json.dumps(events).encode()
        assert len(body) > 2 * INLINE_BODY
        conn.send(request("POST", "/api/0/buckets/b1/events", body, {
            "Content-Type": "application/json", "Authorization": f"Bearer {hb_server.token}"},
            port=hb_server.port))
        assert conn.response()[0] == 200, f"batch {batch}"
    conn.close()
    assert hb_server.api("GET", "buckets/b1/events/count").json() == 12 * 5000


def test_garbage_gets_an_answer_not_a_hang(hb_server):
    for raw in (b"POST /api/0/buckets/b1/heartbeat?pulsetime=1 HTTP/1.1\nHost: x\n\n",
                b"NONSENSE\r\n\r\n", b"\x00\xff" * 40 + b"\r\n\r\n"):
        conn = Conn(hb_server.port)
        conn.send(raw)
        assert conn.response()[0] == 400
        conn.close()
    assert hb_server.api("GET", "info").status_code == 200


# -- in-process: which requests took the shortcut --------------------------------------------


@contextmanager
def in_process_server(tmp_path, monkeypatch):
    """The real app behind IngestRunner on a loopback port, in a thread with its own loop;
    yields (port, token, shortcut answers so far)."""
    from tg_server import ingest
    from tg_server.app import create_app
    from tg_server.context import ServerSettings
    from tgtest import free_port

    taken = []
    original = ingest.IngestProtocol._shortcut

    def counting(self, target, *args):
        answer = original(self, target, *args)
        taken.append((target.split("?")[0], answer is not None))
        return answer

    monkeypatch.setattr(ingest.IngestProtocol, "_shortcut", counting)
    port, ready, stop = free_port(), threading.Event(), None
    for sub in ("data", "config"):
        (tmp_path / sub).mkdir(mode=0o700)
    app = create_app(ServerSettings(data_dir=tmp_path / "data", config_dir=tmp_path / "config", port=port))

    def serve():
        nonlocal stop
        loop = asyncio.new_event_loop()
        stop = loop.create_future()

        async def main():
            runner = ingest.IngestRunner(app, access_log=None)
            await runner.setup()
            await ingest.web.TCPSite(runner, "127.0.0.1", port).start()
            ready.set()
            await stop
            await runner.cleanup()

        loop.run_until_complete(main())
        loop.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(30)
    try:
        yield port, (tmp_path / "config" / "api_token").read_text().strip(), taken
    finally:
        stop.get_loop().call_soon_threadsafe(stop.set_result, None)
        thread.join(30)


def test_plain_heartbeats_take_the_shortcut_and_the_rest_do_not(tmp_path, monkeypatch):
    with in_process_server(tmp_path, monkeypatch) as (port, token, taken):
        url, auth = f"http://127.0.0.1:{port}/api/0", {"Authorization": f"Bearer {token}"}
        requests.post(f"{url}/buckets/b1", json={"type": "t"}, headers=auth).raise_for_status()
        with requests.Session() as session:  # aw-client's way: a keep-alive session
            for second in range(3):
                answer = session.post(f"{url}/buckets/b1/heartbeat?pulsetime=10", headers=auth,
                                      json=dict(HB, timestamp=f"2026-03-01T10:00:0{second}+00:00"))
                assert answer.status_code == 200
        assert answer.json()["duration"] == 2
        assert taken == [("/api/0/buckets/b1", False)] + [("/api/0/buckets/b1/heartbeat", True)] * 3
        events = [dict(HB, timestamp=f"2026-02-01T10:{m:02d}:00+00:00", duration=60) for m in range(60)]
        assert requests.post(f"{url}/buckets/b1/events", json=events, headers=auth).json() is None
        assert taken[-1] == ("/api/0/buckets/b1/events", True)
        assert len(requests.get(f"{url}/buckets/b1/events", headers=auth).json()) == 61
        # An error and a browser's request (an Origin header): aiohttp answers.
        rejected = requests.post(f"{url}/buckets/nope/heartbeat?pulsetime=10", headers=auth, json=HB)
        assert rejected.status_code == 404 and taken[-1] == ("/api/0/buckets/nope/heartbeat", False)
        tried = len(taken)
        browser = requests.post(f"{url}/buckets/b1/heartbeat?pulsetime=10", json=HB,
                                headers={**auth, "Origin": f"http://127.0.0.1:{port}"})
        assert browser.status_code == 200 and len(taken) == tried  # not even tried


def test_aiohttps_resume_call_reaches_its_parser(tmp_path, monkeypatch):
    """aiohttp holds back part of a big body while the request's reader is full, and asks for
    it again with data_received(b""): that call must reach aiohttp in every state of the
    framing (ignoring it once left a bulk POST waiting forever for its last bytes)."""
    from aiohttp.web_protocol import RequestHandler

    from tg_server import ingest
    from tg_server.app import create_app
    from tg_server.context import ServerSettings

    seen = []
    monkeypatch.setattr(RequestHandler, "data_received", lambda self, data: seen.append(data))
    for sub in ("data", "config"):
        (tmp_path / sub).mkdir(mode=0o700)
    app = create_app(ServerSettings(data_dir=tmp_path / "data", config_dir=tmp_path / "config"))

    head = b"POST /api/0/buckets/b1/events HTTP/1.1\r\nHost: localhost\r\nContent-Length: 999999\r\n\r\n"

    async def main():
        runner = ingest.IngestRunner(app, access_log=None)
        await runner.setup()
        passing, waiting = runner.server(), runner.server()
        passing.data_received(b"")  # idle
        passing.data_received(head + b"[")  # passing a big body on
        passing.data_received(b"")
        waiting.data_received(b"POST /api/0/buckets/b1/heartbeat HTTP/1.1\r\n")  # a partial head
        waiting.data_received(b"")
        await runner.cleanup()

    asyncio.run(main())
    assert seen == [b"", head + b"[", b"", b""]
