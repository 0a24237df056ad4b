"""Server benchmark: tg-server against ActivityWatch's aw-server 0.12.0, same workload, same client.

    python -m bench.server_bench [--quick] [--big] [--only tg|aw]

Both servers run as children of this process, each in fresh temp dirs, and get the same
requests through one lean keep-alive connection each (bench.lean_http), with bodies encoded
before the clock starts, so the client is not what is timed. Each figure's work is cut into
steps run on one server and then the other, so other load on the machine falls on both alike.

Figures: (a) sequential heartbeats/s, (b) bulk-inserted events/s, (c) median ms of a one-day
query2 summary merged by app, (d) the same over all days, (e) database bytes per event. Every
query answer is checked against totals computed here from the generated events: a speed figure
for a wrong answer is reported as WRONG. --big adds a tg-server-only run with 1,000,000 events.

Targets are ratios between the two servers in the same run; they are reported, never asserted.
The exit status is 1 only when a server gave a wrong answer or failed.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psutil

from bench import aw_reference, pyspy
from bench.lean_http import Client

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "bench" / ".work"  # gitignored: logs and the last figures of each server
WINDOW_BUCKET = "bench-window"
HEARTBEAT_BUCKET = "bench-hb"  # no substring of WINDOW_BUCKET: find_bucket matches substrings
START = datetime(2024, 3, 4, tzinfo=timezone.utc)  # a Monday; events stay inside UTC days
SEED = 20240304


@dataclass(frozen=True)
class Sizes:
    heartbeats: int
    days: int
    events_per_day: int
    batch: int
    day_runs: int  # (c) repetitions
    all_runs: int  # (d) repetitions


FULL = Sizes(heartbeats=3000, days=50, events_per_day=2000, batch=1000, day_runs=10, all_runs=5)
QUICK = Sizes(heartbeats=300, days=5, events_per_day=2000, batch=1000, day_runs=3, all_runs=3)
BIG = Sizes(heartbeats=0, days=365, events_per_day=2740, batch=5000, day_runs=20, all_runs=5)


# --- workload -------------------------------------------------------------------------------

APPS = ["firefox", "chromium", "code", "gnome-terminal-server", "slack", "thunderbird", "evince",
        "nautilus", "libreoffice-writer", "libreoffice-calc", "gimp", "inkscape", "zoom",
        "spotify", "obsidian", "pycharm", "dbeaver", "postman", "keepassxc", "signal-desktop",
        "telegram-desktop", "discord", "vlc", "eog", "gedit", "kate", "konsole", "dolphin",
        "okular", "krita", "blender", "audacity", "obs", "virt-manager", "wireshark",
        "filezilla", "transmission-gtk", "calibre", "anki", "steam"]
WORDS = ("report budget meeting notes inbox draft review release planning sprint backlog "
         "invoice design sketch chapter thesis slides roadmap bugfix refactor tests metrics "
         "dashboard vacation recipe weather music podcast tutorial docs manual issue pull "
         "request deploy server client query index cache schema migration 2024 Q1 Q2 café "
         "Zürich naïve résumé").split()


def _vocabulary(rng: random.Random) -> tuple[list[str], list[float], dict[str, list[str]]]:
    """40 apps with Zipf-like weights, each with its own titles (about 500 distinct in all)."""
    weights = [1 / (rank + 1) ** 1.1 for rank in range(len(APPS))]
    titles = {}
    for rank, app in enumerate(APPS):
        count = max(2, 120 // (rank + 1))
        made: set[str] = set()
        while len(made) < count:
            made.add(" ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 5))) + f" — {app}")
        titles[app] = sorted(made)
    return APPS, weights, titles


class Workload:
    """Seeded window events, day by day, with the per-day per-app totals a summary must give."""

    def __init__(self, days: int, per_day: int, seed: int = SEED):
        self.days, self.per_day, self.seed = days, per_day, seed
        self.totals: list[Counter] = []  # per day: app -> milliseconds

    def batches(self, size: int) -> list[bytes]:
        """All events as JSON request bodies of `size` events each (encoded before timing)."""
        rng = random.Random(self.seed)
        apps, weights, titles = _vocabulary(rng)
        bodies, batch = [], []
        self.totals = []
        cum_weights = list(itertools.accumulate(weights))
        for day in range(self.days):
            totals: Counter = Counter()  # integer milliseconds: exact, whatever the order
            t = START + timedelta(days=day, hours=6, seconds=rng.uniform(0, 3600))
            for app in rng.choices(apps, cum_weights=cum_weights, k=self.per_day):
                title_list = titles[app]
                title = title_list[min(int(rng.expovariate(4 / len(title_list))), len(title_list) - 1)]
                ms = int(min(max(rng.expovariate(1 / 12), 0.2), 900) * 1000)
                batch.append({"timestamp": t.isoformat(timespec="milliseconds"), "duration": ms / 1000,
                              "data": {"app": app, "title": title}})
                totals[app] += ms
                t += timedelta(milliseconds=ms + (int(rng.expovariate(1 / 30000)) if rng.random() < 0.1 else 0))
                if len(batch) == size:
                    bodies.append(json.dumps(batch).encode())
                    batch = []
            if t >= START + timedelta(days=day + 1):
                raise AssertionError("generated events cross a UTC day boundary")
            self.totals.append(totals)
        if batch:
            bodies.append(json.dumps(batch).encode())
        return bodies

    @property
    def count(self) -> int:
        return self.days * self.per_day


def heartbeat_bodies(count: int) -> list[bytes]:
    """Heartbeats one second apart whose data changes every 10: count/10 events of 9 s each."""
    base = START - timedelta(days=1)
    return [json.dumps({"timestamp": (base + timedelta(seconds=i)).isoformat(), "duration": 0,
                        "data": {"app": APPS[(i // 10) % 7], "title": f"heartbeat {i // 10}"}}).encode()
            for i in range(count)]


def summary_query(first_day: int, days: int) -> bytes:
    start = START + timedelta(days=first_day)
    period = f"{start.isoformat()}/{(start + timedelta(days=days)).isoformat()}"
    return json.dumps({"timeperiods": [period], "query": [
        f'events = query_bucket(find_bucket("{WINDOW_BUCKET}"));',
        'events = merge_events_by_keys(events, ["app"]);',
        "events = sort_by_duration(events);",
        "RETURN = events;",
    ]}).encode()


def check_summary(result, expected: Counter) -> str | None:
    """None when the answer has exactly the expected apps, totals and order; else what is wrong."""
    try:
        events = result[0]
        got = {e["data"]["app"]: float(e["duration"]) for e in events}
        durations = [float(e["duration"]) for e in events]
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        return f"unexpected answer shape ({exc!r}): {str(result)[:200]}"
    if len(got) != len(events) or set(got) != set(expected):
        return f"apps differ: missing {sorted(set(expected) - set(got))}, extra {sorted(set(got) - set(expected))}"
    for app, ms in expected.items():
        # Durations are whole milliseconds; 0.01 s leaves room for float sums in any order.
        if abs(got[app] - ms / 1000) > 0.01:
            return f"{app}: {got[app]} s, expected {ms / 1000:.3f} s"
    if durations != sorted(durations, reverse=True):
        return "not sorted by duration"
    return None


# --- HTTP -----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _poll_info(port: int, headers: dict[str, str]) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/api/0/info", headers=headers)
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


# --- servers --------------------------------------------------------------------------------

class Server:
    """A server child process in its own temp dir; subclasses say how to start and find it."""

    label = ""

    def __init__(self, run: str = "main"):
        self.root = Path(tempfile.mkdtemp(prefix=f"bench-{self.label}-"))
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        WORK.mkdir(parents=True, exist_ok=True)
        self.log_path = WORK / f"{self.label}-server-{run}.log"

    def popen(self, log) -> subprocess.Popen:
        raise NotImplementedError

    def headers(self) -> dict[str, str]:
        return {}

    def data_root(self) -> Path:
        raise NotImplementedError

    def start(self, timeout: float = 120) -> "Server":
        with open(self.log_path, "wb") as log:
            self.proc = self.popen(log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.label} exited with {self.proc.returncode}; see {self.log_path}")
            headers = self.headers()
            if headers is not None and _poll_info(self.port, headers):
                return self
            time.sleep(0.1)
        raise RuntimeError(f"{self.label} did not answer /api/0/info in {timeout} s; see {self.log_path}")

    def rss_mb(self) -> float:
        return psutil.Process(self.proc.pid).memory_info().rss / 2**20

    def stop(self):
        """Ask politely (SIGINT, then SIGTERM) so the database is closed cleanly; kill last."""
        if self.proc is None or self.proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGINT, 20), (signal.SIGTERM, 10)):
            self.proc.send_signal(sig)
            try:
                self.proc.wait(wait)
                return
            except subprocess.TimeoutExpired:
                pass
        self.proc.kill()
        self.proc.wait()

    def database_bytes(self) -> tuple[int, list[str]]:
        """Size of the SQLite file(s) plus any -wal, after a checkpoint (server stopped)."""
        files = [p for p in self.data_root().rglob("*") if p.is_file()
                 and (".db" in p.name or ".sqlite" in p.name)
                 and not p.name.endswith(("-shm", "-journal"))]
        for path in files:
            if not path.name.endswith("-wal"):
                with sqlite3.connect(path) as db:
                    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                db.close()
        files = [p for p in files if p.exists()]
        return sum(p.stat().st_size for p in files), [str(p.relative_to(self.root)) for p in files]

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class AwServer(Server):
    label = "aw"

    def popen(self, log):
        return aw_reference.start(self.port, self.root, log)

    def data_root(self) -> Path:
        return self.root / "data" / "activitywatch"


class TgServer(Server):
    label = "tg"

    def popen(self, log):
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        for kind in ("data", "config", "cache"):
            env[f"TG_{kind.upper()}_DIR"] = str(self.root / kind)
        script = Path(sys.executable).parent / "tg-server"
        command = [str(script)] if script.exists() else [sys.executable, "-m", "tg_server"]
        return subprocess.Popen(command + ["--port", str(self.port)], env=env, cwd=REPO,
                                stdout=log, stderr=subprocess.STDOUT)

    def headers(self):
        from tg_core.config import read_token

        token = read_token(self.root / "config")
        return {"Authorization": f"Bearer {token}"} if token else None

    def data_root(self) -> Path:
        return self.root / "data"


def tg_available() -> bool:
    return (Path(sys.executable).parent / "tg-server").exists() or (REPO / "tg_server" / "__main__.py").exists()


# --- measurements ---------------------------------------------------------------------------

def create_bucket(client: Client, bucket: str):
    body = json.dumps({"type": "currentwindow", "client": "bench", "hostname": "bench"}).encode()
    client.request("POST", f"/api/0/buckets/{bucket}", body, ok=(200, 201, 304))


def _chunks(items: list, parts: int) -> list[list]:
    size = -(-len(items) // parts)
    return [items[i:i + size] for i in range(0, len(items), size)]


def _timed_posts(client: Client, method: str, path: str, bodies: list) -> tuple[float, None]:
    began = time.perf_counter()
    for body in bodies:
        client.request(method, path, body)
    return time.perf_counter() - began, None


def _timed_summary(client: Client, body: bytes, expected: Counter) -> tuple[float, str | None]:
    began = time.perf_counter()
    result = client.request("POST", "/api/0/query/", body)
    return time.perf_counter() - began, check_summary(result, expected)


def _check_heartbeats(client: Client, count: int) -> str | None:
    """None when `count` heartbeats merged into count/10 events of 9 s each, as they should."""
    events = client.request("GET", f"/api/0/buckets/{HEARTBEAT_BUCKET}/events?limit={count + 10}")
    total, expected = sum(float(e["duration"]) for e in events), count // 10
    if len(events) != expected or abs(total - 9 * expected) > 0.01:
        return f"heartbeats merged into {len(events)} events / {total} s, expected {expected} / {9 * expected} s"
    return None


@dataclass
class Phase:
    """One figure: steps run in turn on each server (so both see the same load), then a
    function from the steps' (seconds, wrong) results to (figure, wrong)."""

    text: str
    steps: list
    result: object


