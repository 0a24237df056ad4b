"""The dashboard's settings (`afk_timeout`, `exclusions`, written through the settings API)
obeyed by the running watcher, and the client's `get_setting` with every way it can fail."""

from __future__ import annotations

import logging
import socket
import threading
import time
from datetime import timedelta

import pytest

from test_watcher import (AFK_BUCKET, assert_afk_boundaries, config, now, stored,
                          window_events)
from tg_core.client import Client
from tg_watcher_window.settings import ServerSettings
from xdesktop import wait_for

UNREAD = object()


def set_setting(server, key: str, value) -> None:
    response = server.api("POST", f"settings/{key}", json=value)
    assert response.status_code == 200, response.text


@pytest.fixture
def make_client(tmp_path):
    clients = []

    def factory(port: int, config_dir) -> Client:
        client = Client("tg-test-settings", port=port, config={}, config_dir=config_dir,
                        queue_path=tmp_path / f"queue{len(clients)}.sqlite")
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close(timeout=0)


class OneAnswerServer:
    """A loopback listener that answers every request with `reply` bytes (None: never)."""

    def __init__(self, reply: bytes | None):
        self.reply = reply
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            conn.recv(65536)
            if self.reply is not None:
                conn.sendall(self.reply)
                conn.close()

    def close(self) -> None:
        self.sock.close()
        for conn in self.conns:
            conn.close()


