"""Reports benchmark: the daily report API and the dashboard's first render, 1,000,000 events.

    .venv/bin/python -m bench.report_bench [--events N] [--per-day N] [--runs N]

The database is filled in-process through tg_core.storage (the HTTP insert path has its own
benchmark): one host with a window, an AFK and a browser bucket, `--per-day` events a day
(window 62.5 %, browser 35 %, AFK 2.5 %; 2,740 by default: 1,000,000 events are a year,
the server benchmark's --big shape) over as many days as it takes to reach `--events`.
`--per-day 8000` is a stress case (a window switch every 8 s for 14 hours). Then tg-server is started on that data and timed:

- (r) GET /api/0/reports/day for the last full day: the first (cold) call, then the median
  of `--runs` calls over one keep-alive connection (bench.lean_http), and the server's CPU
  time per call (user + system; other load on the machine disturbs it least).
- (m) GET /api/0/reports/range for the 31 days up to it (the month view's request), median
  of 5.
- (d) the dashboard's first render in Debian's Chromium: a fresh browser context (cold cache)
  signed in with the session cookie, navigated to #/day/DATE, until the day view is in the
  DOM and one frame later (window.__tgPainted, performance.now() since navigation started).
  Median of 9.

Targets (issue 5): (r) < 50 ms median, (d) < 500 ms. Reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psutil
import requests

from bench.lean_http import Client
from tg_core.config import database_path
from tg_core.event import Event
from tg_core.storage import Storage

REPO = Path(__file__).resolve().parent.parent
HOST = "benchhost"
SEED = 5
APPS = ["code", "firefox", "gnome-terminal-server", "slack", "thunderbird", "evince",
        "libreoffice", "inkscape", "zoom", "spotify", "vlc", "nautilus", "keepassxc", "steam"]
SITES = ["github.com", "docs.python.org", "www.youtube.com", "mail.google.com", "news.ycombinator.com",
         "stackoverflow.com", "www.reddit.com", "example.org", "wikipedia.org", "meet.google.com"]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


def split_per_day(per_day: int) -> tuple[int, int, int]:
    """Window, web and AFK events of a day (62.5 %, 35 %, the rest)."""
    n_window, n_web = int(per_day * 0.625), int(per_day * 0.35)
    return n_window, n_web, max(2, per_day - n_window - n_web)


def generate_day(day: datetime, per_day: int, rnd: random.Random):
    """One day's window, AFK and web events between 07:00 and 21:00 UTC."""
    start, span = day + timedelta(hours=7), 14 * 3600
    n_window, n_web, n_afk = split_per_day(per_day)
    window, t = [], 0.0
    step = span / n_window
    for i in range(n_window):
        d = step * rnd.uniform(0.5, 1.5)
        app = APPS[min(int(rnd.expovariate(0.35)), len(APPS) - 1)]
        window.append(Event(start + timedelta(seconds=t), d,
                            {"app": app, "title": f"{app} document {rnd.randrange(300)}"}))
        t += d
    web, t, step = [], 0.0, span / n_web
    for i in range(n_web):
        d = step * rnd.uniform(0.5, 1.5)
        site = rnd.choice(SITES)
        web.append(Event(start + timedelta(seconds=t), d, {
            "url": f"https://{site}/page/{rnd.randrange(200)}", "title": f"{site} page",
            "audible": site.endswith("youtube.com"), "incognito": False, "tabCount": 5}))
        t += d
    afk, t, step = [], 0.0, span / n_afk
    for i in range(n_afk):
        d = step * rnd.uniform(0.5, 1.5)
        afk.append(Event(start + timedelta(seconds=t), d,
                         {"status": "afk" if i % 4 == 3 else "not-afk"}))
        t += d
    return window, afk, web


