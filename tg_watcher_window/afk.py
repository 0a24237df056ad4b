"""AFK: seconds since the last keyboard or mouse input, and the afk / not-afk state machine.

Idle time comes from the OS where it offers it (X11's MIT-SCREEN-SAVER extension, Windows'
GetLastInputInfo, macOS' CoreGraphics), else from a pynput listener that notes the time of
every input event.
"""

from __future__ import annotations

import ctypes
import logging
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

log = logging.getLogger(__name__)

AFK = "afk"
NOT_AFK = "not-afk"
# The new state's event starts 1 ms after the old one ends, so the server's "latest event"
# is never ambiguous between two events with the same timestamp.
_STEP = timedelta(milliseconds=1)
# Wall time and monotonic time disagreeing by more than this between two polls is a clock
# change or a suspend (Linux's monotonic clock stops during suspend).
JUMP_TOLERANCE = 5.0
# A poll this late is a suspend on platforms whose monotonic clock runs during it.
LATE_TOLERANCE = 30.0


class X11Idle:
    def __init__(self, display):
        if not display.has_extension("MIT-SCREEN-SAVER"):
            raise RuntimeError("the X server has no MIT-SCREEN-SAVER extension")
        self._root = display.screen().root
        self.seconds()  # fail now rather than at the first poll

    def seconds(self) -> float:
        return self._root.screensaver_query_info().idle / 1000.0


class WindowsIdle:
    def __init__(self):
        class LASTINPUTINFO(ctypes.Structure):
            _fields_ = [("cbSize", ctypes.c_uint), ("dwTime", ctypes.c_uint)]

        self._info = LASTINPUTINFO(ctypes.sizeof(LASTINPUTINFO), 0)
        self._user32 = ctypes.windll.user32
        self._kernel32 = ctypes.windll.kernel32
        self.seconds()

    def seconds(self) -> float:
        if not self._user32.GetLastInputInfo(ctypes.byref(self._info)):
            raise OSError("GetLastInputInfo failed")
        # Both are 32-bit millisecond tick counts that wrap after 49.7 days.
        return ((self._kernel32.GetTickCount() - self._info.dwTime) & 0xFFFFFFFF) / 1000.0


class MacIdle:
    def __init__(self):
        cg = ctypes.cdll.LoadLibrary(
            "/System/Library/Frameworks/CoreGraphics.framework/CoreGraphics")
        self._fn = cg.CGEventSourceSecondsSinceLastEventType
        self._fn.restype = ctypes.c_double
        self._fn.argtypes = [ctypes.c_int32, ctypes.c_uint32]
        self.seconds()

    def seconds(self) -> float:
        # kCGEventSourceStateHIDSystemState, kCGAnyInputEventType
        return float(self._fn(1, 0xFFFFFFFF))


class PynputIdle:
    """Notes the monotonic time of every keyboard and mouse event (pynput listeners)."""

    def __init__(self):
        from pynput import keyboard, mouse  # heavy, and fails without a desktop

        self._last = time.monotonic()

        def touch(*_args):
            self._last = time.monotonic()

        self._listeners = [mouse.Listener(on_move=touch, on_click=touch, on_scroll=touch),
                           keyboard.Listener(on_press=touch, on_release=touch)]
        for listener in self._listeners:
            listener.daemon = True
            listener.start()
        for listener in self._listeners:
            listener.wait()

    def seconds(self) -> float:
        return max(0.0, time.monotonic() - self._last)


def open_idle_source(x_display, preferred: str = "auto"):
    """The best idle source: "auto" tries the OS's own, then pynput; "os" or "pynput" force
    one. Returns None (after saying why) when none works."""
    candidates = []
    if preferred in ("auto", "os"):
        if sys.platform == "win32":
            candidates.append(("GetLastInputInfo", WindowsIdle))
        elif sys.platform == "darwin":
            candidates.append(("CoreGraphics", MacIdle))
        elif x_display is not None:
            candidates.append(("X11 screen saver extension", lambda: X11Idle(x_display)))
    if preferred in ("auto", "pynput"):
        candidates.append(("pynput listener", PynputIdle))
    for name, factory in candidates:
        try:
            source = factory()
        except (Exception, SystemExit) as exc:
            log.warning("idle time from %s is not available: %s", name, exc)
            continue
        log.info("idle time from the %s", name)
        return source
    log.error("no way to read idle time here: AFK status cannot be recorded")
    return None


@dataclass(frozen=True)
class Beat:
    """One afkstatus heartbeat to send."""

    status: str
    timestamp: datetime
    duration: float = 0.0


class AfkTracker:
    """Turns idle-time samples into afkstatus heartbeats.

    Not-AFK heartbeats are stamped with the last input time, AFK ones span from the state's
    start to now, and the pulsetime (timeout + poll) joins them into one event per state. On a
    state change the old state ends at the last input time and the new one starts there. After
    a clock jump or a suspend, `poll` reports `jumped` and the tracker starts afresh at the
    current time, so no event stretches over the jump or gets a negative duration.
    """

    def __init__(self, timeout: float, poll: float):
        self.timeout = timeout
        self.poll_seconds = poll
        self.pulsetime = timeout + poll
        self.status: str | None = None
        self.start: datetime | None = None
        self._end: datetime | None = None  # the end of the latest heartbeat sent
        self._clock: tuple[datetime, float] | None = None

    def set_timeout(self, timeout: float) -> None:
        """Use `timeout` from the next poll on."""
        self.timeout = timeout
        self.pulsetime = timeout + self.poll_seconds

    def poll(self, idle: float, now: datetime, mono: float) -> tuple[bool, list[Beat]]:
        """Feed one sample (idle seconds, wall time, monotonic time); returns
        (jumped, heartbeats to send in order)."""
        jumped = self._jumped(now, mono)
        idle = max(0.0, idle)
        last_input = now - timedelta(seconds=idle)
        status = AFK if idle >= self.timeout else NOT_AFK
        beats = []
        if self.status is None or jumped:
            self.start = self._end = now
        elif status != self.status:
            beats.append(self._beat(self.status, last_input))
            # Past the old state's end: after a longer timeout the last input may lie inside
            # an AFK event that was already sent.
            self.start = max(last_input, self._end) + _STEP
        self.status = status
        beats.append(self._beat(status, now if status == AFK else last_input))
        return jumped, beats

    def _beat(self, status: str, until: datetime) -> Beat:
        if status == AFK:
            beat = Beat(AFK, self.start, max(0.0, (until - self.start).total_seconds()))
        else:
            beat = Beat(NOT_AFK, max(until, self.start))
        self._end = max(self._end, beat.timestamp + timedelta(seconds=beat.duration))
        return beat

    def _jumped(self, now: datetime, mono: float) -> bool:
        previous, self._clock = self._clock, (now, mono)
        if previous is None:
            return False
        wall = (now - previous[0]).total_seconds()
        elapsed = mono - previous[1]
        return abs(wall - elapsed) > JUMP_TOLERANCE or elapsed > self.poll_seconds + LATE_TOLERANCE
