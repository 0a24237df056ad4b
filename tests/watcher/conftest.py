"""Fixtures for the watcher tests: one real X desktop per session (see xdesktop.py)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from xdesktop import REPO, XSession, XWindow


@pytest.fixture(scope="session")
def xsession(tmp_path_factory):
    session = XSession(tmp_path_factory.mktemp("x"))
    yield session
    session.close()


@pytest.fixture
def open_window(xsession):
    """`open_window(app, title)` -> XWindow, closed at the end of the test."""
    windows: list[XWindow] = []

    def factory(app: str, title: str) -> XWindow:
        window = XWindow(xsession, app, title)
        windows.append(window)
        return window

    yield factory
    for window in windows:
        window.close()


class WatcherProcess:
    """`python -m tg_watcher_window` against `server` on the test display, logging to a file."""

    def __init__(self, server, xsession: XSession, args: list[str], env: dict | None = None):
        self.log_path = server.root / f"watcher-{time.monotonic_ns()}.log"
        self.env = {**server.env, "DISPLAY": xsession.display, **(env or {})}
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tg_watcher_window", "--port", str(server.port), *args],
                env=self.env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


@pytest.fixture
def start_watcher(xsession):
    """`start_watcher(server, *args, env=None)` -> a running WatcherProcess, stopped after
    the test (which fails if any watcher logged a traceback)."""
    watchers: list[WatcherProcess] = []

    def factory(server, *args: str, env: dict | None = None) -> WatcherProcess:
        watcher = WatcherProcess(server, xsession, list(args), env)
        watchers.append(watcher)
        return watcher

    yield factory
    for watcher in watchers:
        watcher.stop()
    for watcher in watchers:
        assert "Traceback" not in watcher.log(), watcher.log()
