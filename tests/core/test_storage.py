"""Storage rules on a real SQLite file: heartbeat merging, ranges, summaries, import, rollback."""

from __future__ import annotations

import random
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from tg_core.errors import BadRequest, NotFound
from tg_core.event import MAX_DURATION, MAX_ID, Event, from_us, row_from_json
from tg_core.heartbeat import heartbeat_merge
from tg_core.schema import SCHEMA_VERSION
from tg_core.storage import Storage

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def hb(storage, seconds, data, duration=0.0, pulsetime=10.0):
    return storage.heartbeat("win", Event(at(seconds), duration, data), pulsetime)


def events(storage):
    return [(e.timestamp, e.duration, e.data) for e in storage.get_events("win")]


def test_heartbeat_with_equal_data_within_pulsetime_extends_last_event(storage):
    hb(storage, 0, {"app": "a"})
    merged = hb(storage, 5, {"app": "a"}, duration=1)
    assert merged.duration == 6
    assert events(storage) == [(at(0), 6.0, {"app": "a"})]


def test_heartbeat_exactly_at_pulsetime_edge_merges_and_past_it_starts_new_event(storage):
    hb(storage, 0, {"app": "a"}, duration=2)
    hb(storage, 12, {"app": "a"})  # last.ts + last.duration + pulsetime == 12: merges
    assert events(storage) == [(at(0), 12.0, {"app": "a"})]
    hb(storage, 22.000001, {"app": "a"})  # just past 12 + 10
    assert len(events(storage)) == 2


def test_heartbeat_after_pulsetime_starts_new_event(storage):
    hb(storage, 0, {"app": "a"})
    hb(storage, 11, {"app": "a"})
    assert [e[0] for e in events(storage)] == [at(0), at(11)]


def test_heartbeat_with_different_data_starts_new_event(storage):
    hb(storage, 0, {"app": "a"})
    hb(storage, 1, {"app": "b"})
    assert [e[2] for e in events(storage)] == [{"app": "a"}, {"app": "b"}]


def test_heartbeat_never_shortens_the_last_event(storage):
    hb(storage, 0, {"app": "a"}, duration=30)
    assert hb(storage, 5, {"app": "a"}, duration=1).duration == 30


def test_heartbeat_older_than_last_event_is_inserted_not_merged(storage):
    hb(storage, 100, {"app": "a"})
    hb(storage, 50, {"app": "a"})
    assert [e[0] for e in events(storage)] == [at(50), at(100)]
    hb(storage, 105, {"app": "a"})  # still merges into the newest one
    assert events(storage)[-1] == (at(100), 5.0, {"app": "a"})


def test_heartbeat_data_key_order_does_not_matter(storage):
    hb(storage, 0, {"app": "a", "title": "t"})
    hb(storage, 3, {"title": "t", "app": "a"})
    assert len(events(storage)) == 1


def test_batch_heartbeats_merge_in_order(storage):
    batch = [Event(at(i), 0, {"app": "a" if i < 5 else "b"}) for i in range(10)]
    last = storage.heartbeats("win", batch, 2)
    assert events(storage) == [(at(0), 4.0, {"app": "a"}), (at(5), 4.0, {"app": "b"})]
    assert last.duration == 4.0 and last.data == {"app": "b"}


def test_failed_batch_stores_nothing_and_keeps_merging_right(storage):
    hb(storage, 0, {"app": "a"})
    bad = [Event(at(1), 0, {"app": "a"}), Event(at(2), 0, {"bad": float("nan")})]
    with pytest.raises(BadRequest):
        storage.heartbeats("win", bad, 5)
    assert events(storage) == [(at(0), 0.0, {"app": "a"})]
    hb(storage, 3, {"app": "a"})
    assert events(storage) == [(at(0), 3.0, {"app": "a"})]


def test_pure_heartbeat_merge_matches_storage_rule():
    last = Event(at(0), 2, {"x": 1})
    assert heartbeat_merge(last, Event(at(4), 1, {"x": 1}), 2).duration == 5
    assert heartbeat_merge(last, Event(at(4.5), 0, {"x": 1}), 2) is None
    assert heartbeat_merge(last, Event(at(1), 0, {"x": 2}), 2) is None
    assert heartbeat_merge(last, Event(at(-1), 0, {"x": 1}), 2) is None


def test_get_events_crops_to_range_and_limit_keeps_newest(storage):
    storage.insert_events("win", [Event(at(0), 10, {"n": 1}), Event(at(20), 10, {"n": 2}),
                                  Event(at(40), 0, {"n": 3})])
    cropped = storage.get_events("win", at(5), at(25))
    assert [(e.timestamp, e.duration) for e in cropped] == [(at(5), 5.0), (at(20), 5.0)]
    assert [e.data["n"] for e in storage.get_events("win", limit=2, newest_first=True)] == [3, 2]
    assert storage.count_events("win", at(5), at(25)) == 2
    assert storage.count_events("win", at(10), at(20)) == 0  # touching ends do not overlap
    assert storage.count_events("win", at(40), at(41)) == 1  # zero-length event inside


