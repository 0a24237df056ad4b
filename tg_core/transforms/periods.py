"""Set operations on the time periods of events, as ActivityWatch's aw_transform does them.

- filter_period_intersect(events, filterevents): the parts of `events` that lie inside some
  filter event (e.g. window events while not AFK). Each intersection becomes its own event
  with the original data; zero-length intersections (an event of no duration inside a filter
  period) are kept, events that merely touch a filter period are not.
- period_union(events1, events2): the union of all periods, overlapping or touching ones
  joined, data cleared (it cannot be kept consistent).
- union_no_overlap(events1, events2): both lists woven together in time order, cutting the
  parts of `events2` that overlap `events1` (the first list has precedence). Both lists are
  expected sorted by timestamp, as in aw-core.
"""

from __future__ import annotations

from ..event import Event
from ._spans import respan, spans


def _overlaps(s1: int, e1: int, s2: int, e2: int) -> bool:
    # Mirrors timeslot.Timeslot.overlaps.
    return s1 <= s2 < e1 or s1 < e2 <= e1 or (s2 <= s1 and e1 <= e2)


def filter_period_intersect(events: list[Event], filterevents: list[Event]) -> list[Event]:
    """The parts of `events` during which some event of `filterevents` lasts.

    Example::

        events       |   =======        ======== |
        filterevents | ------  ---  ---   ----   |
        result       |   ====  =          ====   |
    """
    a, b = spans(events), spans(filterevents)
    na, nb = len(a), len(b)
    out = []
    i = j = 0
    while i < na and j < nb:
        s1, e1, ev = a[i]
        s2, e2, _ = b[j]
        # The intersection exactly as timeslot.Timeslot.intersection computes it,
        # including its zero-length cases.
        if s1 <= s2 and e2 <= e1:
            ip = s2, e2
        elif s1 <= s2 < e1:
            ip = s2, e1
        elif s1 < e2 <= e1:
            ip = s1, e2
        elif s2 <= s1 and e1 <= e2:
            ip = s1, e1
        elif e1 <= s2:
            i += 1
            continue
        elif e2 <= s1:
            j += 1
            continue
        else:  # unreachable for well-formed spans; aw-core skips both
            i += 1
            j += 1
            continue
        out.append(respan(ev, ip[0], ip[1], s1, e1))
        if e1 <= e2:
            i += 1
        else:
            j += 1
    return out


def period_union(events1: list[Event], events2: list[Event]) -> list[Event]:
    """Periods covered by either list, overlapping or touching periods joined, data cleared.

    Example::

        events1 |   -------       --------- |
        events2 | ------  ---  --    ----   |
        result  | -----------  -- --------- |
    """
    merged: list[list] = []  # [start, end, first event of the run]
    for s, e, ev in spans(list(events1) + list(events2)):
        if merged and not (merged[-1][1] < s or e < merged[-1][0]):
            last = merged[-1]
            if e > last[1]:
                last[1] = e
        else:
            merged.append([s, e, ev])
    # Runs are in start order, so a run starts where its first event does.
    return [Event(ev.timestamp, (e - s) / 1e6, {}, ev.id) for s, e, ev in merged]


def union_no_overlap(events1: list[Event], events2: list[Event]) -> list[Event]:
    """Both lists in time order, with the parts of `events2` overlapping `events1` removed.

    Example::

        events1 | xxx    xx     xxx     |
        events2 |  ----     ------   -- |
        result  | xxx--  xx ----xxx  -- |
    """
    # (start, end, event, original start, original end); b's pieces keep their origin.
    a = [(s, e, ev, s, e) for s, e, ev in spans(events1, sort=False)]
    b = [(s, e, ev, s, e) for s, e, ev in spans(events2, sort=False)]
    out = []
    i = j = 0
    cur = b[0] if b else None  # the current piece of b[j]; pieces replace it when cut
    while i < len(a) and j < len(b):
        s1, e1 = a[i][0], a[i][1]
        s2, e2 = cur[0], cur[1]
        if _overlaps(s1, e1, s2, e2):
            if s1 <= s2:
                out.append(a[i])
                i += 1
                if s2 < e1 < e2:  # b continues after a: keep the rest
                    cur = (e1,) + cur[1:]
                    continue
            elif s2 < s1 < e2:  # b starts first: keep its head, the rest is next
                out.append((s2, s1) + cur[2:])
                cur = (s1,) + cur[1:]
                continue
            else:
                out.append(cur)
        elif s1 <= s2:
            out.append(a[i])
            i += 1
            continue
        else:
            out.append(cur)
        j += 1
        cur = b[j] if j < len(b) else None
    out.extend(a[i:])
    if j < len(b):
        out.append(cur)
        out.extend(b[j + 1:])
    return [respan(ev, s, e, s0, e0) for s, e, ev, s0, e0 in out]
