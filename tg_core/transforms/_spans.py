"""Event spans as integer microseconds, for the transforms' hot loops.

Comparing and adding `datetime`s costs far more than integer arithmetic, and floats would
make adjacent events look a hair apart. So loops work on exact microseconds and build a
new `Event` only for spans that changed; unchanged events are passed through as they are.
"""

from __future__ import annotations

from datetime import timedelta
from operator import itemgetter

from ..event import EPOCH, Event

_US = timedelta(microseconds=1)
_by_start = itemgetter(0)


def spans(events: list[Event], sort: bool = True) -> list[tuple[int, int, Event]]:
    """(start, end, event) per event, in microseconds; sorted stably by start if `sort`."""
    epoch, us = EPOCH, _US
    out = []
    append = out.append
    for e in events:
        s = (e.timestamp - epoch) // us
        append((s, s + round(e.duration * 1_000_000), e))
    if sort:
        out.sort(key=_by_start)
    return out


def respan(event: Event, start: int, end: int, old_start: int, old_end: int) -> Event:
    """`event` moved to [start, end) (microseconds); the same object if unchanged.

    The data dict is shared, not copied: no transform changes a data dict in place.
    """
    if start == old_start:
        if end == old_end:
            return event
        timestamp = event.timestamp
    else:
        # A small timedelta from the old timestamp is cheaper than one from the epoch.
        timestamp = event.timestamp + timedelta(0, 0, start - old_start)
    seconds = event.duration if end - start == old_end - old_start else (end - start) / 1e6
    return Event(timestamp, seconds, event.data, event.id)
