"""Fixtures for report tests (helpers live in report_helpers.py)."""

import pytest
from report_helpers import Builder

from tg_core.categories import build, default_classes


@pytest.fixture
def b():
    return Builder()


@pytest.fixture
def cats():
    return build(default_classes())