def fill(data_dir: Path, events: int, per_day: int) -> tuple[str, int]:
    """Create the buckets and events; returns (the last full day's date, events stored)."""
    storage = Storage(database_path(data_dir))
    buckets = {"window": (f"aw-watcher-window_{HOST}", "currentwindow"),
               "afk": (f"aw-watcher-afk_{HOST}", "afkstatus"),
               "web": ("aw-watcher-web-firefox", "web.tab.current")}
    for name, btype in buckets.values():
        storage.create_bucket(name, btype, client="bench", hostname=HOST)
    rnd = random.Random(SEED)
    days = max(1, -(-events // per_day))
    first = datetime(2024, 1, 1, tzinfo=timezone.utc)
    for i in range(days):
        window, afk, web = generate_day(first + timedelta(days=i), per_day, rnd)
        for key, evs in (("window", window), ("afk", afk), ("web", web)):
            for j in range(0, len(evs), 5000):
                storage.insert_events(buckets[key][0], evs[j:j + 5000])
        if i % 20 == 0:
            print(f"  day {i + 1}/{days}", flush=True)
    count = storage.event_count()
    storage.close()
    return (first + timedelta(days=days - 1)).date().isoformat(), count


def start_server(root: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "TG_DATA_DIR": str(root / "data"), "TG_CONFIG_DIR": str(root / "config"),
           "TG_CACHE_DIR": str(root / "cache"), "TZ": "UTC"}
    log = open(root / "server.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "tg_server", "--port", str(port)], env=env,
                            cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/api/0/health", timeout=1).ok:
                return proc
        except requests.ConnectionError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"tg-server did not start; see {root / 'server.log'}")


def time_api(client: Client, path: str, runs: int, server: psutil.Process):
    """(first call ms, median ms of `runs` more, server CPU ms per call, the answer).

    The server's CPU time per call is the figure that other load on the machine disturbs
    least; wall-clock medians on a busy 2-core machine can double."""
    t = time.perf_counter()
    report = client.request("GET", path)
    cold = (time.perf_counter() - t) * 1000
    times = []
    cpu = sum(server.cpu_times()[:2])
    for _ in range(runs):
        t = time.perf_counter()
        client.request("GET", path)
        times.append((time.perf_counter() - t) * 1000)
    cpu_ms = (sum(server.cpu_times()[:2]) - cpu) * 1000 / runs
    return cold, statistics.median(times), cpu_ms, report


def time_dashboard(url: str, login_url: str, date: str, runs: int = 9) -> list[float]:
    from playwright.sync_api import sync_playwright

    out = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        first = browser.new_context()
        page = first.new_page()
        page.goto(login_url)
        cookies = first.cookies()
        first.close()
        route = f"#/day/{date}"
        for _ in range(runs):
            context = browser.new_context()
            context.add_cookies(cookies)
            page = context.new_page()
            page.goto(f"{url}/{route}")
            page.wait_for_selector(f'main[data-state=ready][data-route="{route}"]', timeout=30_000)
            page.wait_for_function("window.__tgPainted !== undefined")
            out.append(page.evaluate("window.__tgPainted"))
            context.close()
        browser.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--per-day", type=int, default=2740)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tg-report-bench-") as tmp:
        root = Path(tmp)
        for sub in ("data", "config", "cache"):
            (root / sub).mkdir()
        t = time.perf_counter()
        date, count = fill(root / "data", args.events, args.per_day)
        print(f"filled {count:,} events in {time.perf_counter() - t:.0f} s; report day {date}")
        from socket import socket
        with socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        proc = start_server(root, port)
        try:
            token = (root / "config" / "api_token").read_text().strip()
            client = Client(port, {"Authorization": f"Bearer {token}"})
            server = psutil.Process(proc.pid)
            cold, median, cpu_ms, report = time_api(
                client, f"/api/0/reports/day?date={date}&tz=UTC&host={HOST}", args.runs, server)
            last = datetime.fromisoformat(date)
            month_start = (last - timedelta(days=30)).date().isoformat()
            _, month_median, month_cpu, _ = time_api(
                client, f"/api/0/reports/range?start={month_start}&end={date}&group=day&tz=UTC"
                f"&host={HOST}", 5, server)
            client.close()
            env = {**os.environ, "TG_DATA_DIR": str(root / "data"),
                   "TG_CONFIG_DIR": str(root / "config"), "TG_CACHE_DIR": str(root / "cache")}
            login = subprocess.run([sys.executable, "-m", "tg_server", "open", "--print", "--port",
                                    str(port)], env=env, cwd=REPO, capture_output=True, text=True,
                                   check=True).stdout.strip().splitlines()[-1]
            renders = time_dashboard(f"http://127.0.0.1:{port}", login, date)
        finally:
            proc.terminate()
            proc.wait(15)
    figures = {
        "events": count, "per_day": args.per_day, "date": date,
        "day_active_seconds": report["active_seconds"], "timeline_segments": len(report["timeline"]),
        "api_cold_ms": round(cold, 1), "api_median_ms": round(median, 1), "api_runs": args.runs,
        "api_server_cpu_ms": round(cpu_ms, 1),
        "range_31_days_median_ms": round(month_median, 1),
        "range_31_days_server_cpu_ms": round(month_cpu, 1),
        "dashboard_first_render_ms": [round(x) for x in renders],
        "dashboard_median_ms": round(statistics.median(renders)),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(figures, indent=2))
    print(f"(r) daily report API median {median:.1f} ms (target < 50): "
          f"{'ok' if median < 50 else 'fail'}")
    print(f"(d) dashboard first render median {statistics.median(renders):.0f} ms "
          f"(target < 500): {'ok' if statistics.median(renders) < 500 else 'fail'}")


if __name__ == "__main__":
    main()