def phases(client: Client, sizes: Sizes, workload: Workload, bodies: list[bytes]) -> dict[str, Phase]:
    """The workload of each figure, for one server's client."""
    day = sizes.days // 2

    def rate(count):
        return lambda results: (count / sum(t for t, _ in results), None)

    def median_ms(results):
        return statistics.median(t * 1000 for t, _ in results), next((w for _, w in results if w), None)

    def heartbeats(results):
        return sizes.heartbeats / sum(t for t, _ in results), _check_heartbeats(client, sizes.heartbeats)

    def summary(first_day, days, expected):
        query = summary_query(first_day, days)
        return lambda: _timed_summary(client, query, expected)

    events_path, hb_path = f"/api/0/buckets/{WINDOW_BUCKET}/events", f"/api/0/buckets/{HEARTBEAT_BUCKET}/heartbeat?pulsetime=2"
    return {
        "info": Phase("GET /api/0/info round trips/s", [
            lambda: _timed_posts(client, "GET", "/api/0/info", [None] * 250)] * 4, rate(1000)),
        "a": Phase("heartbeats/s", [lambda chunk=chunk: _timed_posts(client, "POST", hb_path, chunk)
                                    for chunk in _chunks(heartbeat_bodies(sizes.heartbeats), 3)], heartbeats),
        "b": Phase(f"events/s ({workload.count:,} events)", [
            lambda chunk=chunk: _timed_posts(client, "POST", events_path, chunk)
            for chunk in _chunks(bodies, 4)], rate(workload.count)),
        "c": Phase(f"ms one-day summary (median of {sizes.day_runs})",
                   [summary(day, 1, workload.totals[day])] * sizes.day_runs, median_ms),
        "d": Phase(f"ms {sizes.days}-day summary (median of {sizes.all_runs})",
                   [summary(0, sizes.days, sum(workload.totals, Counter()))] * sizes.all_runs, median_ms),
    }


