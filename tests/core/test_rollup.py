"""The per-day rollup stays exact: heartbeats extend the open event (tg_core.storage._Open)
without touching it, big batches leave their days pending for a rebuild, and every summary
still equals the sum of the events, whatever happens around them."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from tg_core.event import Event
from tg_core.storage import DEFER_ROLLUP_ROWS, Storage

DAY = 86400
T0 = datetime(2024, 3, 1, tzinfo=timezone.utc)  # a UTC midnight: summaries use whole days


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def totals_by_rollup(storage, start=at(-DAY), end=at(10 * DAY)):
    """App -> seconds over whole days: the path that reads the rollup."""
    return {e.data["app"]: round(e.duration, 6)
            for e in storage.summarize_by_keys("win", start, end, ["app"])}


def totals_by_events(storage, start=at(-DAY), end=at(10 * DAY)):
    out = {}
    for e in storage.get_events("win", start, end):
        out[e.data["app"]] = round(out.get(e.data["app"], 0) + e.duration, 6)
    return out


def rollup_is_right(storage):
    return totals_by_rollup(storage) == totals_by_events(storage)


def hb(storage, seconds, app, pulsetime=30.0):
    return storage.heartbeat("win", Event(at(seconds), 0, {"app": app}), pulsetime)


def test_heartbeats_extend_the_open_event_and_summaries_include_its_growth(storage):
    for second in range(0, 100, 5):
        hb(storage, DAY + second, "editor")
    assert rollup_is_right(storage)
    assert totals_by_rollup(storage) == {"editor": 95}
    hb(storage, DAY + 100, "browser")  # a new event closes the editor's
    for second in range(105, 200, 5):
        hb(storage, DAY + second, "browser")
    assert totals_by_rollup(storage) == {"editor": 95, "browser": 95}
    assert rollup_is_right(storage)


def test_reopening_the_database_keeps_the_open_event(tmp_path):
    s = Storage(tmp_path / "tg.db")
    s.create_bucket("win", "currentwindow")
    for second in range(0, 50, 5):
        hb(s, DAY + second, "editor")
    s.close()
    s = Storage(tmp_path / "tg.db")
    assert totals_by_rollup(s) == {"editor": 45}
    for second in range(50, 100, 5):  # the same event goes on growing
        hb(s, DAY + second, "editor")
    assert len(s.get_events("win")) == 1 and totals_by_rollup(s) == {"editor": 95}
    hb(s, DAY + 200, "browser")
    assert totals_by_rollup(s) == {"editor": 95, "browser": 0}
    s.close()


def test_a_killed_server_leaves_a_consistent_database(tmp_path):
    """Nothing is kept only in memory: a second connection, as after a SIGKILL, sees summaries
    equal to the events (the open event's growth is read from its row)."""
    s = Storage(tmp_path / "tg.db")
    s.create_bucket("win", "currentwindow")
    for second in range(0, 300, 5):
        hb(s, DAY + second, "editor" if second < 150 else "browser")
    other = Storage(tmp_path / "tg.db")  # no close() of the first: its memory is never used
    assert totals_by_rollup(other) == totals_by_events(other) == {"editor": 145, "browser": 145}
    other.close()
    s.close()


def test_deleting_or_replacing_the_open_event(storage):
    for second in range(0, 60, 5):
        hb(storage, DAY + second, "editor")
    (event,) = storage.get_events("win")
    storage.delete_event("win", event.id)
    assert totals_by_rollup(storage) == {} and rollup_is_right(storage)
    for second in range(100, 160, 5):
        hb(storage, DAY + second, "editor")
    (event,) = storage.get_events("win")
    storage.insert_events("win", [Event(at(DAY + 100), 7, {"app": "terminal"}, event.id)])
    assert totals_by_rollup(storage) == {"terminal": 7} and rollup_is_right(storage)
    hb(storage, DAY + 110, "terminal")  # extends the replacement, which is not open yet
    assert totals_by_rollup(storage) == {"terminal": 10} and rollup_is_right(storage)


def test_bulk_inserts_and_heartbeats_mixed_at_random(storage):
    rng = random.Random(3)
    t = 0.0
    for step in range(400):
        action = rng.random()
        if action < 0.75:
            t += rng.choice([1, 5, 20, 45])
            hb(storage, DAY + t, rng.choice(["editor", "browser", "terminal"]))
        elif action < 0.85:  # a bulk insert, some of it after the open event; some big
            size = rng.choice([5, 5, DEFER_ROLLUP_ROWS])
            storage.insert_events("win", [Event(at(DAY + t + rng.uniform(-600, 600)), rng.uniform(0, 60),
                                                {"app": rng.choice(["editor", "mail"])}) for _ in range(size)])
        elif action < 0.95:
            victim = rng.choice(storage.get_events("win"))
            storage.delete_event("win", victim.id)
        else:
            storage.heartbeats("win", [Event(at(DAY + t + i), 0, {"app": "mail"}) for i in range(3)], 30)
            t += 3
        if step % 20 == 0:
            assert rollup_is_right(storage), f"after step {step}"
    assert rollup_is_right(storage)
    # Days cut at arbitrary times too (the edges are read from events).
    assert totals_by_rollup(storage, at(DAY + 500), at(DAY + 4000)) == \
        totals_by_events(storage, at(DAY + 500), at(DAY + 4000))


def test_an_event_growing_for_hours_is_found_by_range_queries(storage):
    """max_duration bounds range look-ups; it must keep up with the open event."""
    for minute in range(0, 5 * 60, 1):  # five hours of one app, a heartbeat a minute
        hb(storage, DAY + minute * 60, "editor", pulsetime=120)
    later = storage.get_events("win", at(DAY + 4 * 3600), at(DAY + 4 * 3600 + 60))
    assert [(e.timestamp, e.duration) for e in later] == [(at(DAY + 4 * 3600), 60)]
    assert storage.count_events("win", at(DAY + 3 * 3600), at(DAY + 6 * 3600)) == 1


def test_a_released_version_2_database_is_migrated(tmp_path):
    """v2 kept the open event's growth with a trigger and had no open_* columns."""
    from peewee import SqliteDatabase

    from tg_core import models, schema

    path = tmp_path / "v2.db"
    db = SqliteDatabase(str(path))
    models.database.initialize(db)
    schema.MIGRATIONS[0](db)
    schema.MIGRATIONS[1](db)
    for column in ("open_timestamp", "open_id", "open_base"):
        db.execute_sql(f"ALTER TABLE bucket DROP COLUMN {column}")
    db.execute_sql("PRAGMA user_version = 2")
    db.execute_sql("INSERT INTO bucket (name, type, client, hostname, created, data, max_duration) "
                   "VALUES ('win', 't', 'c', 'h', '2024-01-01T00:00:00+00:00', '{}', 0)")
    db.execute_sql("INSERT INTO event_data (id, json) VALUES (1, '{\"app\":\"editor\"}')")
    start_us = int(at(DAY).timestamp()) * 1_000_000
    db.execute_sql(f"INSERT INTO event_rollup VALUES (1, {start_us // 86_400_000_000}, 1, 10000000, 1, {start_us})")
    db.execute_sql(f"INSERT INTO event VALUES (1, {start_us}, 1, 10000000, 1)")
    db.execute_sql("UPDATE event SET duration = 20000000")  # v2's trigger keeps the rollup
    db.close()
    s = Storage(path)
    assert totals_by_rollup(s) == {"editor": 20}
    hb(s, DAY + 25, "editor")
    hb(s, DAY + 40, "editor")
    assert totals_by_rollup(s) == totals_by_events(s) == {"editor": 40}
    assert s.db.execute_sql("SELECT count(*) FROM sqlite_master WHERE name = "
                            "'event_after_update_duration'").fetchone() == (0,)
    s.close()


def pending(storage):
    return storage.db.execute_sql("SELECT bucket_id, day FROM rollup_pending").fetchall()


def rollup_rows(storage):
    return storage.db.execute_sql("SELECT bucket_id, day, data_id, duration, count, first "
                                  "FROM event_rollup ORDER BY 1, 2, 3").fetchall()


def rollup_from_events(storage):
    return storage.db.execute_sql(
        "SELECT bucket_id, timestamp / 86400000000, data_id, sum(duration), count(*), min(timestamp) "
        "FROM event GROUP BY 1, 2, 3 ORDER BY 1, 2, 3").fetchall()


def big_batch(first_second, apps=("editor", "mail", "browser"), count=DEFER_ROLLUP_ROWS * 2):
    return [Event(at(first_second + i * 600), 30, {"app": apps[i % len(apps)]}) for i in range(count)]


def test_a_big_batch_leaves_its_days_pending_until_a_summary_needs_them(storage):
    storage.insert_events("win", big_batch(0))  # 400 events, 10 minutes apart: 3 days
    assert len(pending(storage)) == 3
    assert totals_by_rollup(storage, at(0), at(DAY)) == totals_by_events(storage, at(0), at(DAY))
    assert len(pending(storage)) == 3  # one day is no whole day: read from the events
    assert rollup_is_right(storage)
    assert pending(storage) == [] and rollup_rows(storage) == rollup_from_events(storage)


def test_pending_days_survive_a_restart(tmp_path):
    s = Storage(tmp_path / "tg.db")
    s.create_bucket("win", "currentwindow")
    s.insert_events("win", big_batch(0))
    s.close()
    s = Storage(tmp_path / "tg.db")
    assert len(pending(s)) == 3 and rollup_is_right(s) and pending(s) == []
    s.close()


def test_heartbeats_and_deletes_on_a_pending_day(storage):
    for second in range(0, 300, 10):  # an open event on day 1
        hb(storage, DAY + second, "editor")
    storage.insert_events("win", big_batch(DAY + 400))  # the same day and the next two
    for second in range(300, 400, 10):  # the open event goes on growing on the pending day
        hb(storage, DAY + second, "editor")
    victim = storage.get_events("win", at(DAY + 1000), at(DAY + 2000))[0]
    storage.delete_event("win", victim.id)
    assert rollup_is_right(storage)  # rebuilds the days, rebasing the open event
    for second in range(400, 500, 10):  # keeps growing after the rebuild
        hb(storage, DAY + second, "editor")
    assert rollup_is_right(storage)
    hb(storage, DAY + 500, "terminal")  # closes it
    assert rollup_is_right(storage)
    assert rollup_rows(storage) == rollup_from_events(storage)
