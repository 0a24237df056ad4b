"""The peewee models: Bucket, Event (with its interned data), Category, Setting.

Layout chosen by measurement (bench/RESULTS.md): 100,000 events over 50 days took 46 bytes
per event as a rowid table plus a (bucket, timestamp) index, and 29 bytes as a table
clustered on (bucket, timestamp, id) WITHOUT ROWID, which also reads a time range
contiguously. Event data is interned: each distinct JSON object is stored once in
EventData and events point at it. Times are integer microseconds since the Unix epoch (UTC).

A per-day rollup (EventRollup, kept by triggers, see schema.py) turns long-range summaries
into a scan of (day, data) sums instead of every event: SQLite has no hash aggregation, and
sorting a year of events for GROUP BY took 0.9-1.7 s here.
"""

from peewee import (BigIntegerField, CompositeKey, DatabaseProxy, FloatField, IntegerField,
                    Model, TextField)

database = DatabaseProxy()


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


class Bucket(BaseModel):
    """A named stream of events from one watcher on one host (ActivityWatch's bucket)."""

    id = IntegerField(primary_key=True)
    name = TextField(unique=True)  # ActivityWatch's bucket id, e.g. "tg-watcher-window_myhost"
    type = TextField()
    client = TextField(default="unknown")
    hostname = TextField(default="unknown")
    created = TextField()  # ISO 8601 UTC
    data = TextField(default="{}")  # JSON object: ActivityWatch's free-form bucket data
    max_duration = BigIntegerField(default=0)  # µs, at least the longest event's: bounds overlap look-ups
    # The open event (see tg_core.storage._Open): its key, and its duration in the rollup.
    open_timestamp = BigIntegerField(null=True)
    open_id = BigIntegerField(null=True)
    open_base = BigIntegerField(null=True)


class EventData(BaseModel):
    """One distinct event data object, as canonical JSON (sorted keys, compact)."""

    id = IntegerField(primary_key=True)
    json = TextField(unique=True)


class Event(BaseModel):
    """An event row: `timestamp` and `duration` in µs, `data` an EventData id."""

    bucket = IntegerField(column_name="bucket_id")
    timestamp = BigIntegerField()
    id = BigIntegerField()
    duration = BigIntegerField(default=0)
    data = IntegerField(column_name="data_id")

    class Meta:
        without_rowid = True
        primary_key = CompositeKey("bucket", "timestamp", "id")


class EventRollup(BaseModel):
    """Per bucket, UTC day and data: total duration (µs), event count and first start."""

    bucket = IntegerField(column_name="bucket_id")
    day = IntegerField()  # days since the Unix epoch, UTC
    data = IntegerField(column_name="data_id")
    duration = BigIntegerField(default=0)
    count = IntegerField(default=0)
    first = BigIntegerField()  # µs timestamp of the earliest event

    class Meta:
        without_rowid = True
        primary_key = CompositeKey("bucket", "day", "data")


class RollupPending(BaseModel):
    """A (bucket, UTC day) whose rollup rows are to be rebuilt from its events (big batches
    leave their days here instead of upserting the rollup; see tg_core.storage)."""

    bucket = IntegerField(column_name="bucket_id")
    day = IntegerField()

    class Meta:
        without_rowid = True
        primary_key = CompositeKey("bucket", "day")


class Category(BaseModel):
    """A category node: hierarchical `name` ("Work > Programming"), color, score, rules."""

    id = IntegerField(primary_key=True)
    name = TextField(unique=True)
    color = TextField(null=True)
    score = FloatField(default=0)
    rules = TextField(default="[]")  # JSON list of rule objects
    priority = IntegerField(default=0)


class Setting(BaseModel):
    """A key with a JSON value (start of day, categories version, ActivityWatch settings…)."""

    key = TextField(primary_key=True)
    value = TextField()


ALL_MODELS = [Bucket, EventData, Event, EventRollup, RollupPending, Category, Setting]