def run_inserts(client: Client, bodies: list[bytes], count: int) -> float:
    """Events/s for POSTing pre-encoded batches holding `count` events."""
    seconds, _ = _timed_posts(client, "POST", f"/api/0/buckets/{WINDOW_BUCKET}/events", bodies)
    return count / seconds


def run_summary(client: Client, first_day: int, days: int, runs: int, expected: Counter):
    """Median ms of the summary query over `runs`, and the first wrong answer if any."""
    query = summary_query(first_day, days)
    results = [_timed_summary(client, query, expected) for _ in range(runs)]
    return statistics.median(t * 1000 for t, _ in results), next((w for _, w in results if w), None)


class Session:
    """One server under the benchmark: its client, its figures, its phases."""

    def __init__(self, server: Server, sizes: Sizes, workload: Workload, bodies: list[bytes], say,
                 profile: bool = False):
        self.server, self.sizes, self.workload, self.bodies, self.say = server, sizes, workload, bodies, say
        self.figures: dict = {"server": server.label, "wrong": {}}
        self.profiled = Profiling(server, say) if profile else None
        self.client: Client | None = None
        self.phases: dict[str, Phase] = {}

    def start(self):
        began = time.perf_counter()
        self.server.start()
        self.figures["startup_s"] = time.perf_counter() - began
        self.client = Client(self.server.port, self.server.headers())
        for bucket in (WINDOW_BUCKET, HEARTBEAT_BUCKET):
            create_bucket(self.client, bucket)
        self.phases = phases(self.client, self.sizes, self.workload, self.bodies)

    def record(self, key: str, text: str, outcome):
        """Keep a figure (or why it failed) and print it."""
        label, figures = self.server.label, self.figures
        if isinstance(outcome, Exception):
            figures["wrong"][key] = f"failed: {outcome}"
            self.say(f"  {label} ({key}) FAILED: {outcome}")
            return
        value, wrong = outcome
        figures[key] = value
        if wrong:
            figures["wrong"][key] = wrong
        self.say(f"  {label} ({key}) {value:,.1f} {text}" + (f"  WRONG ANSWER: {wrong}" if wrong else ""))

    def finish(self):
        """RSS while running, then (e) once the server has stopped and its WAL is checkpointed."""
        self.figures["rss_mb"] = self.server.rss_mb()
        self.figures["connections"] = self.client.connects
        self.client.close()
        self.server.stop()
        size, files = self.server.database_bytes()
        self.figures["db_files"] = files
        stored = self.sizes.heartbeats // 10 + self.workload.count
        self.record("e", f"bytes/event ({size:,} bytes in {', '.join(files)})", (size / stored, None))


