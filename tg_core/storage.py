"""The one module that owns the database: buckets, events, heartbeats, summaries, settings.

Thread model: any thread may read (WAL lets readers run beside the writer, and peewee gives
each thread its own connection); writes are serialised by one lock, so the in-memory caches
that make heartbeats cheap (each bucket's last event, the interned-data ids) stay exact. A
write that fails rolls back both the database and those caches.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from itertools import chain, repeat
from operator import itemgetter
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from peewee import SqliteDatabase

from . import models
from .errors import BadRequest, Conflict, NotFound
from .event import Event, EventRow, format_timestamp, from_us, parse_timestamp, to_us
from .heartbeat import merged_duration_us
from .jsonenc import compact_encoder
from .schema import DAY_US, ROLLUP_INSERT, ROLLUP_MERGE, migrate

HOUR_US = 3_600_000_000
DEFER_ROLLUP_ROWS = 200  # a batch this big leaves its days' rollup for a rebuild

PRAGMAS = {
    "journal_mode": "wal",
    # NORMAL in WAL mode: a commit is in the WAL before we answer, so a killed server loses
    # nothing it acknowledged; only an OS crash or power cut could lose the last commits.
    "synchronous": "normal",
    "busy_timeout": 10_000,
    # Per connection, and there are up to four (loop, writer, two readers): 16 MB each kept the
    # 1M-event benchmark's RSS at 98 MB (128 MB with 32) with the same query times.
    "cache_size": -16_000,
    "temp_store": "memory",
}
# Bulk inserts put 100 rows in each INSERT statement: an event row then costs 0.9 µs, against
# 1.7 µs with executemany of a one-row statement.
ROWS_PER_STATEMENT = 100
DATA_CACHE_LIMIT = 100_000
MAX_KEY_LENGTH = 1000


_canonical = compact_encoder(sort_keys=True)


def canonical_json(data: dict) -> str:
    """The interned form of an event's data: sorted keys, compact, NaN rejected."""
    try:
        return _canonical(data)
    except (TypeError, ValueError, RecursionError) as exc:
        raise BadRequest(f"event data is not valid JSON: {exc}", code="invalid_event") from None


@dataclass(frozen=True, slots=True)
class BucketInfo:
    """A bucket as cached in memory (`id` is the internal integer, `name` the API's id)."""

    id: int
    name: str
    type: str
    client: str
    hostname: str
    created: str
    data: dict

    def to_json(self, last_updated: str | None = None) -> dict:
        return {"id": self.name, "name": self.name, "type": self.type, "client": self.client,
                "hostname": self.hostname, "created": self.created, "data": self.data,
                "last_updated": last_updated}


@dataclass(slots=True)
class _Last:
    """A bucket's newest event, kept in memory so a heartbeat costs one write."""

    id: int
    timestamp: int
    duration: int
    data_id: int


@dataclass(frozen=True, slots=True)
class _Open:
    """A bucket's open event: the one its heartbeats are extending.

    The per-day rollup holds it at `base` µs, its duration when it was opened, so a heartbeat
    that extends it is a one-row UPDATE of the event alone; a summary adds the growth since
    (duration - base) read from the event row in the same statement. Another event opening,
    or this one being deleted, first closes it: its growth goes into the rollup.
    """

    timestamp: int
    id: int
    base: int


