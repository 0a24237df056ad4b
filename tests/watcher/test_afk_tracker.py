"""The AFK state machine on its own: boundaries at the last input, and clock jumps or suspends
that never produce a negative or huge duration. Its heartbeats are merged with the server's
own rule to see the events a server would store."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tg_core.event import Event
from tg_core.heartbeat import heartbeat_merge
from tg_watcher_window.afk import AFK, NOT_AFK, AfkTracker

T0 = datetime(2024, 6, 1, 8, 0, tzinfo=timezone.utc)
MS = timedelta(milliseconds=1)


class Run:
    """Feeds samples to a tracker (timeout 10 s, poll 1 s) and stores its heartbeats the way
    the server does: merged into the latest event by the shared rule, else inserted."""

    def __init__(self):
        self.tracker = AfkTracker(timeout=10, poll=1)
        self.events: list[Event] = []
        self.jumps = 0

    def sample(self, wall: float, idle: float, mono: float | None = None) -> None:
        jumped, beats = self.tracker.poll(idle, at(wall), wall if mono is None else mono)
        self.jumps += jumped
        for beat in beats:
            hb = Event(beat.timestamp, beat.duration, {"status": beat.status})
            latest = max(self.events, key=lambda e: e.timestamp, default=None)
            merged = heartbeat_merge(latest, hb, self.tracker.pulsetime)
            if merged:
                latest.duration = merged.duration
            else:
                self.events.append(hb)

    def stored(self) -> list[tuple]:
        return [(e.data["status"], e.timestamp, e.end)
                for e in sorted(self.events, key=lambda e: e.timestamp)]


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_state_changes_happen_at_the_last_input():
    run = Run()
    inputs = [0.0, 0.5, 3.2, 30.4]
    for second in range(0, 41):
        run.sample(second, second - max(t for t in inputs if t <= second))
    assert run.stored() == [
        (NOT_AFK, at(0), at(3.2)),
        (AFK, at(3.2) + MS, at(30.4)),
        (NOT_AFK, at(30.4) + MS, at(30.4) + MS),
    ]
    assert run.jumps == 0


def test_afk_event_grows_while_away():
    run = Run()
    run.sample(0, 0)
    for second in range(1, 60):
        run.sample(second, second)
    status, start, end = run.stored()[-1]
    assert (status, start, end) == (AFK, at(0) + MS, at(59))


def test_suspend_ends_events_and_starts_afresh_without_a_huge_duration():
    run = Run()
    for second in range(0, 20):
        run.sample(second, second)  # away since 0 s: AFK from 0 s
    # Suspended for an hour: wall time jumps, Linux's monotonic clock does not.
    run.sample(3620, 20.5, mono=20)
    run.sample(3621, 0.2, mono=21)  # the user is back
    assert run.jumps == 1
    stored = run.stored()
    # Nothing spans the suspended hour; afterwards events start when the watcher noticed.
    assert stored == [(NOT_AFK, at(0), at(0)), (AFK, at(0) + MS, at(19)),
                      (AFK, at(3620), at(3620.8)), (NOT_AFK, at(3620.8) + MS, at(3620.8) + MS)]


def test_late_poll_counts_as_suspend_where_monotonic_time_runs_during_it():
    run = Run()
    run.sample(0, 0)
    run.sample(1, 1)
    run.sample(600, 2, mono=600)  # both clocks moved 10 minutes: a suspend (or a stall)
    assert run.jumps == 1
    assert run.stored()[-1][1] == at(600)


def test_clock_set_back_gives_no_negative_duration():
    run = Run()
    for second in range(0, 15):
        run.sample(second, second)  # AFK from 10 s on
    run.sample(-3600 + 15, 15, mono=15)  # the clock was set back an hour
    run.sample(-3600 + 16, 16, mono=16)
    assert run.jumps == 1
    stored = run.stored()
    assert all(timedelta(0) <= end - start < timedelta(seconds=60) for _, start, end in stored)
    assert (AFK, at(-3600 + 15), at(-3600 + 16)) in stored


def test_tiny_idle_jitter_does_not_split_events():
    run = Run()
    # The last input stays at 0 s, but each sample rounds a little differently.
    for second, idle in [(1, 1.0004), (2, 1.9993), (3, 3.0008), (4, 3.9991)]:
        run.sample(second, idle)
    assert [status for status, _, _ in run.stored()] == [NOT_AFK]


def test_a_shorter_timeout_applies_from_the_next_poll_at_the_last_input():
    run = Run()
    run.tracker.set_timeout(60)
    for second in range(0, 21):
        run.sample(second, second)  # no input since 0 s: not AFK yet with 60 s
    run.tracker.set_timeout(10)
    run.sample(21, 21)
    assert run.stored() == [(NOT_AFK, at(0), at(0)), (AFK, at(0) + MS, at(21))]
    assert run.tracker.pulsetime == 11


def test_a_longer_timeout_while_afk_ends_the_afk_event_without_overlap():
    run = Run()
    for second in range(0, 30):
        run.sample(second, second)  # AFK from 0 s (10 s timeout)
    run.tracker.set_timeout(60)
    run.sample(30, 30)  # idle 30 s is not AFK any more
    run.sample(31, 31)
    run.sample(41, 1)  # input at 40 s
    assert run.stored() == [(NOT_AFK, at(0), at(0)), (AFK, at(0) + MS, at(29)),
                            (NOT_AFK, at(29) + MS, at(40))]