def run_phase(key: str, sessions: list[Session]):
    """Run one figure's steps in turn on each server; a failure spoils that figure only."""
    results: dict[Session, list | Exception] = {session: [] for session in sessions}
    with contextlib.ExitStack() as stack:
        for session in sessions:
            if session.profiled:
                stack.enter_context(session.profiled.phase(key))
        for step in range(len(sessions[0].phases[key].steps)):
            for session in sessions:
                if not isinstance(results[session], Exception):
                    try:
                        results[session].append(session.phases[key].steps[step]())
                    except Exception as exc:
                        results[session] = exc
    for session in sessions:
        phase, outcome = session.phases[key], results[session]
        if not isinstance(outcome, Exception):
            try:
                outcome = phase.result(outcome)
            except Exception as exc:
                outcome = exc
        session.record(key, phase.text, outcome)


def compare(servers: list[Server], sizes: Sizes, say, profile: bool = False) -> dict[str, dict]:
    """Both servers up at once (the idle one costs nothing); each figure's work is cut into
    steps run on one server and then the other, so load from elsewhere on the machine falls
    on both alike."""
    workload = Workload(sizes.days, sizes.events_per_day)
    bodies = workload.batches(sizes.batch)
    sessions, live = [Session(server, sizes, workload, bodies, say, profile) for server in servers], []
    try:
        for session in sessions:
            try:
                session.start()
                live.append(session)
            except Exception as exc:  # the other server's figures are still worth having
                say(f"  {session.server.label}-server FAILED to start: {exc}")
        for key in ("info", "a", "b", "c", "d") if live else ():
            run_phase(key, live)
        for session in live:
            try:
                session.finish()
            except Exception as exc:
                session.record("e", "", exc)
    finally:
        for session in sessions:
            session.server.cleanup()
    return {session.server.label: session.figures for session in live}


