"""No acknowledged data is lost when the server is SIGKILLed mid-stream."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import requests

from tgtest import wait_until

T0 = datetime(2024, 7, 1, 8, 0, tzinfo=timezone.utc)


def test_everything_answered_2xx_survives_sigkill(server):
    for name in ("hb", "ev"):
        assert server.api("POST", f"buckets/{name}", json={"type": "test"}).status_code == 200
    acked_heartbeats: list[tuple[datetime, dict]] = []
    acked_events: list[str] = []
    stop = threading.Event()

    def stream_heartbeats():
        session = requests.Session()
        session.headers.update(server.headers)
        i = 0
        while not stop.is_set():
            ts, data = T0 + timedelta(seconds=i), {"app": f"app{i // 7}"}
            try:
                r = session.post(f"{server.url}/api/0/buckets/hb/heartbeat?pulsetime=2", timeout=5,
                                 json={"timestamp": ts.isoformat(), "data": data})
            except requests.ConnectionError:
                return
            if r.status_code == 200:
                acked_heartbeats.append((ts, data))
            i += 1

    def stream_events():
        session = requests.Session()
        session.headers.update(server.headers)
        batch = 0
        while not stop.is_set():
            events = [{"timestamp": (T0 + timedelta(minutes=batch, seconds=s)).isoformat(), "duration": 1,
                       "data": {"batch": batch, "n": s}} for s in range(50)]
            try:
                r = session.post(f"{server.url}/api/0/buckets/ev/events", json=events, timeout=5)
            except requests.ConnectionError:
                return
            if r.status_code == 200:
                acked_events.extend(e["timestamp"] for e in events)
            batch += 1

    threads = [threading.Thread(target=f, daemon=True) for f in (stream_heartbeats, stream_events)]
    for t in threads:
        t.start()
    wait_until(lambda: len(acked_heartbeats) >= 200 and len(acked_events) >= 2000, timeout=60,
               message="enough acknowledged writes")
    server.kill()  # mid-stream: both threads are sending
    stop.set()
    for t in threads:
        t.join(10)
    server.start()

    stored = [(datetime.fromisoformat(e["timestamp"]), e["duration"], e["data"])
              for e in server.api("GET", "buckets/hb/events").json()]
    for ts, data in acked_heartbeats:
        assert any(s_data == data and s_ts <= ts <= s_ts + timedelta(seconds=dur)
                   for s_ts, dur, s_data in stored), f"acknowledged heartbeat {ts} {data} lost"
    stored_events = {e["timestamp"] for e in server.api("GET", "buckets/ev/events").json()}
    assert set(acked_events) <= stored_events
    assert len(acked_events) >= 2000
