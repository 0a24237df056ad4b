"""The watcher's loop: poll the active window and the idle time on their own intervals in
one thread, and hand heartbeats to the client, which batches and delivers them."""

from __future__ import annotations

import logging
import socket
import threading
import time
from datetime import datetime, timezone

from .afk import AfkTracker
from .settings import ServerSettings, Values
from .window import Exclusions

log = logging.getLogger(__name__)

CLIENT_NAME = "tg-watcher-window"


class Watcher:
    """Window and AFK watching in one process; either source may be None."""

    def __init__(self, client, windows, idle, *, poll: float, afk_timeout: float,
                 afk_poll: float, exclusions: Exclusions | None = None,
                 hostname: str | None = None, settings: ServerSettings | None = None,
                 settings_refresh: float = 60.0):
        hostname = hostname or socket.gethostname()
        self.client = client
        self.windows = windows
        self.idle = idle
        self.poll = poll
        self.afk_poll = afk_poll
        # config.toml's values; the server's settings override them while set and valid.
        self.config_timeout = afk_timeout
        self.config_exclusions = self.exclusions = exclusions or Exclusions()
        self.settings = settings
        self.settings_refresh = settings_refresh
        self._applied = Values()
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
        if self.settings is not None:
            self._apply_settings()  # the values cached by the last run
            fetched = threading.Event()
            threading.Thread(target=self._refresh_settings, args=(fetched,),
                             name="settings", daemon=True).start()
            # Normally the server answers at once: then even the first poll obeys it.
            fetched.wait(2.0)
        start = time.monotonic()
        for task in tasks:
            task[2] = start
        while tasks and not self._stop.is_set():
            if self.settings is not None and self.settings.values is not self._applied:
                self._apply_settings()
            now = time.monotonic()
            for task in tasks:
                interval, poll, due = task
                if now >= due:
                    poll()
                    # Keep the cadence, but never try to catch up after a stall or suspend.
                    task[2] = due + interval if due + interval > now else now + interval
            self._stop.wait(max(0.0, min(t[2] for t in tasks) - time.monotonic()))

    def _refresh_settings(self, fetched: threading.Event) -> None:
        while True:
            try:
                self.settings.refresh()
            except Exception:  # a bug here must not stop the refreshes, nor the watcher
                log.exception("cannot refresh the server settings")
            fetched.set()
            if self._stop.wait(self.settings_refresh):
                return

    def _apply_settings(self) -> None:
        """Use the server's current values (config.toml's where they are unset)."""
        values, old = self.settings.values, self._applied
        self._applied = values
        timeout = values.afk_timeout or self.config_timeout
        if timeout != self.tracker.timeout:
            self.tracker.set_timeout(timeout)
            source = "server setting afk_timeout" if values.afk_timeout else "config.toml"
            log.info("AFK after %g s (%s)", timeout, source)
        if values.exclusions != old.exclusions:
            self.exclusions = self.config_exclusions.with_windows(values.exclusions)
            log.info("excluding windows matching %d pattern(s) from server setting exclusions",
                     len(values.exclusions))

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