class Profiling:
    """py-spy on the server during each phase; hotspots printed, raw stacks kept in bench/.work."""

    def __init__(self, server: Server, say):
        self.server, self.say = server, say

    @contextlib.contextmanager
    def phase(self, key: str):
        out = WORK / f"profile-{self.server.label}-{key}.txt"
        with pyspy.record(self.server.proc.pid, out):
            yield
        focus = ("tg_core/", "tg_server/") if self.server.label == "tg" else ("aw_",)
        self.say(f"  profile of ({key}) -> {out}\n{pyspy.hotspots(out, focus)}")


# --- report ---------------------------------------------------------------------------------

ROWS = [  # key, label, unit, format, ratio (tg over aw or aw over tg), target
    ("a", "(a) sequential heartbeats", "/s", "{:,.0f}", "tg/aw", 20),
    ("b", "(b) bulk insert", "events/s", "{:,.0f}", "tg/aw", 10),
    ("c", "(c) one-day summary, median", "ms", "{:,.1f}", "aw/tg", 20),
    ("d", "(d) all-days summary, median", "ms", "{:,.1f}", "aw/tg", 50),
    ("e", "(e) database size", "bytes/event", "{:,.1f}", "tg/aw", 1 / 3),
    ("rss_mb", "server RSS after the queries", "MB", "{:,.1f}", None, None),
    ("info", "GET /api/0/info, for scale (no target)", "/s", "{:,.0f}", None, None),
]


def _cell(figures: dict | None, key: str, fmt: str) -> tuple[str, bool]:
    """One server's figure as text, and whether its answer was wrong (or the request failed)."""
    if not figures:
        return "–", False
    bad = key in figures.get("wrong", {})
    if key not in figures:
        return ("FAILED" if bad else "–"), bad
    return fmt.format(figures[key]) + (" WRONG" if bad else "") + (" (cached)" if figures.get("cached") else ""), bad


def table(aw: dict | None, tg: dict | None) -> tuple[str, bool]:
    """The Markdown comparison table, and whether every answer was right."""
    lines = ["| figure | aw-server | tg-server | ratio | target | result |", "|---|---:|---:|---:|---:|---|"]
    right = True
    for key, label, unit, fmt, direction, target in ROWS:
        (aw_text, aw_bad), (tg_text, tg_bad) = _cell(aw, key, fmt), _cell(tg, key, fmt)
        wrong = aw_bad or tg_bad
        right &= not wrong
        ratio_text, verdict = "–", "WRONG ANSWER" if wrong else ""
        target_text = "–" if not direction else "<= 0.333" if key == "e" else f">= {target}x"
        if direction and not wrong and aw and tg and key in aw and key in tg:
            ratio = tg[key] / aw[key] if direction == "tg/aw" else aw[key] / tg[key]
            ratio_text = f"{ratio:.3f}" if key == "e" else f"{ratio:.1f}x"
            verdict = "pass" if (ratio <= target if key == "e" else ratio >= target) else "fail"
        lines.append(f"| {label} ({unit}) | {aw_text} | {tg_text} | {ratio_text} | {target_text} | {verdict} |")
    return "\n".join(lines), right