def test_insert_with_existing_id_replaces_event(storage):
    (stored,) = storage.insert_events("win", [Event(at(0), 1, {"v": 1})])
    storage.insert_events("win", [Event(at(5), 2, {"v": 2}, id=stored.id)])
    assert [(e.id, e.timestamp, e.data) for e in storage.get_events("win")] == [(stored.id, at(5), {"v": 2})]


def test_delete_event_and_unknown_ids(storage):
    (stored,) = storage.insert_events("win", [Event(at(0), 1, {"v": 1})])
    storage.delete_event("win", stored.id)
    with pytest.raises(NotFound):
        storage.get_event("win", stored.id)
    with pytest.raises(NotFound):
        storage.delete_event("win", stored.id)
    with pytest.raises(NotFound):
        storage.get_events("nope")


def naive_summary(storage, start, end, keys):
    out = {}
    for e in storage.get_events("win", start, end):
        if not all(k in e.data for k in keys):
            continue
        key = tuple(e.data[k] for k in keys)
        entry = out.setdefault(key, [e.timestamp, 0.0])
        entry[1] += e.duration
    return {k: (ts, round(d, 6)) for k, (ts, d) in out.items()}


@pytest.mark.parametrize("start,end", [
    (None, None), (at(-3600), at(86400 * 9)), (at(1800), at(86400 * 3 + 7)),
    (at(86400 * 2), at(86400 * 2 + 3600)), (at(500), None), (None, at(86400 * 5 + 1)),
])
def test_summary_by_keys_equals_merging_the_events(storage, start, end):
    rng = random.Random(7)
    evs, t = [], 0.0
    for _ in range(3000):
        data = {"app": f"app{rng.randint(0, 6)}", "title": str(rng.randint(0, 3))}
        if rng.random() < 0.05:
            del data["app"]
        duration = rng.choice([0, 0.5, 30, 200, 4000])
        evs.append(Event(at(t), duration, data))
        t += rng.uniform(0, 400)
    storage.insert_events("win", evs)
    storage.delete_event("win", storage.get_events("win")[100].id)  # rollup follows deletes
    got = {tuple(e.data[k] for k in ["app"]): (e.timestamp, round(e.duration, 6))
           for e in storage.summarize_by_keys("win", start, end, ["app"])}
    assert got == naive_summary(storage, start, end, ["app"])


def test_import_merges_without_duplicating(storage):
    storage.insert_events("win", [Event(at(0), 1, {"v": 1})])
    export = storage.export_buckets()
    export["buckets"]["win"]["events"].append(
        {"timestamp": at(10).isoformat(), "duration": 2, "data": {"v": 2}})
    assert storage.import_buckets(export["buckets"]) == {"win": 1}
    assert storage.import_buckets(export["buckets"]) == {"win": 0}
    assert storage.count_events("win") == 2


def test_import_with_a_bad_event_stores_nothing(storage):
    bad = {"other": {"type": "t", "events": [{"timestamp": at(0).isoformat()}, {"timestamp": "x"}]}}
    with pytest.raises(BadRequest):
        storage.import_buckets(bad)
    assert not storage.has_bucket("other")


def test_schema_version_is_recorded_and_a_newer_database_is_refused(tmp_path):
    path = tmp_path / "v.db"
    Storage(path).close()
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.commit()
    con.close()
    with pytest.raises(RuntimeError, match="newer"):
        Storage(path)


def test_reopening_keeps_events_and_continues_ids(tmp_path):
    s = Storage(tmp_path / "r.db")
    s.create_bucket("b", "t")
    (first,) = s.insert_events("b", [Event(at(0), 1, {})])
    s.close()
    s = Storage(tmp_path / "r.db")
    (second,) = s.insert_events("b", [Event(at(1), 1, {})])
    assert second.id > first.id
    assert s.heartbeat("b", Event(at(2), 0, {}), 5).id == second.id
    s.close()


def test_settings_round_trip(storage):
    storage.set_setting("start_of_day", "04:00")
    storage.set_setting("classes", [{"name": ["Work"]}])
    assert storage.get_setting("start_of_day") == "04:00"
    assert storage.settings() == {"start_of_day": "04:00", "classes": [{"name": ["Work"]}]}
    assert storage.delete_setting("start_of_day") and storage.get_setting("start_of_day") is None


