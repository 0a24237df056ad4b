"""Grouping events by data values, as ActivityWatch's aw_transform does it.

- merge_events_by_keys(events, keys): one event per distinct combination of the values of
  `keys`, in order of first appearance; its timestamp is that of the first event of the
  group, its duration the sum of the group's durations (in whole microseconds), its data
  only those keys. Events that lack any of the keys are dropped (aw-core 0.5.18 would group
  them by the keys they have; aw-webui expects them dropped). With no keys the events are
  returned unchanged.
  List values (e.g. "$category") are compared by content.
- chunk_events_by_key(events, key, pulsetime=5): runs of consecutive events with an equal
  value for `key` become one event whose data is {key: value, "subevents": [...]} (the
  subevents as JSON objects). Kept exactly as aw-core behaves: processing stops at the first
  event without the key, and the pulsetime test compares with the end of the *last* input
  event, so for time-ordered input equal neighbours always join.
"""

from __future__ import annotations

from ..event import Event


def _hashable(value):
    """A hashable stand-in for a JSON value, equal exactly when the values are equal."""
    if isinstance(value, (list, tuple)):
        return ("\0list", tuple(_hashable(v) for v in value))
    if isinstance(value, dict):
        return ("\0dict", frozenset((k, _hashable(v)) for k, v in value.items()))
    return value


def merge_events_by_keys(events: list[Event], keys: list[str]) -> list[Event]:
    """Sum durations per distinct value of `keys`; see the module docstring."""
    if not keys:
        return list(events)
    keys = list(keys)
    single = keys[0] if len(keys) == 1 else None
    # Durations are summed in whole microseconds: exact, independent of order, and equal
    # to what SQL computes from stored microseconds (the push-down path).
    groups: dict = {}  # key -> [first event, summed microseconds]
    for e in events:
        data = e.data
        try:
            k = data[single] if single is not None else tuple([data[key] for key in keys])
        except KeyError:
            continue  # an event without one of the keys is dropped
        if type(k) is list:  # e.g. "$category"; cheaper than the TypeError below
            k = ("\0list", tuple(k))
        try:
            group = groups.get(k)
        except TypeError:  # a list or object value
            k = ("\0unhashable", _hashable(k))
            group = groups.get(k)
        if group is None:
            groups[k] = [e, round(e.duration * 1_000_000)]
        else:
            group[1] += round(e.duration * 1_000_000)
    return [Event(first.timestamp, total / 1_000_000, {key: first.data[key] for key in keys})
            for first, total in groups.values()]


def chunk_events_by_key(events: list[Event], key: str, pulsetime: float = 5.0) -> list[Event]:
    """Join runs of events with an equal value for `key`; see the module docstring."""
    chunks: list[Event] = []
    if not events:
        return chunks
    last_end = events[-1].end  # aw-core compares with the last input event (sic)
    for e in events:
        if key not in e.data:
            break
        prev = chunks[-1] if chunks else None
        if (prev is not None and prev.data[key] == e.data[key]
                and (e.timestamp - last_end).total_seconds() < pulsetime):
            prev.duration += e.duration
            prev.data["subevents"].append(e.to_json())
        else:
            chunks.append(Event(e.timestamp, e.duration,
                                {key: e.data[key], "subevents": [e.to_json()]}))
    return chunks