def measure_big(say, profile: bool = False) -> tuple[str, bool]:
    """tg-server alone with a year of events in one bucket: the figures that must stay fast."""
    sizes = BIG
    workload = Workload(sizes.days, sizes.events_per_day, seed=SEED + 1)
    began = time.perf_counter()
    bodies = workload.batches(sizes.batch)
    say(f"big: {workload.count:,} events over {sizes.days} days generated in {time.perf_counter() - began:.1f} s")
    server = TgServer("big")
    try:
        server.start()
        profiled = Profiling(server, say) if profile else None
        client = Client(server.port, server.headers())
        create_bucket(client, WINDOW_BUCKET)
        with profiled.phase("big-insert") if profile else contextlib.nullcontext():
            rate = run_inserts(client, bodies, workload.count)
        del bodies
        rss_inserted = server.rss_mb()
        say(f"big: inserted at {rate:,.0f} events/s in batches of {sizes.batch}; RSS {rss_inserted:.1f} MB")
        day = sizes.days // 2
        with profiled.phase("big-day") if profile else contextlib.nullcontext():
            day_ms, day_wrong = run_summary(client, day, 1, sizes.day_runs, workload.totals[day])
        say(f"big: one-day summary {day_ms:.1f} ms")
        with profiled.phase("big-year") if profile else contextlib.nullcontext():
            year_ms, year_wrong = run_summary(client, 0, sizes.days, sizes.all_runs, sum(workload.totals, Counter()))
        say(f"big: full-year summary {year_ms:.1f} ms")
        rss = server.rss_mb()
        client.close()
        server.stop()
        size, _ = server.database_bytes()
    finally:
        server.cleanup()
    insert_s = workload.count / rate
    rows = [
        (f"insert {workload.count:,} events, batches of {sizes.batch}", f"{insert_s:.1f} s ({rate:,.0f} events/s)", "< 180 s", insert_s < 180, None),
        (f"one-day summary, median of {sizes.day_runs}", f"{day_ms:.1f} ms", "< 20 ms", day_ms < 20, day_wrong),
        (f"full-year summary, median of {sizes.all_runs}", f"{year_ms:.1f} ms", "< 500 ms", year_ms < 500, year_wrong),
        ("server RSS after the queries", f"{rss:.1f} MB", "< 150 MB", rss < 150, None),
        ("server RSS after the inserts, before the queries", f"{rss_inserted:.1f} MB", "–", None, None),
        ("database size", f"{size / workload.count:.1f} bytes/event", "–", None, None),
    ]
    lines = [f"| figure (tg-server alone, {workload.count:,} events in one bucket) | value | target | result |",
             "|---|---:|---:|---|"]
    for label, value, target, ok, wrong in rows:
        verdict = f"WRONG ANSWER: {wrong}" if wrong else ("" if ok is None else "pass" if ok else "fail")
        lines.append(f"| {label} | {value} | {target} | {verdict} |")
    return "\n".join(lines), not (day_wrong or year_wrong)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.server_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (about 10 s): a CI smoke run")
    parser.add_argument("--big", action="store_true", help="also run tg-server alone with 1,000,000 events")
    parser.add_argument("--only", choices=("tg", "aw"), help="run one server; the other's figures come from its last run, if any")
    parser.add_argument("--profile", action="store_true",
                        help="run py-spy on the server during each phase and print hotspots (figures are then not representative)")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    mode = "quick" if args.quick else "full"

    def say(text: str):
        print(text, flush=True)

    say(f"workload ({mode}): {sizes.heartbeats} heartbeats, {sizes.days * sizes.events_per_day:,} events "
        f"over {sizes.days} days in batches of {sizes.batch}; {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.2f} (other work on the machine skews both servers' figures)")
    labels = [args.only] if args.only else ["aw", "tg"]
    if "tg" in labels and not tg_available():
        say("tg-server is not installed yet (no tg-server script, no tg_server/__main__.py)")
        return 1
    results = compare([{"aw": AwServer, "tg": TgServer}[label]() for label in labels], sizes, say, args.profile)
    failed = len(results) < len(labels)
    for label in ("aw", "tg"):
        cache = WORK / f"server-{label}-{mode}.json"
        if label in results and not args.profile:  # profiled figures are slower than real ones
            cache.write_text(json.dumps(results[label], indent=1))
        elif label not in results and cache.exists():
            results[label] = dict(json.loads(cache.read_text()), cached=True)
    text, right = table(results.get("aw"), results.get("tg"))
    say("\n" + text)
    if args.big:
        try:
            big_text, big_right = measure_big(say, args.profile)
            say("\n" + big_text)
            right &= big_right
        except Exception as exc:
            say(f"big: tg-server FAILED: {exc}")
            failed = True
    return 0 if right and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
