"""flood: fill the small gaps between events, as ActivityWatch's aw_transform.flood does.

The rule, pair by pair over the events sorted by (timestamp, duration):
- no gap: nothing to do;
- overlap with equal data: the two merge into the first (the second becomes empty);
- overlap of more than 0.1 s with different data: left alone here (see the last step);
- a gap up to `pulsetime` (or an overlap under 0.1 s): with equal data the longer event
  swallows the other one and the gap; with different data both extend to the gap's
  midpoint (rounded half-to-even to the microsecond, as timedelta / 2 does).
Finally empty events are dropped and any overlap left is resolved: equal data merges, with
different data the later event wins, so no time is ever counted twice.
"""

from __future__ import annotations

from ..event import Event
from ._spans import respan, spans

# Overlaps smaller than this are treated like gaps (clock jitter between watchers).
_NEGATIVE_GAP_TRIM_US = 100_000


def flood(events: list[Event], pulsetime: float = 5) -> list[Event]:
    """Extend events over gaps of at most `pulsetime` seconds; see the module docstring."""
    pulse = round(pulsetime * 1_000_000)
    # [start, end, data, event, original start, original end]
    work = [[s, e, ev.data, ev, s, e] for s, e, ev in spans(events, sort=False)]
    work.sort(key=lambda x: (x[0], x[1] - x[0]))

    for a, b in zip(work, work[1:]):
        gap = b[0] - a[1]
        if gap == 0:
            continue
        if gap < 0 and a[2] == b[2]:
            start, end = min(a[0], b[0]), max(a[1], b[1])
            a[0], a[1] = start, end
            b[0] = b[1] = end
        elif -_NEGATIVE_GAP_TRIM_US < gap <= pulse:
            if a[2] != b[2]:
                half, odd = divmod(gap, 2)
                if odd and half & 1:  # round half to even
                    half += 1
                a[1] = b[0] = a[1] + half
            elif a[1] - a[0] >= b[1] - b[0]:
                a[1] = b[1]
                b[0] = b[1]
            else:
                b[0] = a[0]
                a[1] = a[0]

    # Pairwise flooding can stretch an event over one already handled: normalise.
    out: list[list] = []
    for span in work:
        if span[1] <= span[0]:
            continue
        while out and out[-1][1] > span[0]:
            prev = out[-1]
            if prev[2] == span[2]:
                prev[1] = max(prev[1], span[1])
                break
            prev[1] = span[0]
            if prev[1] <= prev[0]:
                out.pop()
                continue
            out.append(span)
            break
        else:
            out.append(span)
    return [respan(x[3], x[0], x[1], x[4], x[5]) for x in out]
