"""Helpers for the client and queue tests: a producer subprocess, the events it must yield,
and a fault-injecting HTTP proxy in front of a real tg-server."""

from __future__ import annotations

import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

from heartbeat_producer import BASE, BUCKET
from tg_core.event import Event

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


class Producer:
    """heartbeat_producer.py in a subprocess; `produced` holds the indices it reported."""

    def __init__(self, server, start: int, count: int, interval: float):
        self.log_path = server.root / f"producer-{start}.log"
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(HERE / "heartbeat_producer.py"), str(server.port),
                 str(start), str(count), str(interval)], env=server.env, cwd=REPO,
                stdout=subprocess.PIPE, stderr=log, text=True)
        self.produced: list[int] = []
        self.done = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    @property
    def stderr(self) -> str:
        return self.log_path.read_text()

    def _read(self) -> None:
        for line in self.proc.stdout:
            line = line.strip()
            if line == "produced":
                self.done.set()
            elif line:
                self.produced.append(int(line))

    def wait(self, timeout: float = 150) -> int:
        return self.proc.wait(timeout)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


def expected_events(count: int) -> list[tuple]:
    """The merged events heartbeats 0..count-1 must become (data {"n": i // 3}, 1 s apart)."""
    return [(BASE + timedelta(seconds=3 * k), float(min(3 * k + 2, count - 1) - 3 * k), {"n": k})
            for k in range((count + 2) // 3)]


def stored_events(server) -> list[tuple]:
    response = server.api("GET", f"buckets/{BUCKET}/events?limit=-1")
    assert response.status_code == 200, response.text
    events = sorted((Event.from_json(e) for e in response.json()), key=lambda e: e.timestamp)
    return [(e.timestamp, round(e.duration, 6), e.data) for e in events]


def queued_entries(server) -> int:
    path = server.cache_dir / f"queue-tg-test-producer-{server.port}.sqlite"
    with sqlite3.connect(path) as db:
        return db.execute("SELECT count(*) FROM entry").fetchone()[0]




class FaultProxy:
    """An HTTP proxy in front of a real server that misbehaves on request.

    Each POST to a .../heartbeats endpoint takes the next action from `actions` (then
    "forward"): "forward"; "503" (answers 503 itself); "hang" (holds the connection, answers
    nothing, forwards nothing); "drop" (closes without forwarding); "lose" (forwards, so the
    server stores it, then closes without relaying the answer). `requests` logs
    (method, path, action) in order. The client under test sends one request per connection.
    """

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.actions: list[str] = []
        self.requests: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def heartbeat_posts(self) -> list[str]:
        """The actions taken for each heartbeats POST so far."""
        return [a for m, p, a in self.requests if m == "POST" and "/heartbeats" in p]

    def close(self) -> None:
        self._sock.close()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            reader = conn.makefile("rb")
            head = b""
            while not head.endswith(b"\r\n\r\n"):
                line = reader.readline()
                if not line:
                    return
                head += line
            method, path = head.split(b" ", 2)[:2]
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            request = head + reader.read(length)
            action = "forward"
            with self._lock:
                if method == b"POST" and b"/heartbeats" in path and self.actions:
                    action = self.actions.pop(0)
                self.requests.append((method.decode(), path.decode(), action))
            if action == "503":
                conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                             b"Connection: close\r\n\r\n")
                return
            if action == "hang":
                time.sleep(3)
                return
            if action == "drop":
                return
            with socket.create_connection(("127.0.0.1", self.upstream_port), timeout=30) as up:
                up.sendall(request)
                response = b""
                while chunk := up.recv(65536):
                    response += chunk
            if action != "lose":
                conn.sendall(response)
