"""Fixtures for the tg_core tests."""

from __future__ import annotations

import pytest

from tg_core.storage import Storage


@pytest.fixture
def storage(tmp_path):
    """A fresh database with one window bucket, "win"."""
    s = Storage(tmp_path / "tg.db")
    s.create_bucket("win", "currentwindow", "test", "host")
    yield s
    s.close()