def test_get_setting_answers_the_value_or_the_default_and_never_raises(
        server, make_client, tmp_path):
    client = make_client(server.port, server.config_dir)
    assert client.get_setting("afk_timeout") is None  # unset
    set_setting(server, "afk_timeout", 42)
    set_setting(server, "exclusions", ["^secret", "bank"])
    assert client.get_setting("afk_timeout") == 42
    assert client.get_setting("exclusions", default=UNREAD) == ["^secret", "bank"]

    # No token yet (401): the default, at once.
    tokenless = make_client(server.port, tmp_path / "no-token")
    assert tokenless.get_setting("afk_timeout", default=UNREAD) is UNREAD
    assert tokenless.get_setting("afk_timeout") is None

    # A broken answer, and a server that never answers (bounded by the timeout).
    garbage = OneAnswerServer(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{{{{{")
    silent = OneAnswerServer(None)
    try:
        assert make_client(garbage.port, server.config_dir).get_setting("x", UNREAD) is UNREAD
        started = time.monotonic()
        assert make_client(silent.port, server.config_dir).get_setting(
            "x", UNREAD, timeout=0.3) is UNREAD
        assert time.monotonic() - started < 5
    finally:
        garbage.close()
        silent.close()

    # Server down: the default, and heartbeats still queue for later delivery.
    server.stop()
    assert client.get_setting("afk_timeout", default=UNREAD) is UNREAD
    client.create_bucket("tg-test-settings_host", "test", "host")
    client.heartbeat("tg-test-settings_host", {"a": 1}, pulsetime=1)
    server.start()

    def delivered():
        response = server.api("GET", "buckets/tg-test-settings_host/events")
        return response.status_code == 200 and response.json()

    wait_for(delivered, 20, message="the heartbeat sent while the settings were unreadable")
    assert client.get_setting("afk_timeout") == 42


def test_invalid_values_are_logged_once_and_the_last_answers_survive_a_restart(
        server, make_client, tmp_path, caplog):
    caplog.set_level(logging.WARNING, "tg_watcher_window.settings")
    cache = tmp_path / "settings.json"
    settings = ServerSettings(make_client(server.port, server.config_dir), cache)
    set_setting(server, "afk_timeout", 5)
    set_setting(server, "exclusions", ["(unclosed", "^Secret", 7])
    assert settings.refresh() and not settings.refresh()
    assert settings.values.afk_timeout is None
    assert [p.pattern for p in settings.values.exclusions] == ["^Secret"]
    assert settings.values.exclusions[0].search("secretapp")  # case-insensitive
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 3, messages
    assert "'afk_timeout': expected a number of seconds from 10 to 86400, got 5" in messages[0]
    assert "invalid regex '(unclosed'" in messages[1] and "got 7" in messages[2]

    set_setting(server, "afk_timeout", 30)
    set_setting(server, "exclusions", "not a list")
    assert settings.refresh()
    assert settings.values.afk_timeout == 30 and settings.values.exclusions == ()
    assert "expected a list of regexes, got 'not a list'" in caplog.records[-1].getMessage()

    # Server down: the last answers stay in force, and a new start finds them on disk.
    set_setting(server, "exclusions", ["^secret"])
    assert settings.refresh()
    server.stop()
    assert not settings.refresh()
    restarted = ServerSettings(make_client(server.port, server.config_dir), cache)
    for values in (settings.values, restarted.values):
        assert values.afk_timeout == 30 and [p.pattern for p in values.exclusions] == ["^secret"]


def test_exclusions_set_in_the_dashboard_stop_recording_matching_windows(
        server_factory, xsession, open_window, start_watcher):
    server = server_factory(config=config(settings_refresh=0.3, exclude_titles=["bank"]))
    secret = open_window("secretapp", "Anything")
    diary = open_window("browser", "My Diary — entry")
    banking = open_window("browser", "Bank account")
    editor = open_window("editor", "Plain")
    news = open_window("reader", "News")
    xsession.activate(secret.wid)
    watcher = start_watcher(server)
    # Not excluded yet: recorded.
    wait_for(lambda: window_events(server, app="secretapp"), 20, message="the secret window")

    set_setting(server, "exclusions", ["^SECRET", "diary"])
    wait_for(lambda: "from server setting exclusions" in watcher.log(), 20,
             message="the watcher to apply the exclusions")
    applied = now()
    xsession.activate(editor.wid)
    wait_for(lambda: window_events(server, app="editor"), 20, message="the editor window")
    for window in (secret, diary, banking):
        xsession.activate(window.wid)
        time.sleep(1.2)  # at least two polls in each window (the scenario)
    xsession.activate(news.wid)
    wait_for(lambda: window_events(server, app="reader"), 20, message="the last window")

    events = stored(server, "tg-watcher-window_" + socket.gethostname())
    assert [e.data["app"] for e in events] == ["secretapp", "editor", "browser", "reader"]
    assert events[0].end <= applied
    # The app matched case-insensitively, the title by search; config.toml's title rule holds.
    assert [e.data for e in events if e.data["app"] == "browser"] == [
        {"app": "browser", "title": "excluded"}]


def test_afk_timeout_set_in_the_dashboard_moves_the_afk_boundary(
        server_factory, xsession, start_watcher):
    server = server_factory(config={"watcher-window": {"settings_refresh": 0.3},
                                    "watcher-afk": {"timeout": 180, "poll": 0.5},
                                    "client": {"batch_seconds": 0.5}})
    watcher = start_watcher(server)
    wait_for(lambda: stored(server, AFK_BUCKET), 30, message="the first AFK event")
    set_setting(server, "afk_timeout", 10)
    wait_for(lambda: "AFK after 10 s (server setting afk_timeout)" in watcher.log(), 20,
             message="the watcher to apply the timeout")

    def afk_since(start):
        return [e for e in stored(server, AFK_BUCKET)
                if e.data["status"] == "afk" and e.timestamp >= start]

    before = now()
    xsession.key()
    t1 = (before, now())
    wait_for(lambda: afk_since(t1[0]), 30, message="AFK after 10 s")
    seen = now()
    # AFK shows only once the 10 s timeout passed (180 s in config.toml), within a poll
    # and the delivery.
    assert timedelta(seconds=9.8) <= seen - t1[0] <= timedelta(seconds=15), seen - t1[0]
    before = now()
    xsession.key()
    t2 = (before, now())
    wait_for(lambda: [e for e in stored(server, AFK_BUCKET) if e.data["status"] == "not-afk"
                      and e.timestamp >= t2[0]], 20, message="not-afk after input")
    assert_afk_boundaries(stored(server, AFK_BUCKET), t1, t2)

    # Deleting the setting brings config.toml's value back.
    assert server.api("DELETE", "settings/afk_timeout").status_code == 200
    wait_for(lambda: "AFK after 180 s (config.toml)" in watcher.log(), 20,
             message="the config timeout again")


def test_invalid_settings_do_not_break_recording(
        server_factory, xsession, open_window, start_watcher):
    server = server_factory(config=config(settings_refresh=0.2))
    set_setting(server, "afk_timeout", "ten")
    set_setting(server, "exclusions", ["(unclosed", "^hidden"])
    first = open_window("first", "First")
    hidden = open_window("hiddenapp", "Hidden")
    second = open_window("second", "Second")
    xsession.activate(first.wid)
    watcher = start_watcher(server)
    wait_for(lambda: "invalid regex '(unclosed'" in watcher.log(), 20, message="the warning")
    wait_for(lambda: window_events(server, app="first"), 20, message="the first window")
    xsession.activate(hidden.wid)
    time.sleep(1.2)  # two polls in the hidden window (the scenario)
    xsession.activate(second.wid)
    wait_for(lambda: window_events(server, app="second"), 20, message="the second window")

    set_setting(server, "exclusions", {"not": "a list"})
    wait_for(lambda: "expected a list of regexes" in watcher.log(), 20, message="the warning")
    xsession.activate(first.wid)
    wait_for(lambda: len(window_events(server, app="first")) == 2, 20,
             message="the first window again")
    assert watcher.proc.poll() is None
    assert not window_events(server, app="hiddenapp")
    log = watcher.log()
    # Each bad value is reported once, however many refreshes read it again.
    assert log.count("server setting 'afk_timeout': expected a number of seconds") == 1, log
    assert log.count("invalid regex '(unclosed'") == 1, log
    assert "(server setting afk_timeout)" not in log  # config.toml's timeout stays
