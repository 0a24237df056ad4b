"""The watchers' HTTP client: local pre-merge, batching, and delivery through the durable queue.

A watcher calls `heartbeat()` every poll. Consecutive heartbeats with equal data are merged
here with the server's rule (tg_core.heartbeat), so the server sees one growing event
instead of one request per poll. A batch is queued at once when the data changes (the server
knows the new window within a poll) and otherwise every `[client] batch_seconds`. A
background thread sends the queue, oldest first, to
`POST /api/0/buckets/{id}/heartbeats?pulsetime=S`; an entry leaves the queue only after a
2xx. Connection errors, timeouts, 401 and 5xx are retried with back-off; any other 4xx is
logged and dropped.

Delivery is at-least-once; replays are harmless because the server merges equal heartbeats,
except after a request whose outcome is unknown (the connection broke after sending, or the
watcher was killed mid-request). Then the client first asks the server for the bucket's
latest event and drops the queued entries it already covers, so nothing is stored twice.

Only the standard library (sockets, sqlite3) is used: watchers stay small.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

from . import config as tg_config
from .errors import BadRequest
from .event import Event
from .heartbeat import heartbeat_merge
from .queue import DEFAULT_MAX_ENTRIES, Batch, DurableQueue

log = logging.getLogger(__name__)

DEFAULT_BATCH_SECONDS = 5.0
RETRY_MIN = 0.5
RETRY_MAX = 10.0
# A request joins at most this many queued entries (one server transaction).
JOIN_ENTRIES = 100
_COVER_TOLERANCE = timedelta(milliseconds=1)


class _Pending:
    """A bucket's locally merged heartbeat not yet queued."""

    __slots__ = ("event", "pulsetime", "dirty", "queued_at")

    def __init__(self, event: Event, pulsetime: float, queued_at: float):
        self.event = event
        self.pulsetime = pulsetime
        self.dirty = False          # merged into since it was last queued
        self.queued_at = queued_at  # time.monotonic() of the last queueing


class _Retry(Exception):
    """Delivery failed for a reason that may go away; `uncertain` if it may have arrived."""

    def __init__(self, reason: str, uncertain: bool = False):
        super().__init__(reason)
        self.uncertain = uncertain


