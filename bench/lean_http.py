"""A lean HTTP/1.1 client for benchmarks: one keep-alive socket, JSON bodies, little overhead.

http.client spends about 0.2 ms of CPU per request on this kind of machine, which is most of a
fast server's round trip; this client builds each request with one format and parses only the
status line, Content-Length / chunked bodies and Connection, so the server is what is timed.
It reconnects when the server closes the connection (aw-server's Werkzeug does after every
response) and retries once only when a reused connection turns out to be closed.
"""

from __future__ import annotations

import json
import socket


class Closed(ConnectionError):
    """The server closed the connection before a whole response arrived."""


class Client:
    """Requests to 127.0.0.1:`port` with fixed extra headers; any status not in `ok` raises."""

    def __init__(self, port: int, headers: dict[str, str] | None = None, timeout: float = 900):
        self.port, self.timeout = port, timeout
        fixed = {"Host": f"127.0.0.1:{port}", "Content-Type": "application/json", **(headers or {})}
        self._fixed = "".join(f"{k}: {v}\r\n" for k, v in fixed.items())
        self.sock: socket.socket | None = None
        self.buf = bytearray()
        self.connects = 0

    def request(self, method: str, path: str, body: bytes | None = None, ok=(200, 201)):
        """Send one request and return its JSON answer (None for an empty body)."""
        body = body or b""
        message = f"{method} {path} HTTP/1.1\r\n{self._fixed}Content-Length: {len(body)}\r\n\r\n".encode() + body
        for attempt in (1, 2):
            reused = self.sock is not None
            if not reused:
                self._connect()
            try:
                self.sock.sendall(message)
                status, headers, data = self._response()
                break
            except (Closed, ConnectionResetError, BrokenPipeError):
                self.close()
                if not reused or attempt == 2:  # a fresh connection failing is a real failure
                    raise
        if headers.get("connection", "").lower() == "close":
            self.close()
        if status not in ok:
            raise RuntimeError(f"{method} {path} -> {status}: {bytes(data[:300])!r}")
        return json.loads(data) if data.strip() else None

    def close(self):
        if self.sock is not None:
            self.sock.close()
        self.sock = None

    def _connect(self):
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.connects += 1

    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise Closed("connection closed by the server")
        self.buf += chunk

    def _take_until(self, marker: bytes) -> bytes:
        while (end := self.buf.find(marker)) < 0:
            self._fill()
        taken = bytes(self.buf[:end])
        del self.buf[:end + len(marker)]
        return taken

    def _take(self, size: int) -> bytes:
        while len(self.buf) < size:
            self._fill()
        taken = bytes(self.buf[:size])
        del self.buf[:size]
        return taken

    def _response(self) -> tuple[int, dict[str, str], bytes]:
        lines = self._take_until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            return status, headers, self._take(int(headers["content-length"]))
        if "chunked" in headers.get("transfer-encoding", "").lower():
            parts = []
            while size := int(self._take_until(b"\r\n").split(b";")[0], 16):
                parts.append(self._take(size))
                self._take(2)
            self._take_until(b"\r\n")  # the empty trailer
            return status, headers, b"".join(parts)
        if status in (204, 304) or status < 200:
            return status, headers, b""
        while True:  # no length: the body ends when the server closes the connection
            try:
                self._fill()
            except Closed:
                data = bytes(self.buf)
                self.close()
                return status, headers, data
