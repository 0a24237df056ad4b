"""Profile a server process with py-spy while one benchmark phase runs, and summarize hotspots.

py-spy must be installed in the running venv (`pip install py-spy`); it samples the server from
outside (non-blocking), so the server's code is untouched, though figures measured under the
profiler are not the ones to report.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path


IDLE = ("select", "poll (", "wait (", "_worker (concurrent/futures", "acquire (")


def executable() -> str | None:
    """py-spy next to this Python, or on PATH."""
    here = Path(sys.executable).parent / "py-spy"
    return str(here) if here.exists() else shutil.which("py-spy")


@contextlib.contextmanager
def record(pid: int, out: Path, rate: int = 250):
    """Sample `pid` into `out` (collapsed stacks, one "frame;frame;... count" per line)."""
    log_path = out.with_suffix(".log")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([executable(), "record", "--pid", str(pid), "--format", "raw",
                                 "--rate", str(rate), "--nonblocking", "--function", "-o", str(out)],
                                stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while b"Sampling" not in log_path.read_bytes():  # attached: the phase may start
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"py-spy did not start: {log_path.read_text(errors='replace')[-500:]}")
        time.sleep(0.05)
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)  # py-spy writes its output on Ctrl-C
        proc.wait(60)


def hotspots(path: Path, focus: tuple[str, ...] = (), top: int = 12, skip_idle: bool = True) -> str:
    """The functions with the most samples on-CPU: own time (leaf), and total time (inclusive)
    of the functions whose location contains one of `focus` (the project's own packages)."""
    own, total, samples = Counter(), Counter(), 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        # A thread waiting in select/epoll, on a lock or for work is idle, not a hotspot.
        if skip_idle and any(word in frames[-1] for word in IDLE):
            continue
        samples += int(count)
        own[_short(frames[-1])] += int(count)
        for frame in {_short(f) for f in frames}:
            total[frame] += int(count)
    if not samples:
        return "  (no busy samples)"
    lines = [f"  {samples} busy samples; own time:"]
    lines += [f"    {100 * n / samples:5.1f}%  {frame}" for frame, n in own.most_common(top)]
    lines.append(f"  total (inclusive) time in {', '.join(focus) or 'any code'}:")
    lines += [f"    {100 * n / samples:5.1f}%  {frame}" for frame, n in total.most_common()
              if any(f in frame for f in focus)][:top]
    return "\n".join(lines)


def _short(frame: str) -> str:
    """'func (path/to/site-packages/pkg/mod.py:12)' -> 'func (pkg/mod.py:12)'."""
    name, _, where = frame.partition(" (")
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in where:
            where = where.split(marker, 1)[1]
    return f"{name} ({where}" if where else name