class Client:
    """Sends one watcher's heartbeats to the TimelyGator server, losing none.

    `config` is the parsed config.toml (read from the config dir when None); `host`/`port`/
    `testing` override its [server] table as the watchers' CLI flags do. Raises ValueError
    for invalid [client] settings.
    """

    def __init__(self, client_name: str, *, host: str | None = None, port: int | None = None,
                 testing: bool = False, config: dict | None = None,
                 config_dir: Path | None = None, queue_path: Path | None = None,
                 batch_seconds: float | None = None, timeout: float = 10.0):
        self.client_name = client_name
        self._config_dir = config_dir
        cfg = config if config is not None else tg_config.load_config(config_dir)
        self.address = tg_config.server_address(cfg, host=host, port=port, testing=testing)
        client_cfg = tg_config.section(cfg, "client")
        self.batch_seconds = positive_number(batch_seconds or client_cfg.get(
            "batch_seconds", DEFAULT_BATCH_SECONDS), "[client] batch_seconds")
        self.retry_max = positive_number(client_cfg.get("retry_max", RETRY_MAX),
                                         "[client] retry_max")
        queue_max = int(positive_number(client_cfg.get("queue_max", DEFAULT_MAX_ENTRIES),
                                        "[client] queue_max"))
        self.timeout = timeout
        if queue_path is None:
            # One queue per client and server port: a --testing watcher never feeds real data.
            queue_path = tg_config.cache_dir() / f"queue-{client_name}-{self.address.port}.sqlite"
        self.queue = DurableQueue(queue_path, queue_max)
        # Pending heartbeats of a killed run go out first, in order.
        if self.queue.recover_pending():
            log.info("recovered heartbeats left by a previous run from %s", queue_path)

        self._lock = threading.Lock()
        self._pending: dict[str, _Pending] = {}
        self._created: set[str] = set()
        self._token: str | None = None
        # At start an earlier run may have been killed mid-request: check before resending.
        self._uncertain = True
        self._offline_since: float | None = None
        self._wake = threading.Event()
        self._stopping = False
        self._closed = self._closed_empty = False
        self._thread = threading.Thread(target=self._run, name=f"{client_name}-sender",
                                        daemon=True)
        self._thread.start()

    # -- the watcher's side ---------------------------------------------------------------

    def create_bucket(self, bucket_id: str, event_type: str, hostname: str) -> None:
        """Declare a bucket; it is created on the server before its first heartbeat is sent."""
        self.queue.set_bucket(bucket_id, {"client": self.client_name, "type": event_type,
                                          "hostname": hostname})

    def heartbeat(self, bucket_id: str, data: dict, *, pulsetime: float,
                  timestamp: datetime | None = None, duration: float = 0.0) -> None:
        """Record one heartbeat; it is on disk when this returns."""
        hb = Event(timestamp or datetime.now(timezone.utc), duration, data)
        now = time.monotonic()
        with self._lock:
            state = self._pending.get(bucket_id)
            merged = state and heartbeat_merge(state.event, hb, pulsetime)
            if merged:
                state.event, state.dirty, state.pulsetime = merged, True, pulsetime
                if now - state.queued_at >= self.batch_seconds:
                    self._queue_pending(bucket_id, state, now)
                else:
                    self.queue.set_pending(bucket_id, pulsetime, merged.to_json())
                return
            # New data or a gap: close the old event and send the new one at once.
            batch = [state.event.to_json()] if state and state.dirty else []
            batch.append(hb.to_json())
            self.queue.put(bucket_id, pulsetime, batch)
            self._pending[bucket_id] = _Pending(hb, pulsetime, now)
        self._wake.set()

    def end_event(self, bucket_id: str) -> None:
        """Queue the bucket's merged heartbeat and forget it, so the next heartbeat starts a
        new event locally (used after a clock jump or suspend)."""
        with self._lock:
            state = self._pending.pop(bucket_id, None)
            if state and state.dirty:
                self._queue_pending(bucket_id, state, time.monotonic())
        self._wake.set()

    def flush(self) -> None:
        """Queue every merged heartbeat now instead of at the next batch interval."""
        self._flush_due(force=True)
        self._wake.set()

    def close(self, timeout: float = 5.0) -> bool:
        """Flush, give the sender up to `timeout` seconds to empty the queue, and stop.

        Returns whether the queue is empty; what is left is delivered by the next run.
        """
        if self._closed:
            return self._closed_empty
        self.flush()
        deadline = time.monotonic() + timeout
        while len(self.queue) and time.monotonic() < deadline:
            self._wake.set()
            time.sleep(0.05)
        self._stopping = True
        self._wake.set()
        self._thread.join(max(0.0, deadline - time.monotonic()) + 0.5)
        empty = not len(self.queue)
        if not self._thread.is_alive():
            self.queue.close()
        self._closed, self._closed_empty = True, empty
        return empty

    def get_setting(self, key: str, default=None, timeout: float = 2.0):
        """The server's setting `key`: its JSON value (None when unset), or `default` when it
        cannot be read (server down, no valid token yet, a bad answer). Never raises.

        Runs on the caller's thread, apart from the queue and the sender: it never delays
        delivery.
        """
        try:
            status, body = self._request("GET", f"/api/0/settings/{quote(key, safe='')}",
                                         timeout=timeout)
            if status == 200:
                return json.loads(body)
            reason = f"HTTP {status} {_error_message(body)}"
        except Exception as exc:  # _Retry, bad JSON: a setting is only ever a preference
            reason = str(exc)
        log.debug("cannot read setting %s: %s", key, reason)
        return default

    def _queue_pending(self, bucket_id: str, state: _Pending, now: float) -> None:
        self.queue.put(bucket_id, state.pulsetime, [state.event.to_json()])
        state.dirty, state.queued_at = False, now

    def _flush_due(self, force: bool = False) -> None:
        now = time.monotonic()
        with self._lock:
            for bucket_id, state in self._pending.items():
                if state.dirty and (force or now - state.queued_at >= self.batch_seconds):
                    self._queue_pending(bucket_id, state, now)

    # -- the sender thread -----------------------------------------------------------------

    def _run(self) -> None:
        delay = 0.0
        while not self._stopping:
            self._flush_due()
            batch = self.queue.peek(JOIN_ENTRIES)
            if batch is None:
                self._wait(self.batch_seconds)
                continue
            try:
                self._deliver(batch)
            except _Retry as exc:
                self._uncertain = self._uncertain or exc.uncertain
                delay = min(self.retry_max, max(RETRY_MIN, delay * 2))
                if self._offline_since is None:
                    self._offline_since = time.monotonic()
                    log.warning("cannot deliver to %s (%s): keeping %d batches queued on disk, "
                                "retrying", self.address.url, exc, len(self.queue))
                self._back_off(delay)
                continue
            except Exception:  # a bug must not kill the sender: the data stays queued
                log.exception("unexpected error while sending; retrying")
                self._back_off(self.retry_max)
                continue
            if self._offline_since is not None:
                log.info("delivering to %s again after %.0f s", self.address.url,
                         time.monotonic() - self._offline_since)
                self._offline_since = None
            delay = 0.0

    def _wait(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

    def _back_off(self, seconds: float) -> None:
        """Sleep `seconds` (new heartbeats do not cut it short; stopping does)."""
        deadline = time.monotonic() + seconds
        while not self._stopping and (left := deadline - time.monotonic()) > 0:
            self._wait(left)

    def _deliver(self, batch: Batch) -> None:
        """Send one batch and remove it from the queue, or raise _Retry."""
        if self._uncertain:
            if self._drop_delivered(batch):
                return
            self._uncertain = False
        existed = batch.bucket in self._created
        self._ensure_bucket(batch.bucket)
        path = (f"/api/0/buckets/{quote(batch.bucket, safe='')}/heartbeats"
                f"?pulsetime={batch.pulsetime:g}")
        status, body = self._request("POST", path, batch.heartbeats, uncertain=True)
        if status == 404 and existed:
            self._created.discard(batch.bucket)  # the server lost the bucket: create it again
            raise _Retry(f"bucket {batch.bucket} not found")
        if 200 <= status < 300:
            self.queue.remove(batch.ids)
            return
        if len(batch.entries) > 1:
            # Find the bad entry by sending the joined entries one at a time.
            for rid, heartbeats in batch.entries:
                self._deliver(Batch(batch.bucket, batch.pulsetime, [(rid, heartbeats)]))
            return
        log.error("server rejected %d heartbeats for %s with %d %s: dropping them",
                  len(batch.heartbeats), batch.bucket, status, _error_message(body))
        self.queue.remove(batch.ids)

    def _drop_delivered(self, batch: Batch) -> bool:
        """After an unknown outcome, drop the longest prefix of `batch` whose last heartbeat
        the server's latest event already covers. Returns whether anything was dropped."""
        path = f"/api/0/buckets/{quote(batch.bucket, safe='')}/events?limit=1"
        status, body = self._request("GET", path)
        if status == 404:
            return False
        if status != 200:
            raise _Retry(f"HTTP {status} while checking what arrived")
        events = json.loads(body)
        if not events:
            return False
        latest = Event.from_json(events[0])
        covered = 0
        for index, (_, heartbeats) in enumerate(batch.entries, 1):
            if heartbeats and _covers(latest, heartbeats[-1]):
                covered = index
        if covered:
            log.info("%d queued batches for %s had already arrived: not resending them",
                     covered, batch.bucket)
            self.queue.remove(batch.ids[:covered])
        return covered > 0

    def _ensure_bucket(self, bucket_id: str) -> None:
        if bucket_id in self._created:
            return
        body = self.queue.bucket_body(bucket_id)
        if body is not None:
            status, reply = self._request("POST", f"/api/0/buckets/{quote(bucket_id, safe='')}",
                                          body)
            if not (200 <= status < 300 or status == 304):
                log.error("cannot create bucket %s: %d %s", bucket_id, status,
                          _error_message(reply))
        self._created.add(bucket_id)

    def _request(self, method: str, path: str, payload=None, uncertain: bool = False,
                 timeout: float | None = None):
        """One HTTP exchange; returns (status, body bytes) for any status the caller handles
        and raises _Retry for those worth retrying."""
        if self._token is None:
            self._token = tg_config.read_token(self._config_dir)
        headers = {"Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        body = b""
        if payload is not None:
            body = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        try:
            status, data = http_exchange(self.address, method, path, headers, body,
                                         timeout or self.timeout)
        except ConnectionRefusedError as exc:
            raise _Retry(f"connection refused: {exc}") from None
        except (OSError, ValueError) as exc:
            raise _Retry(f"{type(exc).__name__}: {exc}", uncertain=uncertain) from None
        if status == 401:
            self._token = None  # the server may have created or changed the token: read again
            raise _Retry("401 unauthorized: waiting for a valid API token")
        if status >= 500 or status in (408, 425, 429):
            raise _Retry(f"HTTP {status} {_error_message(data)}", uncertain=uncertain)
        return status, data


def http_exchange(address: tg_config.ServerAddress, method: str, path: str, headers: dict,
                  body: bytes = b"", timeout: float = 10.0) -> tuple[int, bytes]:
    """One HTTP/1.1 request on a fresh loopback connection; returns (status, body).

    Plain sockets rather than http.client, which imports ssl and with it OpenSSL: 4 MiB more
    in every watcher, for a client that only ever talks to 127.0.0.1. A connection per
    request (a batch every few seconds) means no stale keep-alive connection to detect.
    Raises OSError for network errors and ValueError for a malformed response.
    """
    host = address.url.removeprefix("http://")
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close",
             f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    response = bytearray()
    with socket.create_connection((address.host, address.port), timeout=timeout) as sock:
        sock.sendall(request)
        while chunk := sock.recv(65536):
            response += chunk
    head, sep, data = bytes(response).partition(b"\r\n\r\n")
    status_line, *header_lines = head.split(b"\r\n")
    parts = status_line.split(b" ", 2)
    if not sep or len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        raise ValueError(f"malformed HTTP response: {bytes(response[:80])!r}")
    fields = dict(line.lower().split(b":", 1) for line in header_lines if b":" in line)
    if fields.get(b"transfer-encoding", b"").strip() == b"chunked":
        data = _dechunk(data)
    elif b"content-length" in fields:
        length = int(fields[b"content-length"])
        if len(data) < length:
            raise ValueError("HTTP response cut short")
        data = data[:length]
    return int(parts[1]), data


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    while True:
        size_line, sep, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16) if sep else -1
        if size < 0 or len(data) < size:
            raise ValueError("HTTP chunked response cut short")
        if size == 0:
            return bytes(out)
        out += data[:size]
        data = data[size + 2:]


def positive_number(value, name: str) -> float:
    """A config value that must be a positive number; ValueError names the key otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1e9:
        raise ValueError(f"{name}: expected a positive number, got {value!r}")
    return float(value)


def _covers(event: Event, heartbeat_json: dict) -> bool:
    """Whether `event` already contains the heartbeat (so sending it again would add nothing);
    a heartbeat the server would reject is never covered."""
    try:
        heartbeat = Event.from_json(heartbeat_json)
    except BadRequest:
        return False
    return (event.data == heartbeat.data and event.timestamp <= heartbeat.timestamp
            and heartbeat.end <= event.end + _COVER_TOLERANCE)


def _error_message(body: bytes) -> str:
    try:
        return json.loads(body)["error"]["message"]
    except Exception:
        return body[:200].decode("utf-8", "replace")