def test_summary_keeps_first_appearance_order_like_merging(storage):
    """Groups that start together are ordered as merge_events_by_keys orders them."""
    from tg_core.transforms import merge_events_by_keys

    rng = random.Random(3)
    evs = []
    for i in range(400):
        start = rng.choice([0, 0, 60, 3600, 86400 * 2, 86400 * 3 + 5]) + rng.choice([0, 0, 1])
        evs.append(Event(at(start), rng.choice([0, 10, 90000]), {"app": f"a{rng.randint(0, 9)}", "n": i % 3}))
    storage.insert_events("win", evs)
    for start, end in [(None, None), (at(30), at(86400 * 4)), (at(0), at(61)), (at(3600), None)]:
        expected = merge_events_by_keys(storage.get_events("win", start, end), ["app"])
        got = storage.summarize_by_keys("win", start, end, ["app"])
        assert [(e.timestamp, round(e.duration, 6), e.data) for e in got] == \
            [(e.timestamp, round(e.duration, 6), e.data) for e in expected]


def test_a_version_1_database_is_migrated_and_keeps_its_rollup(tmp_path):
    """v1 kept the rollup with an insert trigger; v2 keeps it from Python."""
    from peewee import SqliteDatabase

    from tg_core import models, schema

    path = tmp_path / "old.db"
    db = SqliteDatabase(str(path))
    models.database.initialize(db)
    schema.MIGRATIONS[0](db)
    db.execute_sql("PRAGMA user_version = 1")
    db.execute_sql("INSERT INTO bucket (name, type, client, hostname, created, data, max_duration) "
                   "VALUES ('old', 't', 'c', 'h', '2024-01-01T00:00:00+00:00', '{}', 0)")
    db.execute_sql("INSERT INTO event_data (id, json) VALUES (1, '{\"app\":\"a\"}')")
    for i in range(5):
        db.execute_sql("INSERT INTO event (bucket_id, timestamp, id, duration, data_id) VALUES (1, ?, ?, ?, 1)",
                       (1_700_000_000_000_000 + i * 86_400_000_000, i + 1, 60_000_000))
    db.close()
    s = Storage(path)
    s.insert_events("old", [Event(from_us(1_700_000_000_000_000 + 5 * 86_400_000_000), 60, {"app": "a"})])
    (total,) = s.summarize_by_keys("old", None, None, ["app"])
    assert total.duration == 360 and s.count_events("old") == 6
    assert s.db.execute_sql("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    s.close()


def test_heartbeat_data_equality_is_pythons_like_activitywatch(storage):
    hb(storage, 0, {"n": 1})
    hb(storage, 1, {"n": 1.0})
    assert len(events(storage)) == 1


def test_storage_creates_its_directory(tmp_path):
    s = Storage(tmp_path / "new" / "nested" / "tg.db")
    assert s.create_bucket("b", "t") and s.count_events("b") == 0
    s.close()


# Client JSON the bulk path (row_from_json) must take exactly as Event.from_json does.
GOOD_EVENT_JSON = [
    {"timestamp": "2024-03-01T12:00:00.123+00:00", "duration": 1.5, "data": {"app": "a"}},
    {"timestamp": "2024-03-01T12:00:00.123456Z", "duration": 2, "data": {"n": [1, {"x": None}]}},
    {"timestamp": "2024-03-01T14:00:00+02:00", "data": {}},  # an offset: converted to UTC
    {"timestamp": "2024-03-01T12:00:00"},  # no offset: UTC; no duration, no data
    {"timestamp": " 2024-03-01T12:00:00z "},
    {"timestamp": "2024-03-01T12:00:00+00:00", "duration": None, "data": None, "id": None},
    {"timestamp": "2024-03-01T12:00:00+00:00", "duration": 0.0000015, "data": {"a": "b"}},
    {"timestamp": "2024-03-01T12:00:00+00:00", "duration": 3, "data": {"a": "b"}, "id": 7},
    {"timestamp": "1970-01-01T00:00:00+00:00", "duration": 0},
    {"timestamp": "8999-12-31T23:59:59.999999+00:00", "duration": MAX_DURATION},
]
BAD_EVENT_JSON = [
    ([1], "invalid_event"),
    ("2024-03-01T12:00:00Z", "invalid_event"),
    ({"duration": 1}, "invalid_event"),
    ({"timestamp": None}, "invalid_timestamp"),
    ({"timestamp": 1709294400}, "invalid_timestamp"),
    ({"timestamp": "2024-13-01T00:00:00Z"}, "invalid_timestamp"),
    ({"timestamp": "yesterday"}, "invalid_timestamp"),
    ({"timestamp": "1969-12-31T23:59:59+00:00"}, "invalid_timestamp"),
    ({"timestamp": "9000-01-01T00:00:00+00:00"}, "invalid_timestamp"),
    ({"timestamp": "2024-03-01T12:00:00Z", "duration": -1}, "invalid_duration"),
    ({"timestamp": "2024-03-01T12:00:00Z", "duration": "1"}, "invalid_duration"),
    ({"timestamp": "2024-03-01T12:00:00Z", "duration": True}, "invalid_duration"),
    ({"timestamp": "2024-03-01T12:00:00Z", "duration": float("nan")}, "invalid_duration"),
    ({"timestamp": "2024-03-01T12:00:00Z", "duration": float("inf")}, "invalid_duration"),
    ({"timestamp": "2024-03-01T12:00:00Z", "duration": MAX_DURATION * 2}, "invalid_duration"),
    ({"timestamp": "2024-03-01T12:00:00Z", "data": [1]}, "invalid_event"),
    ({"timestamp": "2024-03-01T12:00:00Z", "data": "app"}, "invalid_event"),
    ({"timestamp": "2024-03-01T12:00:00Z", "id": "7"}, "invalid_event"),
    ({"timestamp": "2024-03-01T12:00:00Z", "id": True}, "invalid_event"),
    ({"timestamp": "2024-03-01T12:00:00Z", "id": 0}, "invalid_event"),
    ({"timestamp": "2024-03-01T12:00:00Z", "id": 1.0}, "invalid_event"),
    ({"timestamp": "2024-03-01T12:00:00Z", "id": MAX_ID}, "invalid_event"),
]


@pytest.mark.parametrize("obj", GOOD_EVENT_JSON)
def test_event_rows_from_json_are_the_events_rows(obj):
    assert row_from_json(obj) == Event.from_json(obj).to_row()


@pytest.mark.parametrize("obj,code", BAD_EVENT_JSON)
def test_event_rows_from_json_refuse_what_events_refuse(obj, code):
    with pytest.raises(BadRequest) as as_row:
        row_from_json(obj)
    with pytest.raises(BadRequest) as as_event:
        Event.from_json(obj)
    assert (as_row.value.code, as_row.value.message) == (as_event.value.code, as_event.value.message)
    assert as_row.value.code == code


def test_inserted_rows_get_new_ids_or_replace_by_theirs(storage):
    rows = [row_from_json({"timestamp": at(i).isoformat(), "duration": 1, "data": {"i": str(i)}})
            for i in range(3)]
    ids = storage.insert_rows("win", rows)
    assert list(ids) == [ids[0], ids[0] + 1, ids[0] + 2]
    replaced = row_from_json({"timestamp": at(10).isoformat(), "data": {"i": "x"}, "id": ids[1]})
    again = storage.insert_rows("win", [rows[0][:3] + (None,), replaced])
    assert again[1] == ids[1] and again[0] == ids[2] + 1
    assert [(e.id, e.data) for e in storage.get_events("win")] == [
        (ids[0], {"i": "0"}), (again[0], {"i": "0"}), (ids[2], {"i": "2"}), (ids[1], {"i": "x"})]


def test_data_interning_tells_apart_values_python_finds_equal(storage):
    datas = [{"n": 1}, {"n": 1.0}, {"n": True}, {"n": "1"}, {"a": "x", "b": "y"}, {"b": "y", "a": "x"},
             {"n": "1"}, {"n": 1}]
    for _ in range(2):  # the second time every data object is known
        storage.insert_events("win", [Event(at(i), 1, d) for i, d in enumerate(datas)])

    def typed(data):
        return sorted((k, v, type(v)) for k, v in data.items())

    assert [typed(e.data) for e in storage.get_events("win")] == [typed(d) for d in datas for _ in range(2)]
    assert storage._sql("SELECT count(*) FROM event_data").fetchone()[0] == 5


def test_failed_bulk_insert_stores_nothing_and_keeps_the_caches_right(storage):
    storage.insert_rows("win", [row_from_json({"timestamp": at(0).isoformat(), "data": {"app": "a"}})])
    good = [row_from_json({"timestamp": at(i).isoformat(), "duration": 1, "data": {"app": f"new{i}"}})
            for i in range(1, 300)]
    clash = row_from_json({"timestamp": at(400).isoformat(), "data": {"app": "z"}, "id": 999})
    with pytest.raises(sqlite3.IntegrityError):  # fails after the new data were interned
        storage.insert_rows("win", good + [clash, clash])
    assert events(storage) == [(at(0), 0.0, {"app": "a"})]
    hb(storage, 3, {"app": "a"})  # the cached last event is still the one stored
    storage.insert_events("win", [Event(at(350), 0, {"app": "other"})])  # takes a freed data id
    storage.insert_rows("win", good)  # their data interned again, not taken from the cache
    assert events(storage)[1:300] == [(at(i), 1.0, {"app": f"new{i}"}) for i in range(1, 300)]
    assert [e.duration for e in storage.summarize_by_keys("win", None, None, ["app"])] == [3.0] + [1.0] * 299 + [0.0]
