"""The event: a span of time with a data object, the unit everything else works on.

Timestamps are timezone-aware UTC datetimes; durations are seconds (float). Storage keeps
integer microseconds since the Unix epoch; `to_us`/`from_us` convert at that edge only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from .errors import BadRequest

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Bounds that keep datetime arithmetic and 64-bit microseconds safe.
MIN_TIMESTAMP = datetime(1970, 1, 1, tzinfo=UTC)
MAX_TIMESTAMP = datetime(9000, 1, 1, tzinfo=UTC)
MAX_DURATION = 100 * 365 * 86400.0  # a century, in seconds
MAX_ID = 2**53  # ids stay exact in JavaScript and fit SQLite's 64-bit integers


def to_us(dt: datetime) -> int:
    """Microseconds since the Unix epoch for an aware datetime (exact integer arithmetic)."""
    delta = dt - EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(us: int) -> datetime:
    """The aware UTC datetime for microseconds since the Unix epoch."""
    return EPOCH + timedelta(microseconds=us)


def parse_timestamp(value) -> datetime:
    """Parse an ISO 8601 timestamp (or a datetime) into an aware UTC datetime.

    A timestamp without an offset is taken as UTC, as ActivityWatch does. Raises BadRequest
    with a message naming the value when it cannot be parsed or is out of range.
    """
    if type(value) is str:  # the fast path: an ISO string with an offset (bulk inserts)
        try:
            dt = datetime.fromisoformat(value)
        except ValueError:
            dt = None
        if dt is not None and dt.tzinfo is UTC and MIN_TIMESTAMP <= dt < MAX_TIMESTAMP:
            return dt
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise BadRequest(f"invalid timestamp {value!r}: expected ISO 8601, e.g. "
                             "2024-01-31T12:00:00+00:00", code="invalid_timestamp") from None
    else:
        raise BadRequest(f"invalid timestamp {value!r}: expected an ISO 8601 string",
                         code="invalid_timestamp")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        dt = dt.astimezone(UTC)
    except (OverflowError, ValueError):
        raise BadRequest(f"timestamp {value!r} is out of range", code="invalid_timestamp") from None
    if not MIN_TIMESTAMP <= dt < MAX_TIMESTAMP:
        raise BadRequest(f"timestamp {value!r} is out of range (1970..9000)",
                         code="invalid_timestamp")
    return dt


def parse_duration(value) -> float:
    """Validate a duration in seconds: a finite, non-negative number."""
    kind = type(value)
    if (kind is float or kind is int) and 0 <= value <= MAX_DURATION:  # NaN fails this
        return float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadRequest(f"invalid duration {value!r}: expected a number of seconds",
                         code="invalid_duration")
    value = float(value)
    if not math.isfinite(value) or value < 0 or value > MAX_DURATION:
        raise BadRequest(f"invalid duration {value!r}: expected 0 <= seconds <= {MAX_DURATION:.0f}",
                         code="invalid_duration")
    return value


def format_timestamp(dt: datetime) -> str:
    """ISO 8601 with an explicit +00:00 offset, as ActivityWatch returns it."""
    return dt.astimezone(UTC).isoformat()


@dataclass(slots=True)
class Event:
    """A span of time: `timestamp` (aware UTC), `duration` (seconds), `data` (a JSON object)."""

    timestamp: datetime
    duration: float = 0.0
    data: dict = field(default_factory=dict)
    id: int | None = None

    @property
    def end(self) -> datetime:
        return self.timestamp + timedelta(seconds=self.duration)

    def copy(self, **changes) -> "Event":
        """A shallow copy (data dict copied too) with the given fields replaced."""
        ev = Event(self.timestamp, self.duration, dict(self.data), self.id)
        for key, value in changes.items():
            setattr(ev, key, value)
        return ev

    def to_json(self) -> dict:
        out = {"timestamp": format_timestamp(self.timestamp), "duration": self.duration,
               "data": self.data}
        if self.id is not None:
            out = {"id": self.id, **out}
        return out

    def to_row(self) -> "EventRow":
        return to_us(self.timestamp), round(self.duration * 1e6), self.data, self.id

    @classmethod
    def from_json(cls, obj) -> "Event":
        """Build an event from a client's JSON object, validating every field.

        `duration` defaults to 0 and `data` to {}; an `id`, when given, must be an integer.
        """
        if not isinstance(obj, dict):
            raise BadRequest(f"an event must be a JSON object, got {type(obj).__name__}",
                             code="invalid_event")
        if "timestamp" not in obj:
            raise BadRequest("event is missing 'timestamp'", code="invalid_event")
        timestamp = parse_timestamp(obj["timestamp"])
        duration = obj.get("duration")
        duration = 0.0 if duration is None else parse_duration(duration)
        data = obj.get("data")
        if data is None:
            data = {}
        elif type(data) is not dict and not isinstance(data, dict):
            raise BadRequest("event 'data' must be a JSON object", code="invalid_event")
        eid = obj.get("id")
        if eid is not None and (isinstance(eid, bool) or not isinstance(eid, int)
                                or not 0 < eid < MAX_ID):
            raise BadRequest(f"event 'id' must be an integer from 1 to {MAX_ID - 1}",
                             code="invalid_event")
        return cls(timestamp, duration, data, eid)


EventRow = tuple[int, int, dict, "int | None"]  # (timestamp µs, duration µs, data, id)


def row_from_json(obj) -> EventRow:
    """A client's JSON event as a storage row: Event.from_json's rules and errors, without
    building the Event for the common shape (a third fewer instructions than from_json and
    to_row, callgrind)."""
    if type(obj) is dict:
        text, duration, data = obj.get("timestamp"), obj.get("duration", 0), obj.get("data")
        if (type(text) is str and (type(duration) is float or type(duration) is int)
                and 0 <= duration <= MAX_DURATION and type(data) is dict and obj.get("id") is None):
            try:
                dt = datetime.fromisoformat(text)
            except ValueError:
                dt = None
            if dt is not None and dt.tzinfo is UTC and MIN_TIMESTAMP <= dt < MAX_TIMESTAMP:
                return to_us(dt), round(duration * 1e6), data, None
    return Event.from_json(obj).to_row()  # any other shape: the full rules, with their messages
