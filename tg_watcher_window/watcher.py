"""The watcher's loop: poll the active window and the idle time on their own intervals in
one thread, and hand heartbeats to the client, which batches and delivers them."""

from __future__ import annotations

import logging
import socket
import threading
import time
from datetime import datetime, timezone

from .afk import AfkTracker
from .window import Exclusions

log = logging.getLogger(__name__)

CLIENT_NAME = "tg-watcher-window"


class Watcher:
    """Window and AFK watching in one process; either source may be None."""

    def __init__(self, client, windows, idle, *, poll: float, afk_timeout: float,
                 afk_poll: float, exclusions: Exclusions | None = None,
                 hostname: str | None = None):
        hostname = hostname or socket.gethostname()
        self.client = client
        self.windows = windows
        self.idle = idle
        self.poll = poll
        self.afk_poll = afk_poll
        self.exclusions = exclusions or Exclusions()
        self.tracker = AfkTracker(afk_timeout, afk_poll)
        self.window_bucket = f"tg-watcher-window_{hostname}"
        self.afk_bucket = f"tg-watcher-afk_{hostname}"
        self._stop = threading.Event()
        if windows is not None:
            client.create_bucket(self.window_bucket, "currentwindow", hostname)
        if idle is not None:
            client.create_bucket(self.afk_bucket, "afkstatus", hostname)

    def stop(self) -> None:
        """Ask `run` to return (safe from a signal handler)."""
        self._stop.set()

    def run(self) -> None:
        """Poll until `stop()`; the client is flushed and closed by the caller."""
        tasks = []
        if self.windows is not None:
            tasks.append([self.poll, self.poll_window, 0.0])
        if self.idle is not None:
            tasks.append([self.afk_poll, self.poll_afk, 0.0])
        start = time.monotonic()
        for task in tasks:
            task[2] = start
        while tasks and not self._stop.is_set():
            now = time.monotonic()
            for task in tasks:
                interval, poll, due = task
                if now >= due:
                    poll()
                    # Keep the cadence, but never try to catch up after a stall or suspend.
                    task[2] = due + interval if due + interval > now else now + interval
            self._stop.wait(max(0.0, min(t[2] for t in tasks) - time.monotonic()))

    def poll_window(self) -> None:
        window = self.windows.active()
        if window is not None:
            window = self.exclusions.apply(window)
        if window is None:
            return
        self.client.heartbeat(self.window_bucket, {"app": window.app, "title": window.title},
                              pulsetime=self.poll + 1.0)

    def poll_afk(self) -> None:
        idle = self.idle.seconds()
        jumped, beats = self.tracker.poll(idle, datetime.now(timezone.utc), time.monotonic())
        if jumped:
            log.info("the clock jumped or the machine was suspended: starting new events")
            self.client.end_event(self.window_bucket)
            self.client.end_event(self.afk_bucket)
        for beat in beats:
            self.client.heartbeat(self.afk_bucket, {"status": beat.status},
                                  timestamp=beat.timestamp, duration=beat.duration,
                                  pulsetime=self.tracker.pulsetime)
