"""`tg-server`: run the server, or print/open a one-time dashboard URL.

The only place that parses arguments for the server.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import gc
import logging
import os
import sys
import webbrowser

from aiohttp.abc import AbstractAccessLogger

from tg_core import config

HELP_EPILOG = """environment:
  TG_DATA_DIR, TG_CONFIG_DIR, TG_CACHE_DIR  override where TimelyGator keeps its database,
                                            configuration (config.toml, api_token) and cache
commands:
  run (default)   run the server
  open            open the dashboard in the browser through a one-time login URL
                  (with --print: print the URL instead)
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tg-server", usage="tg-server [run | open] [options]", description="TimelyGator's local server: ActivityWatch-compatible "
        "REST API, reports and the dashboard.", epilog=HELP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", choices=["run", "open"], default="run",
                        help=argparse.SUPPRESS)
    parser.add_argument("--host", help=f"address to bind (default {config.DEFAULT_HOST}; "
                        "other addresses expose your data to the network)")
    parser.add_argument("--port", type=int, help=f"port (default {config.DEFAULT_PORT}, "
                        f"{config.TESTING_PORT} with --testing)")
    parser.add_argument("--testing", action="store_true",
                        help=f"use port {config.TESTING_PORT} and a separate database")
    parser.add_argument("--data-dir", help="directory for the database (default: the user data dir)")
    parser.add_argument("--config-dir", help="directory for config.toml and api_token")
    parser.add_argument("--print", dest="print_only", action="store_true",
                        help="with 'open': print the one-time URL instead of opening a browser")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config_dir = config.config_dir(args.config_dir)
        cfg = config.load_config(config_dir)
        address = config.server_address(cfg, host=args.host, port=args.port, testing=args.testing)
    except (OSError, ValueError) as exc:
        print(f"tg-server: {exc}", file=sys.stderr)
        return 2
    if args.command == "open":
        return _open(address, config_dir, args.print_only)
    return _run(args, cfg, config_dir, address)


def _open(address: config.ServerAddress, config_dir, print_only: bool) -> int:
    from .auth import login_url

    token = config.read_token(config_dir)
    if token is None:
        print("tg-server: no API token yet: start the server once (tg-server)", file=sys.stderr)
        return 1
    url = login_url(address.url, token)
    if print_only or not webbrowser.open(url):
        print(url)
    return 0


def _run(args, cfg: dict, config_dir, address: config.ServerAddress) -> int:
    from .app import create_app
    from .context import ServerSettings

    server = config.section(cfg, "server")
    auth = server.get("auth", "token")
    if auth not in ("token", "none"):
        print(f"tg-server: config.toml [server] auth must be \"token\" or \"none\", not {auth!r}",
              file=sys.stderr)
        return 2
    extension_ids = server.get("extension_ids", [])
    if not isinstance(extension_ids, list) or not all(isinstance(x, str) for x in extension_ids):
        print("tg-server: config.toml [server] extension_ids must be a list of strings", file=sys.stderr)
        return 2
    settings = ServerSettings(data_dir=config.data_dir(args.data_dir), config_dir=config_dir,
                              host=address.host, port=address.port, testing=args.testing,
                              auth=auth, extension_ids=extension_ids, config=cfg)
    app = create_app(settings)
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(_serve(app, address, settings, args.verbose))
    except OSError as exc:
        if exc.errno in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
            print(f"tg-server: cannot listen on {address.url}: {exc.strerror} "
                  "(is TimelyGator already running? try --port)", file=sys.stderr)
            return 1
        raise
    except KeyboardInterrupt:
        pass
    return 0


def _loop_factory():
    """uvloop where it is installed (Linux, macOS): it halves the server's CPU per request
    (bench/RESULTS.md); asyncio's own loop elsewhere. TG_NO_UVLOOP=1 turns it off."""
    if os.environ.get("TG_NO_UVLOOP"):
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


class _PathOnlyAccessLogger(AbstractAccessLogger):
    """Logs method, path, status and time: never the query string (login codes live there)."""

    def log(self, request, response, time):
        self.logger.info("%s %s %s %.1fms", request.method, request.path, response.status, time * 1000)


async def _serve(app, address: config.ServerAddress, settings, verbose: bool) -> None:
    from aiohttp.web import TCPSite

    from .ingest import IngestRunner

    runner = IngestRunner(app, access_log_class=_PathOnlyAccessLogger,
                          access_log=logging.getLogger("tg_server.access") if verbose else None,
                          handle_signals=True)
    await runner.setup()
    try:
        site = TCPSite(runner, address.host, address.port, reuse_address=True)
        await site.start()
        # Everything allocated so far lives as long as the server: keep the collector off it,
        # and collect the young generation less often (each request allocates many objects).
        gc.freeze()
        gc.set_threshold(20_000, 20, 20)
        print(f"TimelyGator is running at {address.url} (data: {settings.data_dir}). "
              "Open the dashboard with: tg-server open", flush=True)
        while True:
            await asyncio.sleep(3600)
    finally:
        await runner.cleanup()
