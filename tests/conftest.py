"""Shared fixtures: a real tg-server subprocess on a free loopback port with its own dirs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tgtest import ServerProcess


@pytest.fixture
def server_factory(tmp_path):
    """`server_factory(config=None, testing=False, start=True)` -> a running ServerProcess."""
    servers: list[ServerProcess] = []

    def factory(config: dict | None = None, testing: bool = False, start: bool = True,
                root: Path | None = None):
        server = ServerProcess(root or tmp_path / f"server{len(servers)}", config, testing)
        servers.append(server)
        return server.start() if start else server

    yield factory
    for server in servers:
        server.stop()


@pytest.fixture
def server(server_factory) -> ServerProcess:
    """A running tg-server with token auth, fresh directories and database."""
    return server_factory()