class Storage:
    """TimelyGator's database. Open one per process; `close()` at exit."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = SqliteDatabase(str(self.path), pragmas=PRAGMAS)
        models.database.initialize(self.db)
        self.write_lock = threading.RLock()  # serialises writes; see tg_server.context
        self.db.connect(reuse_if_open=True)
        migrate(self.db)
        self._buckets: dict[str, BucketInfo] = {}
        self._last: dict[int, _Last | None] = {}
        self._data_ids: dict[str | tuple, int] = {}  # canonical JSON or flat key -> id
        self._data_by_id: dict[int, dict] = {}
        self._load_buckets()
        # (bucket id, day) whose rollup waits for a rebuild: see _add_to_rollup.
        self._pending_days = set(self._sql("SELECT bucket_id, day FROM rollup_pending"))
        row = self._sql("SELECT max(id) FROM event").fetchone()
        self._next_event_id = (row[0] or 0) + 1

    # -- plumbing -------------------------------------------------------------------------

    def _sql(self, sql: str, params=()):
        return self.db.execute_sql(sql, params)

    def close(self) -> None:
        """Checkpoint the WAL and close this thread's connection."""
        try:
            self._sql("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            self.db.close()

    def _write(self):
        """Context for one write transaction: the write lock plus an atomic block."""
        return _WriteTransaction(self)

    def _load_buckets(self) -> None:
        self._buckets, self._max_durations, self._open = {}, {}, {}
        for (bid, name, btype, client, hostname, created, data, max_duration, open_ts, open_id,
             open_base) in self._sql("SELECT id, name, type, client, hostname, created, data, "
                                     "max_duration, open_timestamp, open_id, open_base FROM bucket"):
            self._buckets[name] = BucketInfo(bid, name, btype, client, hostname, created,
                                             json.loads(data))
            self._max_durations[bid] = max_duration
            if open_id is not None:
                self._open[bid] = _Open(open_ts, open_id, open_base)

    def _bucket(self, name: str) -> BucketInfo:
        info = self._buckets.get(name)
        if info is None:
            raise NotFound(f"there is no bucket {name!r}", code="bucket_not_found")
        return info

    # -- interned event data ----------------------------------------------------------------

    def _data_ids_for(self, datas: list[dict], pending: dict) -> list[int]:
        """The ids of the data objects' interned rows, inserting the new ones (inside a write).

        Looked up and inserted per batch, not per event: a realistic bulk insert meets
        thousands of new (app, title) pairs, and two statements each were most of its cost.
        Known data are found by their flat tuple of keys and values, under half the cost of
        their canonical JSON (0.9 against 2.3 µs, see _flat_key); the rest by canonical JSON.
        """
        known = self._data_ids
        try:
            ids = [known.get((*d, *d.values())) for d in datas]
        except TypeError:  # a list or object inside some data: those have no flat key
            ids = [None] * len(datas)
        if None not in ids:
            return ids
        unknown: dict[int, str] = {}  # position -> canonical JSON
        canonical_of: dict[tuple, str] = {}  # flat key -> canonical JSON, once per call
        for i, did in enumerate(ids):
            if did is None:
                flat = _flat_key(datas[i])
                key = canonical_of.get(flat)
                if key is None:
                    key = canonical_json(datas[i])
                    if flat is not None:
                        canonical_of[flat] = key
                unknown[i] = key
        missing = list({k for k in unknown.values() if k not in known and k not in pending})
        cursor = self.db.cursor()
        for start in range(0, len(missing), 500):
            chunk = missing[start:start + 500]
            cursor.executemany("INSERT OR IGNORE INTO event_data (json) VALUES (?)", [(k,) for k in chunk])
            marks = ",".join("?" * len(chunk))
            pending.update((key, did) for did, key in self._sql(
                f"SELECT id, json FROM event_data WHERE json IN ({marks})", chunk))
        for i, key in unknown.items():
            ids[i] = known.get(key) or pending[key]
        for flat, key in canonical_of.items():
            pending[flat] = known.get(key) or pending[key]
        return ids

    def _data_id(self, data: dict, pending: dict) -> int:
        """The id of `data`'s interned row, inserting it if new (inside a write)."""
        return self._data_ids_for([data], pending)[0]

    def _data(self, data_id: int) -> dict:
        """The data dict for an id. Shared between events: callers must not mutate it."""
        data = self._data_by_id.get(data_id)
        if data is None:
            row = self._sql("SELECT json FROM event_data WHERE id = ?", (data_id,)).fetchone()
            data = json.loads(row[0]) if row else {}
            if len(self._data_by_id) >= DATA_CACHE_LIMIT:
                self._data_by_id.clear()
            self._data_by_id[data_id] = data
        return data

    def _datas(self, data_ids) -> dict[int, dict]:
        """Data dicts for many ids with one query for the ones not cached."""
        data_ids = set(data_ids)
        missing = [d for d in data_ids if d not in self._data_by_id]
        for start in range(0, len(missing), 900):
            chunk = missing[start:start + 900]
            marks = ",".join("?" * len(chunk))
            for did, text in self._sql(f"SELECT id, json FROM event_data WHERE id IN ({marks})", chunk):
                self._data_by_id[did] = json.loads(text)
        return {d: self._data(d) for d in data_ids}

    # -- buckets --------------------------------------------------------------------------

    def buckets(self) -> dict[str, dict]:
        """Every bucket as ActivityWatch's JSON, keyed by bucket id, with `last_updated`."""
        last = dict(self._sql(
            "SELECT b.name, (SELECT max(timestamp + duration) FROM event e "
            "WHERE e.bucket_id = b.id) FROM bucket b").fetchall())
        return {name: info.to_json(format_timestamp(from_us(last[name])) if last.get(name) else None)
                for name, info in self._buckets.items()}

    def bucket(self, name: str) -> dict:
        """One bucket's JSON; NotFound when it does not exist."""
        info = self._bucket(name)
        row = self._sql("SELECT max(timestamp + duration) FROM event WHERE bucket_id = ?",
                        (info.id,)).fetchone()
        return info.to_json(format_timestamp(from_us(row[0])) if row[0] is not None else None)

    def bucket_ids(self) -> list[str]:
        return list(self._buckets)

    def bucket_hostname(self, name: str) -> str | None:
        info = self._buckets.get(name)
        return info.hostname if info else None

    def has_bucket(self, name: str) -> bool:
        return name in self._buckets

    def create_bucket(self, name: str, type: str, client: str = "unknown",
                      hostname: str = "unknown", created: datetime | str | None = None,
                      data: dict | None = None) -> bool:
        """Create a bucket; False (and no change) when it already exists."""
        _check_name(name, "bucket id")
        created_iso = format_timestamp(parse_timestamp(created) if created else _now())
        with self._write():
            if name in self._buckets:
                return False
            bid = self._sql(
                "INSERT INTO bucket (name, type, client, hostname, created, data, max_duration) "
                "VALUES (?, ?, ?, ?, ?, ?, 0)",
                (name, type, client, hostname, created_iso, canonical_json(data or {}))).lastrowid
            self._buckets[name] = BucketInfo(bid, name, type, client, hostname, created_iso,
                                             data or {})
        return True

    def update_bucket(self, name: str, **fields) -> None:
        """Change a bucket's type, client, hostname or data."""
        allowed = {"type", "client", "hostname", "data"}
        with self._write():
            info = self._bucket(name)
            changes = {k: v for k, v in fields.items() if k in allowed and v is not None}
            if not changes:
                return
            columns = {k: canonical_json(v) if k == "data" else v for k, v in changes.items()}
            assignments = ", ".join(f"{k} = ?" for k in columns)
            self._sql(f"UPDATE bucket SET {assignments} WHERE id = ?", (*columns.values(), info.id))
            self._buckets[name] = replace(info, **changes)

    def delete_bucket(self, name: str) -> None:
        """Delete a bucket and all its events; NotFound when it does not exist."""
        with self._write():
            info = self._bucket(name)
            self._sql("DELETE FROM event_rollup WHERE bucket_id = ?", (info.id,))
            self._sql("DELETE FROM rollup_pending WHERE bucket_id = ?", (info.id,))
            self._sql("DELETE FROM event WHERE bucket_id = ?", (info.id,))
            self._sql("DELETE FROM bucket WHERE id = ?", (info.id,))
            del self._buckets[name]
            self._last.pop(info.id, None)
            self._open.pop(info.id, None)
            self._pending_days = {key for key in self._pending_days if key[0] != info.id}

    # -- events ---------------------------------------------------------------------------

    def _rows_to_events(self, rows) -> list[Event]:
        datas = self._datas(r[3] for r in rows)
        return [Event(from_us(ts), dur / 1e6, datas[did], eid) for eid, ts, dur, did in rows]

    def insert_events(self, name: str, events: list[Event]) -> list[Event]:
        """Insert events (all or none); an event with the id of an existing one replaces it.

        Returns the stored events with their ids.
        """
        ids = self.insert_rows(name, [ev.to_row() for ev in events])
        return [Event(ev.timestamp, ev.duration, ev.data, eid) for ev, eid in zip(events, ids)]

    def insert_rows(self, name: str, rows: list[EventRow]) -> list[int]:
        """`insert_events` for rows (tg_core.event.EventRow, already validated); returns the ids.

        A bulk POST inserts through this, without an Event per row or a stored copy of each.
        """
        info = self._bucket(name)
        with self._write() as tx:
            return self._insert_rows(info, rows, tx)

    def _insert_rows(self, info: BucketInfo, rows: list[EventRow], tx) -> list[int]:
        data_ids = self._data_ids_for(list(map(itemgetter(2), rows)), tx.pending_data)
        ids = self._event_ids(info, rows)
        records = list(zip(repeat(info.id), map(itemgetter(0), rows), ids,
                           map(itemgetter(1), rows), data_ids))
        _insert_many(self.db.cursor(), "INSERT INTO event (bucket_id, timestamp, id, duration, data_id)",
                     records)
        self._add_to_rollup(info, records)
        if records:
            tx.touch_last(info.id)
            _, timestamp, eid, duration, data_id = max(records)  # the newest (timestamp, id)
            last = self._last_event(info.id)
            if last is None or (timestamp, eid) >= (last.timestamp, last.id):
                self._last[info.id] = _Last(eid, timestamp, duration, data_id)
        return ids

    def _event_ids(self, info: BucketInfo, rows: list[EventRow]) -> Sequence[int]:
        """Each row's event id: a new one, or its own after deleting the event that had it."""
        first = self._next_event_id
        if list(map(itemgetter(3), rows)).count(None) == len(rows):  # no ids: the usual case
            self._next_event_id += len(rows)
            return range(first, self._next_event_id)
        ids = []
        for row in rows:
            eid = row[3]
            if eid is None:
                eid = self._next_event_id
                self._next_event_id += 1
            else:
                self._delete_event_row(info, eid)
                self._next_event_id = max(self._next_event_id, eid + 1)
            ids.append(eid)
        return ids

    def _add_to_rollup(self, info: BucketInfo, records: list[tuple]) -> None:
        """Account inserted records in the per-day rollup and the bucket's longest duration.

        A big batch (an import, a bulk POST) only marks its days for a rebuild: upserting
        the rollup row by row was a fifth of a bulk insert's time, and one GROUP BY per day
        when a summary first needs the day costs less than that (bench/RESULTS.md)."""
        if not records:
            return
        self._note_duration(info, max(map(itemgetter(3), records)))
        if len(records) >= DEFER_ROLLUP_ROWS:
            # Every day from the first to the last (a day marked without new events costs only
            # its rebuild) when that is no more days than events, as in the usual time-ordered
            # batch; else the days the events are in.
            timestamps = list(map(itemgetter(1), records))
            first, last = min(timestamps) // DAY_US, max(timestamps) // DAY_US
            days = range(first, last + 1) if last - first < len(timestamps) else \
                {ts // DAY_US for ts in timestamps}
            days = {(info.id, day) for day in days} - self._pending_days
            self.db.cursor().executemany("INSERT OR IGNORE INTO rollup_pending (bucket_id, day) "
                                         "VALUES (?, ?)", days)
            # A new set, not an update: readers iterate it without the lock. On rollback
            # the set keeps these days: only a rebuild too many.
            self._pending_days = self._pending_days | days
            return
        sums: dict[tuple[int, int], list[int]] = {}
        for _, ts, _, duration, data_id in records:
            key = (ts // DAY_US, data_id)
            entry = sums.get(key)
            if entry is None:
                sums[key] = [duration, 1, ts]
            else:
                entry[0] += duration
                entry[1] += 1
                if ts < entry[2]:
                    entry[2] = ts
        _insert_many(self.db.cursor(), ROLLUP_INSERT,
                     [(info.id, day, did, *agg) for (day, did), agg in sums.items()], ROLLUP_MERGE)

    def _settle_rollup(self, info: BucketInfo, first_day: int, last_day: int) -> None:
        """Rebuild the rollup of the bucket's pending days in [first_day, last_day) from their
        events, in one write. The open event (if in one of them) is rebased: the rebuilt
        rows hold its whole duration."""
        days = sorted(day for bucket_id, day in self._pending_days  # replaced, never changed
                      if bucket_id == info.id and first_day <= day < last_day)
        if not days:
            return
        with self.write_lock:  # held until the set says what the committed database says
            with self._write():
                cursor = self.db.cursor()
                for day in days:
                    cursor.execute("DELETE FROM event_rollup WHERE bucket_id = ? AND day = ?", (info.id, day))
                    cursor.execute(
                        "INSERT INTO event_rollup (bucket_id, day, data_id, duration, count, first) "
                        "SELECT bucket_id, ?, data_id, sum(duration), count(*), min(timestamp) "
                        "FROM event WHERE bucket_id = ? AND timestamp >= ? AND timestamp < ? "
                        "GROUP BY data_id", (day, info.id, day * DAY_US, (day + 1) * DAY_US))
                    cursor.execute("DELETE FROM rollup_pending WHERE bucket_id = ? AND day = ?",
                                   (info.id, day))
                opened = self._open.get(info.id)
                if opened is not None and opened.timestamp // DAY_US in days:
                    row = cursor.execute("SELECT duration FROM event WHERE bucket_id = ? AND "
                                         "timestamp = ? AND id = ?",
                                         (info.id, opened.timestamp, opened.id)).fetchone()
                    if row is not None:
                        cursor.execute("UPDATE bucket SET open_base = ? WHERE id = ?", (row[0], info.id))
                        self._open[info.id] = replace(opened, base=row[0])
            self._pending_days = self._pending_days - {(info.id, day) for day in days}

    def _note_duration(self, info: BucketInfo, duration: int) -> None:
        """Raise the bucket's longest event duration (memory and table) if `duration` is longer."""
        if duration > self._max_durations.get(info.id, 0):
            self._sql("UPDATE bucket SET max_duration = ? WHERE id = ? AND max_duration < ?",
                      (duration, info.id, duration))
            self._max_durations[info.id] = duration

    def _last_event(self, bucket_id: int) -> _Last | None:
        if bucket_id not in self._last:
            row = self._sql("SELECT id, timestamp, duration, data_id FROM event WHERE bucket_id = ? "
                            "ORDER BY timestamp DESC, id DESC LIMIT 1", (bucket_id,)).fetchone()
            self._last[bucket_id] = _Last(*row) if row else None
        return self._last[bucket_id]

    def _delete_event_row(self, info: BucketInfo, event_id: int) -> bool:
        row = self._sql("SELECT timestamp FROM event WHERE bucket_id = ? AND id = ?",
                        (info.id, event_id)).fetchone()
        if row is None:
            return False
        opened = self._open.get(info.id)
        if opened is not None and (opened.timestamp, opened.id) == (row[0], event_id):
            self._close_open(info)  # the delete trigger takes its whole duration off the rollup
        self._sql("DELETE FROM event WHERE bucket_id = ? AND timestamp = ? AND id = ?",
                  (info.id, row[0], event_id))
        last = self._last.get(info.id)
        if last is not None and last.id == event_id:
            self._last.pop(info.id)  # reloaded from the table on next use
        return True

    def _max_duration(self, info: BucketInfo) -> int:
        return self._max_durations.get(info.id, 0)

    def _overlap_where(self, info: BucketInfo, start_us: int | None, end_us: int | None,
                       starts_from: int | None = None, starts_before: int | None = None):
        """SQL and named params selecting the events that overlap [start, end), optionally
        only those starting in [starts_from, starts_before).

        An event overlaps when it starts before `end` and ends after `start`; an event of
        zero duration counts when it starts inside. The lower bound on `timestamp` (start
        minus the bucket's longest event) lets the primary key do the work. Each side gets
        exactly one bound on `timestamp`: given two, SQLite would range over the wider one.
        """
        where, params = ["bucket_id = :bucket"], {"bucket": info.id, "start": start_us, "end": end_us}
        lower = start_us - self._max_duration(info) if start_us is not None else None
        if starts_from is not None:
            lower = starts_from if lower is None else max(lower, starts_from)
        upper = end_us
        if starts_before is not None:
            upper = starts_before if upper is None else min(upper, starts_before)
        if lower is not None:
            where.append("timestamp >= :lower")
            params["lower"] = lower
        if start_us is not None:
            where.append("(timestamp + duration > :start OR timestamp >= :start)")
        if upper is not None:
            where.append("timestamp < :upper")
            params["upper"] = upper
        return " AND ".join(where), params

    def get_events(self, name: str, start: datetime | None = None, end: datetime | None = None,
                   limit: int | None = None, newest_first: bool = False) -> list[Event]:
        """Events overlapping [start, end), cropped to it, oldest first (or newest first).

        With `limit`, the newest `limit` events (ActivityWatch's GET events semantics when
        `newest_first`); `limit` None or negative means all.
        """
        info = self._bucket(name)
        start_us = to_us(start) if start is not None else None
        end_us = to_us(end) if end is not None else None
        where, params = self._overlap_where(info, start_us, end_us)
        order = "DESC" if newest_first or (limit is not None and limit >= 0) else "ASC"
        sql = f"SELECT id, timestamp, duration, data_id FROM event WHERE {where} " \
              f"ORDER BY timestamp {order}, id {order}"
        if limit is not None and limit >= 0:
            sql += " LIMIT :limit"
            params["limit"] = limit
        rows = self._sql(sql, params).fetchall()
        if order == "DESC" and not newest_first:
            rows.reverse()
        if start_us is not None or end_us is not None:
            rows = [_crop(row, start_us, end_us) for row in rows]
        return self._rows_to_events(rows)

    def count_events(self, name: str, start: datetime | None = None,
                     end: datetime | None = None) -> int:
        """How many events overlap [start, end)."""
        info = self._bucket(name)
        where, params = self._overlap_where(info, to_us(start) if start else None,
                                            to_us(end) if end else None)
        return self._sql(f"SELECT count(*) FROM event WHERE {where}", params).fetchone()[0]

    def get_event(self, name: str, event_id: int) -> Event:
        """One event by id; NotFound when the bucket has no such event."""
        info = self._bucket(name)
        row = self._sql("SELECT id, timestamp, duration, data_id FROM event "
                        "WHERE bucket_id = ? AND id = ?", (info.id, event_id)).fetchone()
        if row is None:
            raise NotFound(f"bucket {name!r} has no event {event_id}", code="event_not_found")
        return self._rows_to_events([row])[0]

    def delete_event(self, name: str, event_id: int) -> None:
        """Delete one event; NotFound when the bucket has no such event."""
        info = self._bucket(name)
        with self._write() as tx:
            tx.touch_last(info.id)
            if not self._delete_event_row(info, event_id):
                raise NotFound(f"bucket {name!r} has no event {event_id}", code="event_not_found")

    # -- heartbeats -----------------------------------------------------------------------

    def heartbeat(self, name: str, heartbeat: Event, pulsetime: float) -> Event:
        """Merge one heartbeat (see tg_core.heartbeat); returns the resulting event.

        The common case, extending the bucket's open event, is one UPDATE that is atomic by
        itself, so it runs without BEGIN/COMMIT; only a new event needs a transaction.
        """
        info = self._bucket(name)
        with self.write_lock:  # held through the new event's transaction: no second check
            merged = self._extend_last(info, heartbeat, round(pulsetime * 1e6))
            if merged is not None:
                return merged
            with self._write() as tx:
                tx.touch_last(info.id)
                return self._insert_heartbeat(info, heartbeat, tx)

    def heartbeats(self, name: str, heartbeats: list[Event], pulsetime: float) -> Event | None:
        """Merge heartbeats in order, in one transaction; returns the last resulting event."""
        info = self._bucket(name)
        pulse_us = round(pulsetime * 1e6)
        result = None
        with self._write() as tx:
            tx.touch_last(info.id)
            for hb in heartbeats:
                result = self._extend_last(info, hb, pulse_us) or self._insert_heartbeat(info, hb, tx)
        return result

    def _insert_heartbeat(self, info: BucketInfo, hb: Event, tx) -> Event:
        """A heartbeat that starts a new event (inside a write); the newest becomes the open one."""
        previous = self._last.get(info.id)
        event = Event(hb.timestamp, hb.duration, hb.data)
        event.id = self._insert_rows(info, [event.to_row()], tx)[0]
        last = self._last_event(info.id)
        if last.id == event.id:  # the next heartbeats will extend it
            self._open_event(info, last, previous)
        return event

    def _extend_last(self, info: BucketInfo, hb: Event, pulse_us: int) -> Event | None:
        """The bucket's last event extended by `hb`, or None when the rule says "new event".
        Data are compared with Python's equality, as ActivityWatch does. Under the write lock."""
        last = self._last_event(info.id)
        if last is None or self._data(last.data_id) != hb.data:
            return None
        duration = merged_duration_us(last.timestamp, last.duration, to_us(hb.timestamp),
                                      round(hb.duration * 1e6), pulse_us)
        if duration is None:
            return None
        if duration != last.duration:
            opened = self._open.get(info.id)
            if opened is not None and opened.id == last.id and opened.timestamp == last.timestamp:
                self._set_duration(info, last, duration)
            else:
                with self._write():
                    self._open_event(info, last)
                    self._set_duration(info, last, duration)
            last.duration = duration
        return Event(from_us(last.timestamp), duration / 1e6, hb.data, last.id)

    def _set_duration(self, info: BucketInfo, last: _Last, duration: int) -> None:
        """Write the open event's new duration. The bucket's max_duration goes first: a bound
        that is too big is safe; rounded up, it is written once an hour as an event grows."""
        if duration > self._max_durations.get(info.id, 0):
            bound = duration + HOUR_US
            self._sql("UPDATE bucket SET max_duration = ? WHERE id = ?", (bound, info.id))
            self._max_durations[info.id] = bound
        self.db.connection().execute(
            "UPDATE event SET duration = ? WHERE bucket_id = ? AND timestamp = ? AND id = ?",
            (duration, info.id, last.timestamp, last.id))

    def _open_event(self, info: BucketInfo, last: _Last, previous: _Last | None = None) -> None:
        """Make `last` the bucket's open event, closing the one before (inside a write).
        `previous` is the cached state of the event that was last before, if known."""
        self._close_open(info, previous, clear=False)
        self.db.connection().execute(
            "UPDATE bucket SET open_timestamp = ?, open_id = ?, open_base = ? WHERE id = ?",
            (last.timestamp, last.id, last.duration, info.id))
        self._open[info.id] = _Open(last.timestamp, last.id, last.duration)

    def _close_open(self, info: BucketInfo, known: _Last | None = None, clear: bool = True) -> None:
        """Account the open event's growth in the rollup, so no event is open (inside a write).
        `known` saves reading the event when it is the open one."""
        opened = self._open.pop(info.id, None)
        if opened is None:
            return
        conn = self.db.connection()
        if known is None or (known.timestamp, known.id) != (opened.timestamp, opened.id):
            known = self._last.get(info.id)
        if known is not None and (known.timestamp, known.id) == (opened.timestamp, opened.id):
            row = (known.duration, known.data_id)
        else:
            row = conn.execute("SELECT duration, data_id FROM event WHERE bucket_id = ? AND "
                               "timestamp = ? AND id = ?", (info.id, opened.timestamp, opened.id)).fetchone()
        if row is not None and row[0] != opened.base:
            conn.execute("UPDATE event_rollup SET duration = duration + ? "
                         "WHERE bucket_id = ? AND day = ? AND data_id = ?",
                         (row[0] - opened.base, info.id, opened.timestamp // DAY_US, row[1]))
        if clear:
            conn.execute("UPDATE bucket SET open_timestamp = NULL, open_id = NULL, open_base = NULL "
                         "WHERE id = ?", (info.id,))

    # -- summaries ------------------------------------------------------------------------

    def summarize_by_keys(self, name: str, start: datetime | None, end: datetime | None,
                          keys: list[str]) -> list[Event]:
        """`merge_events_by_keys(get_events(name, start, end), keys)`, computed in SQL.

        Whole UTC days inside the range are read from the per-day rollup; the partial days
        at either end, and events that run past `end`, from the events themselves.
        Events lacking any key are left out; results are in order of first appearance.
        """
        info = self._bucket(name)
        start_us = to_us(start) if start is not None else None
        end_us = to_us(end) if end is not None else None
        # data_id -> [duration, first start cropped to the range, first start as stored]
        totals: dict[int, list[int]] = {}

        def add(rows):
            for did, duration, first, first_stored in rows:
                entry = totals.get(did)
                if entry is None:
                    totals[did] = [duration, first, first_stored]
                else:
                    entry[0] += duration
                    if first is not None:
                        entry[1] = min(entry[1], first)
                        entry[2] = min(entry[2], first_stored)

        lo = start_us if start_us is not None else 0
        hi = end_us if end_us is not None else (1 << 62)
        first_day, last_day = -(-lo // DAY_US), hi // DAY_US  # whole days: [first_day, last_day)
        if last_day - first_day >= 2:
            self._settle_rollup(info, first_day, last_day)
            add(self._sql(_ROLLUP_SUMS, (info.id, first_day, last_day)))
            if end_us is not None:  # events of those days that run past `end`: crop them
                lower = max(first_day * DAY_US, end_us - self._max_duration(info))
                add(self._sql("SELECT data_id, -sum(timestamp + duration - ?), NULL, NULL "
                              "FROM event WHERE bucket_id = ? AND timestamp >= ? AND timestamp < ? "
                              "AND timestamp + duration > ? GROUP BY data_id",
                              (end_us, info.id, lower, last_day * DAY_US, end_us)))
            edges = [(None, first_day * DAY_US), (last_day * DAY_US, None)]
        else:
            edges = [(None, None)]
        for edge_start, edge_end in edges:
            add(self._cropped_sums(info, start_us, end_us, edge_start, edge_end))
        datas = self._datas(totals)
        merged: dict[tuple, list] = {}
        for did in self._first_appearance_order(info, totals, start_us, end_us):
            duration, first, _ = totals[did]
            data = datas[did]
            try:
                key = tuple(_hashable(data[k]) for k in keys)
            except KeyError:
                continue
            entry = merged.get(key)
            if entry is None:
                merged[key] = [first, duration, {k: data[k] for k in keys}]
            else:
                entry[0] = min(entry[0], first)
                entry[1] += duration
        return [Event(from_us(first), duration / 1e6, data) for first, duration, data in merged.values()]

    def _first_appearance_order(self, info: BucketInfo, totals: dict[int, list[int]],
                                start_us: int | None, end_us: int | None) -> list[int]:
        """Data ids in the order their first event appears in get_events: by stored start,
        then event id (looked up only for the rare ids whose first events start together)."""
        by_start: dict[int, list[int]] = {}
        for did, entry in totals.items():
            by_start.setdefault(entry[2], []).append(did)
        order = []
        for start, dids in sorted(by_start.items()):
            if len(dids) > 1:
                where, params = self._overlap_where(info, start_us, end_us)
                params["at"] = start
                first_ids = dict(self._sql(f"SELECT data_id, min(id) FROM event WHERE {where} "
                                           "AND timestamp = :at GROUP BY data_id", params))
                dids.sort(key=lambda d: first_ids.get(d, 0))
            order += dids
        return order

    def _cropped_sums(self, info: BucketInfo, start_us, end_us, edge_start, edge_end):
        """Per data id: duration cropped to [start, end), first start cropped and as stored,
        of the events that overlap [start, end) and start inside [edge_start, edge_end)."""
        where, params = self._overlap_where(info, start_us, end_us, edge_start, edge_end)
        lo = "max(timestamp, :start)" if start_us is not None else "timestamp"
        hi = "min(timestamp + duration, :end)" if end_us is not None else "timestamp + duration"
        return self._sql(f"SELECT data_id, sum({hi} - {lo}), min({lo}), min(timestamp) FROM event "
                         f"WHERE {where} GROUP BY data_id", params).fetchall()

    # -- import / export ------------------------------------------------------------------

    def export_buckets(self, names: list[str] | None = None) -> dict:
        """ActivityWatch's export format: {"buckets": {id: {...bucket, "events": [...]}}}."""
        out = {}
        for name in (names if names is not None else list(self._buckets)):
            bucket = self.bucket(name)
            bucket.pop("last_updated", None)
            bucket["events"] = [ev.to_json() for ev in self.get_events(name, newest_first=True)]
            out[name] = bucket
        return {"buckets": out}

    def import_buckets(self, buckets: dict[str, dict]) -> dict[str, int]:
        """Import exported buckets in one transaction, merging into existing buckets.

        An event equal in timestamp, duration and data to one already in the bucket is
        skipped, so importing the same export twice changes nothing. Returns events added
        per bucket.
        """
        parsed = {name: _parse_import_bucket(name, b) for name, b in buckets.items()}
        added = {}
        with self._write() as tx:
            for name, (meta, events) in parsed.items():
                if name not in self._buckets:
                    self.create_bucket(name, **meta)
                info = self._buckets[name]
                fresh = [ev for ev in events if not self._has_equal_event(info, ev, tx)]
                self._insert_rows(info, [Event(e.timestamp, e.duration, e.data).to_row() for e in fresh], tx)
                added[name] = len(fresh)
        return added

    def _has_equal_event(self, info: BucketInfo, ev: Event, tx) -> bool:
        data_id = self._data_id(ev.data, tx.pending_data)
        return self._sql("SELECT 1 FROM event WHERE bucket_id = ? AND timestamp = ? AND duration = ? "
                         "AND data_id = ? LIMIT 1",
                         (info.id, to_us(ev.timestamp), round(ev.duration * 1e6), data_id)
                         ).fetchone() is not None

    # -- settings -------------------------------------------------------------------------

    def get_setting(self, key: str, default=None):
        """A setting's JSON value, or `default`."""
        row = self._sql("SELECT value FROM setting WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def set_setting(self, key: str, value) -> None:
        _check_name(key, "setting key")
        text = json.dumps(value, allow_nan=False)
        with self._write():
            self._sql("INSERT INTO setting (key, value) VALUES (?, ?) "
                      "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, text))

    def delete_setting(self, key: str) -> bool:
        with self._write():
            return self._sql("DELETE FROM setting WHERE key = ?", (key,)).rowcount > 0

    def settings(self) -> dict:
        return {k: json.loads(v) for k, v in self._sql("SELECT key, value FROM setting")}

    # -- categories -----------------------------------------------------------------------

    def categories(self) -> list[dict]:
        """The stored category rows (id, name "A > B", color, score, rules JSON, priority);
        empty when the user never saved any (tg_core.categories then uses its defaults)."""
        cursor = self._sql("SELECT id, name, color, score, rules, priority FROM category ORDER BY id")
        columns = [c[0] for c in cursor.description]
        return [dict(zip(columns, row)) for row in cursor]

    def replace_categories(self, rows: list[dict]) -> None:
        """Replace every category with `rows` (dicts with the columns above), atomically."""
        with self._write():
            self._sql("DELETE FROM category")
            self.db.cursor().executemany(
                "INSERT INTO category (id, name, color, score, rules, priority) VALUES (?, ?, ?, ?, ?, ?)",
                [(r["id"], r["name"], r.get("color"), r.get("score") or 0, r["rules"],
                  r.get("priority") or 0) for r in rows])

    # -- bucket and span reads for reports --------------------------------------------------

    def bucket_infos(self) -> list[BucketInfo]:
        """The buckets as cached in memory (no query: `buckets()` also scans for last_updated)."""
        return list(self._buckets.values())

    def get_spans(self, name: str, start: datetime, end: datetime) -> list[tuple[float, float, dict]]:
        """A bucket's events overlapping [start, end) as (start, end, data) in float seconds,
        not cropped, oldest first. Reports read this: building two datetimes per event was
        half of a day report's time."""
        info = self._bucket(name)
        where, params = self._overlap_where(info, to_us(start), to_us(end))
        rows = self._sql(f"SELECT timestamp, duration, data_id FROM event WHERE {where} "
                         "ORDER BY timestamp, id", params).fetchall()
        datas = self._datas(r[2] for r in rows)
        return [(ts / 1e6, (ts + dur) / 1e6, datas[did]) for ts, dur, did in rows]

    def event_count(self) -> int:
        """All events in the database (for metrics and benchmarks)."""
        return self._sql("SELECT count(*) FROM event").fetchone()[0]


class _WriteTransaction:
    """The write lock, an atomic block, and the cache entries to restore on rollback."""

    def __init__(self, storage: Storage):
        self.storage = storage
        self.pending_data: dict[str | tuple, int] = {}  # data key (see _data_ids_for) -> id
        self._saved_last: dict[int, _Last | None] = {}
        self._depth_owner = False

    def touch_last(self, bucket_id: int) -> None:
        """Remember a bucket's cached last event before this transaction changes it."""
        if bucket_id not in self._saved_last:
            last = self.storage._last.get(bucket_id)
            self._saved_last[bucket_id] = (
                _Last(last.id, last.timestamp, last.duration, last.data_id) if last else None)

    def __enter__(self):
        s = self.storage
        s.write_lock.acquire()
        self._outer = getattr(s, "_tx", None)
        if self._outer is not None:  # nested: share the outer transaction's bookkeeping
            self.pending_data = self._outer.pending_data
            self._saved_last = self._outer._saved_last
            return self
        self._next_id = s._next_event_id
        self._atomic = s.db.atomic()
        self._atomic.__enter__()
        s._tx = self
        return self

    def __exit__(self, exc_type, exc, tb):
        s = self.storage
        try:
            if self._outer is not None:
                return False
            s._tx = None
            try:
                self._atomic.__exit__(exc_type, exc, tb)
            except BaseException:
                exc_type = exc_type or Exception
                raise
            finally:
                if exc_type is None:
                    if len(s._data_ids) + len(self.pending_data) > DATA_CACHE_LIMIT:
                        s._data_ids.clear()
                    s._data_ids.update(self.pending_data)
                    for key, did in self.pending_data.items():  # the merge check reads these
                        if isinstance(key, str) and did not in s._data_by_id:
                            s._data_by_id[did] = json.loads(key)
                else:  # rolled back: forget what the transaction did to the caches
                    for bucket_id, last in self._saved_last.items():
                        if last is None:
                            s._last.pop(bucket_id, None)
                        else:
                            s._last[bucket_id] = last
                    s._next_event_id = max(s._next_event_id, self._next_id)
                    s._load_buckets()
            return False
        finally:
            s.write_lock.release()


def _insert_many(cursor, insert: str, rows: list[tuple], conflict: str = "") -> None:
    """`insert VALUES (?, ...) conflict` for each row, ROWS_PER_STATEMENT rows a statement."""
    if not rows:
        return
    width = len(rows[0])
    one = "(" + ", ".join("?" * width) + ")"
    whole = len(rows) - len(rows) % ROWS_PER_STATEMENT
    if whole:
        flat = list(chain.from_iterable(rows[:whole]))
        step = width * ROWS_PER_STATEMENT
        cursor.executemany(f"{insert} VALUES {', '.join([one] * ROWS_PER_STATEMENT)} {conflict}",
                           [flat[i:i + step] for i in range(0, len(flat), step)])
    if whole < len(rows):
        cursor.executemany(f"{insert} VALUES {one} {conflict}", rows[whole:])


def _flat_key(data: dict) -> tuple | None:
    """The data's keys then values as one tuple, when all are strings; else None.

    Only then does tuple equality mean canonical-JSON equality (1 == 1.0 == True would not
    be), so only such keys enter the cache; a lookup with any other tuple can only miss.
    """
    flat = (*data, *data.values())
    return flat if all(type(x) is str for x in flat) else None


# Per data id over whole days [?2, ?3): the rollup, plus the growth of the open event (see
# _Open) when it starts in those days; one statement, so both parts read the same snapshot.
_ROLLUP_SUMS = f"""SELECT data_id, sum(duration), min(first), min(first) FROM (
    SELECT data_id, duration, first FROM event_rollup WHERE bucket_id = ?1 AND day >= ?2 AND day < ?3
    UNION ALL
    SELECT e.data_id, e.duration - b.open_base, NULL FROM bucket b JOIN event e
        ON e.bucket_id = b.id AND e.timestamp = b.open_timestamp AND e.id = b.open_id
    WHERE b.id = ?1 AND e.timestamp >= ?2 * {DAY_US} AND e.timestamp < ?3 * {DAY_US})
GROUP BY data_id"""


def _crop(row, start_us, end_us):
    eid, ts, dur, did = row
    end = ts + dur
    if start_us is not None and ts < start_us:
        ts = start_us
    if end_us is not None and end > end_us:
        end = end_us
    return (eid, ts, max(0, end - ts), did)


def _hashable(value):
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else value


def _check_name(value, what: str) -> None:
    if not isinstance(value, str) or not value or len(value) > MAX_KEY_LENGTH:
        raise BadRequest(f"invalid {what} {value!r}: expected 1-{MAX_KEY_LENGTH} characters",
                         code=f"invalid_{what.replace(' ', '_')}")


def _now() -> datetime:
    from datetime import timezone

    return datetime.now(timezone.utc)


def _parse_import_bucket(name, bucket) -> tuple[dict, list[Event]]:
    """Validate one bucket of an ActivityWatch export before anything is written."""
    if not isinstance(bucket, dict):
        raise BadRequest(f"bucket {name!r} in the import must be an object", code="invalid_import")
    _check_name(name, "bucket id")
    events = bucket.get("events", [])
    if not isinstance(events, list):
        raise BadRequest(f"bucket {name!r}: 'events' must be a list", code="invalid_import")
    meta = {"type": bucket.get("type"), "client": bucket.get("client", "unknown"),
            "hostname": bucket.get("hostname", "unknown"), "created": bucket.get("created"),
            "data": bucket.get("data") or {}}
    for field in ("type", "client", "hostname"):
        if not isinstance(meta[field], str):
            raise BadRequest(f"bucket {name!r}: {field!r} must be a string", code="invalid_import")
    if not isinstance(meta["data"], dict):
        raise BadRequest(f"bucket {name!r}: 'data' must be an object", code="invalid_import")
    if meta["created"] is not None:
        meta["created"] = parse_timestamp(meta["created"])
    return meta, [Event.from_json(e) for e in events]


__all__ = ["Storage", "BucketInfo", "canonical_json", "Conflict"]
