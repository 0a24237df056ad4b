"""Test helpers shared across folders: a real tg-server subprocess, polling with a deadline.

A module with its own name (not conftest) so any test can import it whatever other
conftest.py files pytest has loaded."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.02, message: str = "condition"):
    """Poll `predicate` until it returns a truthy value (returned) or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def to_toml(sections: dict) -> str:
    """A tiny TOML writer for test configs: tables of strings, numbers, booleans and lists."""
    import json

    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        raise TypeError(v)

    lines = []
    for name, table in sections.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {value(v)}" for key, v in table.items()]
        lines.append("")
    return "\n".join(lines)


class ServerProcess:
    """A tg-server subprocess. Directories and port stay the same across restarts."""

    def __init__(self, root: Path, config: dict | None = None, testing: bool = False):
        self.root = root
        self.data_dir, self.config_dir, self.cache_dir = (root / "data", root / "config", root / "cache")
        root.mkdir(parents=True, exist_ok=True)
        if config:  # the server itself makes the directories private (tested)
            self.config_dir.mkdir(exist_ok=True)
            (self.config_dir / "config.toml").write_text(to_toml(config))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.testing = testing
        self.env = {**os.environ, "TG_DATA_DIR": str(self.data_dir),
                    "TG_CONFIG_DIR": str(self.config_dir), "TG_CACHE_DIR": str(self.cache_dir),
                    "PYTHONUNBUFFERED": "1"}
        self.proc: subprocess.Popen | None = None
        self.log_path = root / "server.log"

    @property
    def token(self) -> str:
        return (self.config_dir / "api_token").read_text().strip()

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    def start(self) -> "ServerProcess":
        args = [sys.executable, "-m", "tg_server", "--port", str(self.port)]
        if self.testing:
            args.append("--testing")
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, env=self.env, cwd=REPO, stdout=self._log,
                                     stderr=subprocess.STDOUT)
        wait_until(self._ready, START_TIMEOUT, message=f"tg-server on port {self.port}")
        return self

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"tg-server exited with {self.proc.returncode}:\n{self.log_text()}")
        try:
            return requests.get(f"{self.url}/api/0/health", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self._log.close()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc:
            self._log.close()

    def login_url(self) -> str:
        """A one-time dashboard URL (as `tg-server open --print` makes it)."""
        out = subprocess.run([sys.executable, "-m", "tg_server", "open", "--print", "--port",
                              str(self.port)], env=self.env, cwd=REPO, capture_output=True,
                             text=True, timeout=30, check=True)
        return out.stdout.strip().splitlines()[-1]

    # Small conveniences for API tests
    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.url}/api/0/{path.lstrip('/')}", headers=headers,
                                timeout=kwargs.pop("timeout", 30), **kwargs)
