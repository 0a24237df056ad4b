"""Creating and migrating the database schema, versioned with `PRAGMA user_version`.

Each migration is a function that takes the database from version N-1 to N; `migrate` runs
the missing ones in one transaction each, so a database from any earlier release opens.
"""

from peewee import SqliteDatabase

from . import models

DAY_US = 86_400_000_000

# Version 1 kept the rollup and the bucket's max_duration by triggers; later versions moved
# the insert and duration-update parts into tg_core.storage, where they cost less (v2, v3).
# Event key columns never change in place: storage replaces an event by delete + insert,
# and the last trigger enforces that.
_TRIGGERS = [
    f"""CREATE TRIGGER event_after_insert AFTER INSERT ON event BEGIN
        INSERT INTO event_rollup (bucket_id, day, data_id, duration, count, first)
        VALUES (NEW.bucket_id, NEW.timestamp / {DAY_US}, NEW.data_id, NEW.duration, 1, NEW.timestamp)
        ON CONFLICT (bucket_id, day, data_id) DO UPDATE SET
            duration = duration + excluded.duration, count = count + 1,
            first = min(first, excluded.first);
        UPDATE bucket SET max_duration = NEW.duration
        WHERE id = NEW.bucket_id AND max_duration < NEW.duration;
    END""",
    f"""CREATE TRIGGER event_after_delete AFTER DELETE ON event BEGIN
        UPDATE event_rollup SET duration = duration - OLD.duration, count = count - 1
        WHERE bucket_id = OLD.bucket_id AND day = OLD.timestamp / {DAY_US} AND data_id = OLD.data_id;
        DELETE FROM event_rollup
        WHERE bucket_id = OLD.bucket_id AND day = OLD.timestamp / {DAY_US} AND data_id = OLD.data_id
          AND count <= 0;
        UPDATE event_rollup SET first = (
            SELECT min(timestamp) FROM event
            WHERE bucket_id = OLD.bucket_id AND data_id = OLD.data_id
              AND timestamp >= day * {DAY_US} AND timestamp < (day + 1) * {DAY_US})
        WHERE bucket_id = OLD.bucket_id AND day = OLD.timestamp / {DAY_US} AND data_id = OLD.data_id
          AND first = OLD.timestamp;
    END""",
    f"""CREATE TRIGGER event_after_update_duration AFTER UPDATE OF duration ON event BEGIN
        UPDATE event_rollup SET duration = duration + NEW.duration - OLD.duration
        WHERE bucket_id = OLD.bucket_id AND day = OLD.timestamp / {DAY_US} AND data_id = OLD.data_id;
        UPDATE bucket SET max_duration = NEW.duration
        WHERE id = NEW.bucket_id AND max_duration < NEW.duration;
    END""",
    """CREATE TRIGGER event_keys_immutable BEFORE UPDATE OF bucket_id, timestamp, id, data_id ON event
    BEGIN
        SELECT RAISE(ABORT, 'event keys are immutable: delete and insert instead');
    END""",
]


def _v1_initial(db: SqliteDatabase) -> None:
    db.create_tables(models.ALL_MODELS)
    for sql in _TRIGGERS:
        db.execute_sql(sql)


# Inserts maintain the rollup from Python, one upsert per (day, data) of a batch: the
# per-row trigger cost 5 µs of the 7.8 µs an inserted event took (bench/RESULTS.md).
ROLLUP_INSERT = "INSERT INTO event_rollup (bucket_id, day, data_id, duration, count, first)"
ROLLUP_MERGE = """ON CONFLICT (bucket_id, day, data_id) DO UPDATE SET
        duration = duration + excluded.duration, count = count + excluded.count,
        first = min(first, excluded.first)"""


def _v2_rollup_from_python(db: SqliteDatabase) -> None:
    # No index by data on the rollup either: it saved ~60 ms of sorting on a full-year
    # summary but cost 7 of 20 µs per inserted event.
    db.execute_sql("DROP TRIGGER event_after_insert")


def _v3_open_event_and_pending_days(db: SqliteDatabase) -> None:
    # Heartbeats extend the bucket's open event with a one-row UPDATE: the duration trigger
    # made each of them write the rollup's page too (42 against 21 µs, bench/RESULTS.md).
    # Storage now keeps the rollup and max_duration (see tg_core.storage._Open).
    columns = {row[1] for row in db.execute_sql("PRAGMA table_info(bucket)")}
    for name in ("open_timestamp", "open_id", "open_base"):
        if name not in columns:  # a database made by v1 from today's models has them already
            db.execute_sql(f"ALTER TABLE bucket ADD COLUMN {name} INTEGER")
    db.execute_sql("DROP TRIGGER event_after_update_duration")
    # Big batches mark their days for a rebuild instead of upserting the rollup row by row.
    models.RollupPending.create_table(safe=True)


MIGRATIONS = [_v1_initial, _v2_rollup_from_python, _v3_open_event_and_pending_days]
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(db: SqliteDatabase) -> int:
    """Bring the database to SCHEMA_VERSION; returns the version it had before.

    A database newer than this program raises RuntimeError rather than being damaged.
    """
    (version,) = db.execute_sql("PRAGMA user_version").fetchone()
    if version > SCHEMA_VERSION:
        raise RuntimeError(f"database schema version {version} is newer than this TimelyGator "
                           f"({SCHEMA_VERSION}); upgrade TimelyGator")
    for number in range(version, SCHEMA_VERSION):
        with db.atomic():
            MIGRATIONS[number](db)
            db.execute_sql(f"PRAGMA user_version = {number + 1}")
    return version
