"""A real X desktop for the watcher tests and bench/watcher_bench.py: a fresh Xvfb with the
jwm window manager (which sets _NET_ACTIVE_WINDOW), test windows that set _NET_WM_PID
(xwindow.py), and xdotool for focus and input."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tgtest import wait_until

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.05, message: str = ""):
    """tgtest.wait_until with the longer deadline a desktop needs."""
    return wait_until(predicate, timeout, interval, message or str(predicate))


class XSession:
    """One Xvfb + jwm; `env` is os.environ with DISPLAY pointing at it."""

    def __init__(self, tmp: Path):
        for tool in ("Xvfb", "jwm", "xdotool", "xset"):
            if shutil.which(tool) is None:
                raise RuntimeError(f"{tool} is missing: apt-get install xvfb jwm xdotool "
                                   "x11-xserver-utils")
        read_fd, write_fd = os.pipe()
        self.xvfb = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x1024x24",
             "-nolisten", "tcp"], pass_fds=(write_fd,), stderr=subprocess.DEVNULL)
        os.close(write_fd)
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()
        if not number:
            raise RuntimeError("Xvfb did not report a display number")
        self.display = f":{number}"
        self.env = {**os.environ, "DISPLAY": self.display}
        for key in ("WAYLAND_DISPLAY", "XDG_SESSION_TYPE"):
            self.env.pop(key, None)
        home = tmp / "wm-home"
        home.mkdir()
        self.wm = subprocess.Popen(["jwm"], env={**self.env, "HOME": str(home)},
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        from Xlib import display

        self.x = display.Display(self.display)
        check = self.x.intern_atom("_NET_SUPPORTING_WM_CHECK")
        root = self.x.screen().root
        wait_for(lambda: root.get_full_property(check, 0), message="the window manager")
        # Xvfb blanks the screen after 10 idle minutes, which the watcher counts as locked.
        self.run("xset", "s", "off")

    def run(self, *argv: str) -> str:
        return subprocess.run(argv, env=self.env, check=True, capture_output=True,
                              text=True, timeout=30).stdout

    def active_window(self) -> int:
        atom = self.x.intern_atom("_NET_ACTIVE_WINDOW")
        prop = self.x.screen().root.get_full_property(atom, 0)
        return int(prop.value[0]) if prop is not None and len(prop.value) else 0

    def activate(self, wid: int) -> None:
        self.run("xdotool", "windowactivate", "--sync", str(wid))
        wait_for(lambda: self.active_window() == wid, message=f"window {wid} to be active")

    def key(self) -> None:
        """Some input, as a user would type it (resets the X idle time)."""
        self.run("xdotool", "key", "shift")

    def close(self) -> None:
        for proc in (self.wm, self.xvfb):
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class XWindow:
    """A python-xlib window owned by a process named `app` (see xwindow.py)."""

    def __init__(self, xsession: XSession, app: str, title: str):
        self.app = app
        self.title = title
        self.proc = subprocess.Popen([sys.executable, str(HERE / "xwindow.py"), app, title],
                                     env=xsession.env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.strip():
            raise RuntimeError(f"test window {app!r} did not start")
        self.wid = int(line)

    def set_title(self, title: str) -> None:
        self.proc.stdin.write(f"title {title}\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline().strip() == "ok"
        self.title = title

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


