"""Ordering, cutting and summing event lists, as ActivityWatch's aw_transform.sort_by does.

Sorts are stable: equal timestamps (or durations) keep their input order.
"""

from __future__ import annotations

from ..event import Event


def sort_by_timestamp(events: list[Event]) -> list[Event]:
    """Events oldest first."""
    return sorted(events, key=lambda e: e.timestamp)


def sort_by_duration(events: list[Event]) -> list[Event]:
    """Events longest first."""
    return sorted(events, key=lambda e: e.duration, reverse=True)


def limit_events(events: list[Event], count: int) -> list[Event]:
    """The first `count` events (Python slice semantics, as aw-core: a negative count
    drops that many from the end)."""
    return list(events[:count])


def sum_durations(events: list[Event]) -> float:
    """Total duration in seconds, summed in whole microseconds (exact, like aw-core's
    timedelta sum)."""
    return sum(round(e.duration * 1_000_000) for e in events) / 1_000_000


def concat(events1: list[Event], events2: list[Event]) -> list[Event]:
    """Both lists, one after the other (no sorting, no deduplication)."""
    return list(events1) + list(events2)
