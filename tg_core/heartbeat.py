"""Heartbeat merging: ActivityWatch's rule, shared by the server and the watcher client.

A heartbeat merges into the bucket's last event when their data are equal and
`last.timestamp <= hb.timestamp <= last.timestamp + last.duration + pulsetime`; the merged
duration is `max(last.duration, hb.timestamp - last.timestamp + hb.duration)`. Otherwise the
heartbeat becomes a new event; one older than the last event is inserted, never merged.
"""

from __future__ import annotations

import math

from .errors import BadRequest
from .event import Event, to_us

MAX_PULSETIME = 86_400.0 * 365


def merged_duration_us(last_ts: int, last_dur: int, hb_ts: int, hb_dur: int,
                       pulsetime_us: int) -> int | None:
    """The merged duration in µs, or None when the heartbeat does not reach the last event.

    Callers check data equality first; this is the time part of the rule, in exact integers.
    """
    if last_ts <= hb_ts <= last_ts + last_dur + pulsetime_us:
        return max(last_dur, hb_ts - last_ts + hb_dur)
    return None


def heartbeat_merge(last: Event | None, heartbeat: Event, pulsetime: float) -> Event | None:
    """The last event extended by `heartbeat`, or None when it must start a new event."""
    if last is None or last.data != heartbeat.data:
        return None
    last_ts = to_us(last.timestamp)
    duration = merged_duration_us(last_ts, round(last.duration * 1e6), to_us(heartbeat.timestamp),
                                  round(heartbeat.duration * 1e6), round(pulsetime * 1e6))
    if duration is None:
        return None
    return Event(last.timestamp, duration / 1e6, last.data, last.id)


def parse_pulsetime(value) -> float:
    """Validate a pulsetime (seconds) from a query string or JSON value."""
    if value is None or value == "":
        raise BadRequest("missing 'pulsetime' (seconds), e.g. ?pulsetime=60", code="invalid_pulsetime")
    try:
        pulsetime = float(value)
    except (TypeError, ValueError):
        raise BadRequest(f"invalid pulsetime {value!r}: expected a number of seconds",
                         code="invalid_pulsetime") from None
    if not math.isfinite(pulsetime) or not 0 <= pulsetime <= MAX_PULSETIME:
        raise BadRequest(f"invalid pulsetime {value!r}: expected 0 <= seconds <= {MAX_PULSETIME:.0f}",
                         code="invalid_pulsetime")
    return pulsetime
