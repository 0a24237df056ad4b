"""`tg-watcher-window [--host H] [--port P] [--testing] [--poll SECONDS]`."""

from __future__ import annotations

import argparse
import logging
import signal
import sys

from tg_core import config as tg_config
from tg_core.client import Client, positive_number

from .afk import open_idle_source
from .settings import ServerSettings
from .watcher import CLIENT_NAME, Watcher
from .window import Exclusions, open_window_source, open_x_display

log = logging.getLogger("tg_watcher_window")


def _choice(value, name: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"{name}: expected one of {', '.join(choices)}, got {value!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tg-watcher-window",
        description="Record the active application and window title, and AFK status, "
                    "to the TimelyGator server.")
    parser.add_argument("--host", help="server host (default: config.toml [server] or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="server port (default: config or 5700)")
    parser.add_argument("--testing", action="store_true",
                        help=f"use the testing server (port {tg_config.TESTING_PORT})")
    parser.add_argument("--poll", type=float, metavar="SECONDS",
                        help="seconds between window polls (default: [watcher-window] poll or 1)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        cfg = tg_config.load_config()
        win_cfg = tg_config.section(cfg, "watcher-window")
        afk_cfg = tg_config.section(cfg, "watcher-afk")
        poll = positive_number(args.poll if args.poll is not None else win_cfg.get("poll", 1.0),
                         "[watcher-window] poll")
        settings_refresh = positive_number(win_cfg.get("settings_refresh", 60.0),
                                           "[watcher-window] settings_refresh")
        afk_timeout = positive_number(afk_cfg.get("timeout", 180), "[watcher-afk] timeout")
        afk_poll = positive_number(afk_cfg.get("poll", 5.0), "[watcher-afk] poll")
        exclusions = Exclusions(win_cfg.get("exclude_apps", []), win_cfg.get("exclude_titles", []))
        backend = _choice(win_cfg.get("backend", "auto"), "[watcher-window] backend",
                          ("auto", "x11", "pywinctl"))
        idle_source = _choice(afk_cfg.get("idle_source", "auto"), "[watcher-afk] idle_source",
                              ("auto", "os", "pynput"))
    except (ValueError, TypeError) as exc:
        print(f"tg-watcher-window: {exc}", file=sys.stderr)
        return 2

    display = open_x_display()
    windows = open_window_source(display, backend)
    idle = open_idle_source(display, idle_source)
    if windows is None and idle is None:
        log.error("nothing to watch here: no window source and no idle source")
        return 1

    try:
        client = Client(CLIENT_NAME, host=args.host, port=args.port, testing=args.testing,
                        config=cfg)
    except ValueError as exc:
        print(f"tg-watcher-window: {exc}", file=sys.stderr)
        return 2
    # The dashboard's settings, per server like the queue (a --testing server has its own).
    settings = ServerSettings(client, tg_config.cache_dir() /
                              f"settings-{CLIENT_NAME}-{client.address.port}.json")
    watcher = Watcher(client, windows, idle, poll=poll, afk_timeout=afk_timeout,
                      afk_poll=afk_poll, exclusions=exclusions, settings=settings,
                      settings_refresh=settings_refresh)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: watcher.stop())
    log.info("watching (window poll %g s, AFK after %g s) for %s", poll, afk_timeout,
             client.address.url)
    code = 0
    try:
        watcher.run()
    except Exception as exc:
        if type(exc).__name__ == "ConnectionClosedError":  # Xlib's: the session ended
            log.error("lost the X display: %s", exc)
        else:
            log.exception("stopping on an unexpected error")
        code = 1
    if not client.close(timeout=2.0):
        log.info("undelivered heartbeats stay queued on disk for the next start")
    return code
