"""The durable on-disk queue between a watcher and the server.

Every batch of heartbeats a watcher produces is written here (an SQLite file in the cache
directory, WAL) before anything is sent, and an entry is deleted only after the server
answered 2xx. The watcher's not-yet-batched heartbeat lives here too (`pending`), so a watcher
killed with SIGKILL loses nothing it had produced: at the next start the pending heartbeat is
moved into the queue and sent.

The queue is bounded: when it holds `max_entries` batches (a server down for weeks), the
oldest are dropped with one warning per episode, so a dead server can never fill the disk.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_MAX_ENTRIES = 100_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entry (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bucket TEXT NOT NULL,
    pulsetime REAL NOT NULL,
    heartbeats TEXT NOT NULL          -- JSON list of heartbeat objects, in order
);
CREATE TABLE IF NOT EXISTS pending (
    bucket TEXT PRIMARY KEY,
    pulsetime REAL NOT NULL,
    heartbeat TEXT NOT NULL           -- the locally merged heartbeat not yet in `entry`
);
CREATE TABLE IF NOT EXISTS bucket (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL                -- JSON for POST /api/0/buckets/{id}
);
"""


@dataclass(frozen=True)
class Batch:
    """Consecutive queue entries for one bucket and pulsetime, sent as one request."""

    bucket: str
    pulsetime: float
    entries: list[tuple[int, list[dict]]]  # (entry id, its heartbeats), oldest first

    @property
    def ids(self) -> list[int]:
        return [rid for rid, _ in self.entries]

    @property
    def heartbeats(self) -> list[dict]:
        return [hb for _, items in self.entries for hb in items]


class DurableQueue:
    """An SQLite-backed FIFO of heartbeat batches, safe to use from several threads."""

    def __init__(self, path: str | Path, max_entries: int = DEFAULT_MAX_ENTRIES):
        self.path = Path(path)
        self.max_entries = max(1, int(max_entries))
        self._lock = threading.Lock()
        self._full = False
        self._db = sqlite3.connect(self.path, timeout=30, check_same_thread=False,
                                   isolation_level=None)
        # WAL + NORMAL survives the process being killed at any point (not a power cut
        # mid-commit), at a fraction of the cost of an fsync per heartbeat.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database; entries stay on disk for the next start."""
        with self._lock:
            self._db.close()

    # -- writing ------------------------------------------------------------------------

    def put(self, bucket: str, pulsetime: float, heartbeats: list[dict],
            pending: dict | None = None) -> None:
        """Append one batch; in the same transaction set (or clear) the bucket's pending
        heartbeat, so a crash never leaves a heartbeat both queued and pending, or neither."""
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("INSERT INTO entry (bucket, pulsetime, heartbeats) VALUES (?, ?, ?)",
                             (bucket, pulsetime, json.dumps(heartbeats)))
            self._set_pending(bucket, pulsetime, pending)
            self._enforce_bound()

    def set_pending(self, bucket: str, pulsetime: float, heartbeat: dict | None) -> None:
        """Remember the bucket's merged, not yet queued heartbeat (None forgets it)."""
        with self._lock, self._db:
            self._set_pending(bucket, pulsetime, heartbeat)

    def _set_pending(self, bucket: str, pulsetime: float, heartbeat: dict | None) -> None:
        if heartbeat is None:
            self._db.execute("DELETE FROM pending WHERE bucket = ?", (bucket,))
        else:
            self._db.execute("INSERT OR REPLACE INTO pending VALUES (?, ?, ?)",
                             (bucket, pulsetime, json.dumps(heartbeat)))

    def recover_pending(self) -> int:
        """Queue the pending heartbeats a previous (killed) run left behind; returns how many."""
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            rows = self._db.execute("SELECT bucket, pulsetime, heartbeat FROM pending").fetchall()
            for bucket, pulsetime, heartbeat in rows:
                self._db.execute("INSERT INTO entry (bucket, pulsetime, heartbeats) "
                                 "VALUES (?, ?, ?)", (bucket, pulsetime, f"[{heartbeat}]"))
            self._db.execute("DELETE FROM pending")
            self._enforce_bound()
        return len(rows)

    def _enforce_bound(self) -> None:
        count = self._db.execute("SELECT count(*) FROM entry").fetchone()[0]
        excess = count - self.max_entries
        if excess <= 0:
            self._full = False
            return
        if not self._full:
            log.warning("offline queue %s is full (%d batches): dropping the oldest batches "
                        "until the server is reachable again", self.path, self.max_entries)
            self._full = True
        self._db.execute("DELETE FROM entry WHERE id IN "
                         "(SELECT id FROM entry ORDER BY id LIMIT ?)", (excess,))

    # -- bucket definitions ----------------------------------------------------------------

    def set_bucket(self, bucket: str, body: dict) -> None:
        """Store how to create `bucket`, so queued batches can be delivered by a later run."""
        with self._lock, self._db:
            self._db.execute("INSERT OR REPLACE INTO bucket VALUES (?, ?)",
                             (bucket, json.dumps(body)))

    def bucket_body(self, bucket: str) -> dict | None:
        """The creation body stored for `bucket`, or None."""
        with self._lock:
            row = self._db.execute("SELECT body FROM bucket WHERE id = ?", (bucket,)).fetchone()
        return json.loads(row[0]) if row else None

    # -- reading ----------------------------------------------------------------------------

    def peek(self, max_entries: int = 100, max_heartbeats: int = 1000) -> Batch | None:
        """The oldest entry joined with the entries right after it for the same bucket and
        pulsetime (bounded), or None when the queue is empty. Nothing is removed."""
        with self._lock:
            rows = self._db.execute("SELECT id, bucket, pulsetime, heartbeats FROM entry "
                                    "ORDER BY id LIMIT ?", (max(1, max_entries),)).fetchall()
        if not rows:
            return None
        _, bucket, pulsetime, _ = rows[0]
        entries: list[tuple[int, list[dict]]] = []
        count = 0
        for rid, rbucket, rpulse, body in rows:
            if rbucket != bucket or rpulse != pulsetime:
                break
            items = json.loads(body)
            if entries and count + len(items) > max_heartbeats:
                break
            entries.append((rid, items))
            count += len(items)
        return Batch(bucket, pulsetime, entries)

    def remove(self, ids: list[int]) -> None:
        """Delete delivered (or dropped) entries."""
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("DELETE FROM entry WHERE id = ?", [(i,) for i in ids])

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM entry").fetchone()[0]
