"""Typed application keys and the executors that run blocking database work.

SQLite calls are short, but not all: a bulk insert, an export or a year-long query can take
long enough to stall every other request. So writes go to one writer thread (the storage
serialises them anyway) and reads to a small pool; the event loop only awaits.
"""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from tg_core.storage import Storage


@dataclass
class ServerSettings:
    """Everything the app needs to know about where it runs; built by the CLI or a test."""

    data_dir: Path
    config_dir: Path
    host: str = "127.0.0.1"
    port: int = 5700
    testing: bool = False
    auth: str = "token"  # or "none"
    extension_ids: list[str] = field(default_factory=list)
    max_body_bytes: int = 64 * 1024 * 1024
    config: dict = field(default_factory=dict)  # the whole config.toml, for feature modules


@dataclass
class Executors:
    writer: ThreadPoolExecutor
    readers: ThreadPoolExecutor

    @classmethod
    def create(cls) -> "Executors":
        return cls(ThreadPoolExecutor(1, thread_name_prefix="tg-db-writer"),
                   ThreadPoolExecutor(2, thread_name_prefix="tg-db-reader"))

    def shutdown(self) -> None:
        self.writer.shutdown(wait=True)
        self.readers.shutdown(wait=True)


STORAGE = web.AppKey("storage", Storage)
SETTINGS = web.AppKey("settings", ServerSettings)
EXECUTORS = web.AppKey("executors", Executors)
MEMO = web.AppKey("memo", dict)  # small values computed once per run (the app is frozen by then)


async def run_db(request: web.Request, fn, *args, **kwargs):
    """Run a blocking read (storage query, report) in the reader pool."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(request.app[EXECUTORS].readers,
                                      functools.partial(fn, *args, **kwargs))


async def run_write(request: web.Request, fn, *args, small: bool = False, **kwargs):
    """Run a blocking write in the single writer thread.

    A `small` write (one heartbeat, one setting: tens of microseconds) runs right here when
    no other write holds the storage's lock: handing it to a thread and back cost more than
    the write itself and capped sequential heartbeats at ~700/s (bench/RESULTS.md).
    """
    if small:
        lock = request.app[STORAGE].write_lock
        if lock.acquire(blocking=False):
            try:
                return fn(*args, **kwargs)
            finally:
                lock.release()
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(request.app[EXECUTORS].writer,
                                      functools.partial(fn, *args, **kwargs))
