"""Playwright driving Debian's Chromium against a real tg-server with seeded data."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "reports"))
from report_helpers import DAY, seed_days  # noqa: E402

REPO = Path(__file__).resolve().parent.parent.parent
SHOTS = REPO / "test-output"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Dashboard:
    """A signed-in page plus every console error and page error it produced."""

    def __init__(self, server, page):
        self.server, self.page = server, page
        self.errors: list[str] = []
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    def sign_in(self):
        self.page.goto(self.server.login_url())
        self.page.wait_for_url(f"{self.server.url}/")
        return self

    def open(self, route: str):
        """Navigate to a hash route and wait for the view to finish rendering."""
        self.page.goto(f"{self.server.url}/#/{route}")
        return self.ready(route)

    def ready(self, route: str):
        """Wait until the view for `route` ("day/2024-05-06") is rendered, not an older one."""
        self.page.wait_for_selector(f'main[data-state=ready][data-route="#/{route}"]')
        return self.page

    def shot(self, name: str):
        SHOTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def dashboard(server, browser):
    seed_days(server, (DAY, "2024-05-07", "2024-04-30"))
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    dash = Dashboard(server, page).sign_in()
    yield dash
    context.close()
    assert dash.errors == [], f"console errors: {dash.errors}"
