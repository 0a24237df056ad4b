"""The active window: which application and which title.

On X11 the window manager's EWMH properties are read directly with python-xlib
(_NET_ACTIVE_WINDOW, _NET_WM_NAME, _NET_WM_PID): two round trips per poll, measured far
cheaper in CPU and memory than pywinctl (see bench/RESULTS.md). pywinctl stays the portable
path for Windows and macOS. Either way the app name is the process name psutil reports for
the window's pid, because pywinctl's own getAppName() spawns `ps` on every call.

Every source returns None when there is no active window (an empty desktop, a window that
closed between two requests) or when the screen saver / lock screen is on: such time is not
activity, and none of it is an error.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from dataclasses import dataclass

import psutil

log = logging.getLogger(__name__)

EXCLUDED_TITLE = "excluded"


@dataclass(frozen=True)
class Window:
    app: str
    title: str


def process_name(pid: int | None) -> str | None:
    """The executable's name for `pid` (e.g. "firefox-esr"), or None when it is gone."""
    if not pid:
        return None
    try:
        return psutil.Process(pid).name() or None
    except (psutil.Error, OSError):
        return None


class X11Windows:
    """Reads the active window from an X11 window manager (EWMH)."""

    # A few dozen windows at most are in use at once; the bound only guards against growth.
    _CACHE_SIZE = 256

    def __init__(self, display):
        from Xlib import X, error

        self._any = X.AnyPropertyType
        self._errors = (error.XError,)
        self.display = display
        self.root = display.screen().root
        atom = display.intern_atom
        self._active = atom("_NET_ACTIVE_WINDOW")
        self._net_name = atom("_NET_WM_NAME")
        self._utf8 = atom("UTF8_STRING")
        self._pid = atom("_NET_WM_PID")
        self._wm_name = atom("WM_NAME")
        self._wm_class = atom("WM_CLASS")
        self._saver = display.has_extension("MIT-SCREEN-SAVER")
        # (window id, pid) -> app. Both parts: X reuses window ids once a client disconnects.
        self._apps: dict[tuple[int, int], str] = {}

    def active(self) -> Window | None:
        """The focused window, or None (no window, a vanished window, screen saver on)."""
        try:
            if self._saver and self.root.screensaver_query_info().state == 1:  # ScreenSaverOn
                return None
            prop = self.root.get_full_property(self._active, self._any)
            wid = int(prop.value[0]) if prop is not None and len(prop.value) else 0
            if not wid:
                return None
            window = self.display.create_resource_object("window", wid)
            title = self._title(window)
            prop = window.get_full_property(self._pid, self._any)
            key = (wid, int(prop.value[0]) if prop is not None and len(prop.value) else 0)
            app = self._apps.get(key)
            if app is None:
                app = process_name(key[1]) or self._wm_class(window)
                if len(self._apps) >= self._CACHE_SIZE:
                    self._apps.clear()
                self._apps[key] = app
            return Window(app, title)
        except self._errors:  # the window closed between two requests
            return None

    def _title(self, window) -> str:
        prop = window.get_full_property(self._net_name, self._utf8)
        if prop is None or not prop.value:
            prop = window.get_full_property(self._wm_name, self._any)
        return _text(prop.value) if prop is not None else ""

    def _wm_class(self, window) -> str:
        # No pid (a remote client, or a toolkit that does not set it): the WM_CLASS class.
        prop = window.get_full_property(self._wm_class, self._any)
        parts = _text(prop.value).split("\0") if prop is not None else []
        parts = [p for p in parts if p]
        return parts[-1] if parts else "unknown"


class PyWinCtlWindows:
    """The portable path (Windows, macOS): pywinctl for the window, psutil for the app."""

    def __init__(self, pywinctl):
        self._pywinctl = pywinctl

    def active(self) -> Window | None:
        try:
            window = self._pywinctl.getActiveWindow()
            if window is None:
                return None
            title = window.title or ""
            app = process_name(window.getPID()) or window.getAppName() or "unknown"
            return Window(app, title)
        except Exception:  # the window vanished; pywinctl raises platform-specific errors
            return None


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def is_wayland() -> bool:
    """Whether this is a Wayland session, where no application may see other windows."""
    return (bool(os.environ.get("WAYLAND_DISPLAY"))
            or os.environ.get("XDG_SESSION_TYPE") == "wayland")


def open_x_display():
    """An Xlib display connection, or None (no DISPLAY, no X server, python-xlib missing)."""
    if sys.platform != "linux" or not os.environ.get("DISPLAY"):
        return None
    try:
        from Xlib import display

        return display.Display()
    except (Exception, SystemExit) as exc:
        log.warning("cannot open the X display %s: %s", os.environ.get("DISPLAY"), exc)
        return None


def open_window_source(x_display, backend: str = "auto"):
    """The best window source for this platform, or None (saying why, once).

    `backend` ([watcher-window] backend) may force "pywinctl" on X11 as well.
    """
    if is_wayland():
        log.warning("Wayland session: window titles cannot be recorded (Wayland does not let "
                    "applications see other windows); only AFK status is tracked")
        return None
    if x_display is not None and backend != "pywinctl":
        return X11Windows(x_display)
    if sys.platform == "linux" and x_display is None:
        log.warning("no X display (DISPLAY is not set or unreachable): window titles cannot "
                    "be recorded; only AFK status is tracked")
        return None
    try:
        import pywinctl  # heavy, and raises or exits when it cannot reach a desktop

        return PyWinCtlWindows(pywinctl)
    except (Exception, SystemExit) as exc:
        log.warning("cannot watch windows (pywinctl: %s); only AFK status is tracked", exc)
        return None


class Exclusions:
    """User regexes (case-insensitive, matched anywhere): apps that are not recorded at all,
    titles that are recorded as "excluded" (both from config.toml), and windows whose app or
    title matches `windows` (the dashboard's `exclusions` setting) that are not recorded at
    all. Applied before anything leaves the process."""

    def __init__(self, apps: list[str] = (), titles: list[str] = (),
                 windows: list[re.Pattern] = ()):
        self.apps = [compile_pattern(p, "[watcher-window] exclude_apps") for p in apps]
        self.titles = [compile_pattern(p, "[watcher-window] exclude_titles") for p in titles]
        self.windows = list(windows)

    def with_windows(self, windows: list[re.Pattern]) -> "Exclusions":
        """These exclusions with `windows` instead of the current window patterns."""
        copy = Exclusions()
        copy.apps, copy.titles, copy.windows = self.apps, self.titles, list(windows)
        return copy

    def apply(self, window: Window) -> Window | None:
        if any(p.search(window.app) for p in self.apps):
            return None
        if any(p.search(window.app) or p.search(window.title) for p in self.windows):
            return None
        if any(p.search(window.title) for p in self.titles):
            return Window(window.app, EXCLUDED_TITLE)
        return window


def compile_pattern(pattern, where: str) -> re.Pattern:
    """A user's exclusion regex, case-insensitive; ValueError says which one and why."""
    if not isinstance(pattern, str):
        raise ValueError(f"{where}: expected regex strings, got {pattern!r}")
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"{where}: invalid regex {pattern!r}: {exc}") from None
