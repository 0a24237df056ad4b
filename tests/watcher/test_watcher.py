"""tg-watcher-window on a real X display (Xvfb + jwm) against a real tg-server: windows are
opened and focused with xdotool, input is typed with xdotool, and the stored events are read
back through the API."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

from tg_core.event import Event
from xdesktop import REPO, wait_for

HOST = socket.gethostname()
WINDOW_BUCKET = f"tg-watcher-window_{HOST}"
AFK_BUCKET = f"tg-watcher-afk_{HOST}"
# Scheduling slack on a loaded 2-core machine, on top of the poll interval.
SLACK = timedelta(seconds=0.6)


def now() -> datetime:
    return datetime.now(timezone.utc)


def stored(server, bucket: str) -> list[Event]:
    response = server.api("GET", f"buckets/{bucket}/events?limit=-1")
    if response.status_code == 404:
        return []
    assert response.status_code == 200, response.text
    return sorted((Event.from_json(e) for e in response.json()), key=lambda e: e.timestamp)


def assert_no_overlap(events: list[Event]) -> None:
    for before, after in zip(events, events[1:]):
        assert before.duration >= 0 and after.timestamp >= before.end - timedelta(milliseconds=1), \
            (before, after)


def window_events(server, **data) -> list[Event]:
    return [e for e in stored(server, WINDOW_BUCKET)
            if all(e.data.get(k) == v for k, v in data.items())]


def config(poll: float = 0.5, batch: float = 1.0, **window) -> dict:
    return {"client": {"batch_seconds": batch, "retry_max": 0.5},
            "watcher-window": {"poll": poll, **window},
            "watcher-afk": {"timeout": 180, "poll": 1.0}}


def test_window_events_have_the_right_app_title_and_times(
        server_factory, xsession, open_window, start_watcher):
    server = server_factory(config=config())
    poll = timedelta(seconds=0.5)
    editor = open_window("editor", "notes.txt — Editor")
    browser = open_window("browser", "Example page")
    xsession.activate(editor.wid)
    watcher = start_watcher(server, "--poll", "0.5")
    wait_for(lambda: window_events(server, app="editor"), 20, message="the editor event")
    t1 = now()
    # Dwell in each window for a few polls (the scenario, not synchronisation).
    time.sleep(2)
    xsession.activate(browser.wid)
    t2 = now()
    time.sleep(2)
    browser.set_title("Another page")
    t3 = now()
    time.sleep(2)
    xsession.activate(editor.wid)
    t4 = now()
    time.sleep(1.5)
    wait_for(lambda: [e for e in window_events(server, app="editor") if e.timestamp >= t4 - SLACK
                      and e.duration > 0], 20, message="the editor's second event")
    assert watcher.stop() == 0

    events = stored(server, WINDOW_BUCKET)
    assert_no_overlap(events)
    assert [(e.data["app"], e.data["title"]) for e in events] == [
        ("editor", "notes.txt — Editor"), ("browser", "Example page"),
        ("browser", "Another page"), ("editor", "notes.txt — Editor")]
    first, page, other, last = events
    # Each event starts within a poll of the switch and ends within a poll before the next.
    assert first.end >= t2 - poll - SLACK and first.end <= t2 + SLACK and first.timestamp <= t1
    for event, start, end in [(page, t2, t3), (other, t3, t4)]:
        assert start - SLACK <= event.timestamp <= start + poll + SLACK, (event, start)
        assert end - poll - SLACK <= event.end <= end + SLACK, (event, end)
    assert t4 - SLACK <= last.timestamp <= t4 + poll + SLACK


def test_a_new_window_is_sent_at_once_not_at_the_next_batch(
        server_factory, xsession, open_window, start_watcher):
    server = server_factory(config=config(batch=60))
    first = open_window("first", "First")
    second = open_window("second", "Second")
    xsession.activate(first.wid)
    start_watcher(server, "--poll", "0.5")
    wait_for(lambda: window_events(server, app="first"), 20, message="the first window")
    xsession.activate(second.wid)
    # Well under the 60 s batch interval: the change itself triggers the send.
    wait_for(lambda: window_events(server, app="second"), 5, message="the second window")


def test_closed_windows_empty_desktop_and_screen_saver_are_not_errors(
        server_factory, xsession, open_window, start_watcher):
    server = server_factory(config=config(poll=0.1))
    watcher = start_watcher(server)
    # Windows that vanish while the watcher polls every 100 ms.
    for i in range(15):
        flash = open_window("flash", f"Flash {i}")
        xsession.activate(flash.wid)
        flash.close()
    assert watcher.proc.poll() is None
    # The screen saver (or a locker) is on: no window time is recorded meanwhile.
    steady = open_window("steady", "Steady")
    xsession.activate(steady.wid)
    wait_for(lambda: window_events(server, app="steady"), 20, message="the steady window")
    xsession.run("xset", "s", "activate")
    locked_at = now()
    time.sleep(2)
    xsession.run("xset", "s", "reset")
    unlocked_at = now()
    wait_for(lambda: [e for e in window_events(server, app="steady")
                      if e.timestamp >= unlocked_at - SLACK], 20, message="the window after unlock")
    assert watcher.proc.poll() is None
    for event in window_events(server, app="steady"):
        # No event covers the locked time (beyond one poll and scheduling slack).
        assert event.end <= locked_at + SLACK or event.timestamp >= unlocked_at - SLACK, event
    assert_no_overlap(stored(server, WINDOW_BUCKET))


def test_excluded_apps_are_not_recorded_and_excluded_titles_are_hidden(
        server_factory, xsession, open_window, start_watcher):
    server = server_factory(config=config(exclude_apps=["^secret"], exclude_titles=["bank"]))
    secret = open_window("secretapp", "Private stuff")
    banking = open_window("browser", "My BANK account")
    normal = open_window("editor", "Plain")
    start_watcher(server)
    for window in (secret, banking, normal):
        xsession.activate(window.wid)
        time.sleep(1.2)  # at least two polls in each window
    wait_for(lambda: window_events(server, app="editor"), 20, message="the last window")
    events = stored(server, WINDOW_BUCKET)
    assert not [e for e in events if e.data["app"] == "secretapp"]
    assert not [e for e in events if "bank" in e.data["title"].lower()]
    assert [e.data for e in events if e.data["app"] == "browser"] == [
        {"app": "browser", "title": "excluded"}]


def afk_boundaries(events: list[Event]) -> list[tuple[str, datetime, datetime]]:
    return [(e.data["status"], e.timestamp, e.end) for e in events]


def run_afk_scenario(server, xsession, start_watcher, *args, env=None):
    """Input at t1, idle past the 2 s timeout, input at t2; returns (watcher, t1 window,
    t2 window, events)."""
    watcher = start_watcher(server, *args, env=env)
    wait_for(lambda: stored(server, AFK_BUCKET), 30, message="the first AFK event")
    before1 = now()
    xsession.key()
    after1 = now()
    wait_for(lambda: [e for e in stored(server, AFK_BUCKET) if e.data["status"] == "afk"
                      and e.timestamp >= before1], 20, message="AFK after the timeout")
    before2 = now()
    xsession.key()
    after2 = now()
    wait_for(lambda: [e for e in stored(server, AFK_BUCKET) if e.data["status"] == "not-afk"
                      and e.timestamp >= before2], 20, message="not-afk after input")
    return watcher, (before1, after1), (before2, after2), stored(server, AFK_BUCKET)


def assert_afk_boundaries(events, t1, t2) -> None:
    assert_no_overlap(events)
    tol = timedelta(milliseconds=150)
    afk = [e for e in events if e.data["status"] == "afk" and e.end >= t2[0] - tol]
    assert len(afk) == 1, afk_boundaries(events)
    afk = afk[0]
    # The AFK period runs from the last input before it to the first input after it.
    assert t1[0] - tol <= afk.timestamp <= t1[1] + tol, (afk, t1)
    assert t2[0] - tol <= afk.end <= t2[1] + tol, (afk, t2)
    index = events.index(afk)
    before, after = events[index - 1], events[index + 1]
    assert before.data["status"] == "not-afk" and t1[0] - tol <= before.end <= t1[1] + tol
    assert after.data["status"] == "not-afk" and t2[0] - tol <= after.timestamp <= t2[1] + tol


def test_afk_after_the_timeout_with_boundaries_at_the_inputs(
        server_factory, xsession, start_watcher):
    server = server_factory(config={"watcher-afk": {"timeout": 2, "poll": 0.5},
                                    "client": {"batch_seconds": 0.5}})
    watcher, t1, t2, events = run_afk_scenario(server, xsession, start_watcher)
    assert_afk_boundaries(events, t1, t2)
    assert "X11 screen saver extension" in watcher.log()


def test_afk_from_the_pynput_listener_fallback(server_factory, xsession, start_watcher):
    server = server_factory(config={"watcher-afk": {"timeout": 2, "poll": 0.5,
                                                    "idle_source": "pynput"},
                                    "client": {"batch_seconds": 0.5}})
    watcher, t1, t2, events = run_afk_scenario(server, xsession, start_watcher)
    assert_afk_boundaries(events, t1, t2)
    assert "pynput listener" in watcher.log()


def test_wayland_says_so_once_and_keeps_tracking_afk(
        server_factory, xsession, open_window, start_watcher):
    server = server_factory(config={"watcher-afk": {"timeout": 2, "poll": 0.5},
                                    "client": {"batch_seconds": 0.5}})
    xsession.activate(open_window("editor", "Some file").wid)
    watcher, t1, t2, events = run_afk_scenario(
        server, xsession, start_watcher,
        env={"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"})
    assert_afk_boundaries(events, t1, t2)
    assert watcher.log().count("Wayland session") == 1
    assert server.api("GET", f"buckets/{WINDOW_BUCKET}").status_code == 404


def test_watcher_sigkilled_and_restarted_loses_nothing_and_duplicates_nothing(
        server_factory, xsession, open_window, start_watcher):
    # Batches every 60 s: what the first watcher merged lives only in its on-disk queue.
    server = server_factory(config=config(batch=60))
    first = open_window("first", "Before the kill")
    second = open_window("second", "After the restart")
    xsession.activate(first.wid)
    focused = now()
    watcher = start_watcher(server, "--poll", "0.5")
    wait_for(lambda: window_events(server, app="first"), 20, message="the first window")
    time.sleep(3)
    killed = now()
    watcher.kill()
    start_watcher(server, "--poll", "0.5")
    xsession.activate(second.wid)
    wait_for(lambda: window_events(server, app="second"), 20, message="the second window")
    firsts = window_events(server, app="first")
    events = stored(server, WINDOW_BUCKET)
    assert_no_overlap(events)
    assert firsts[0].timestamp <= focused + timedelta(seconds=3)
    # The merged heartbeats from before the kill arrived (not just the first one).
    assert max(e.end for e in firsts) >= killed - timedelta(seconds=0.5) - SLACK
    assert [e.data["app"] for e in events][-1] == "second"


def test_server_killed_while_windows_change_gets_everything_after_restart(
        server_factory, xsession, open_window, start_watcher):
    server = server_factory(config=config())
    windows = [open_window(f"app{i}", f"Window {i}") for i in range(4)]
    xsession.activate(windows[0].wid)
    start_watcher(server, "--poll", "0.5")
    wait_for(lambda: window_events(server, app="app0"), 20, message="the first window")
    server.kill()
    for window in windows[1:]:
        xsession.activate(window.wid)
        time.sleep(1.2)
    server.start()
    wait_for(lambda: window_events(server, app="app3"), 30, message="the last window")
    events = stored(server, WINDOW_BUCKET)
    assert_no_overlap(events)
    assert [e.data["app"] for e in events] == ["app0", "app1", "app2", "app3"]
    assert all(e.duration >= 0.4 for e in events[1:3])


def test_invalid_config_is_a_clear_error(tmp_path):
    (tmp_path / "config.toml").write_text('[watcher-window]\nexclude_titles = ["(unclosed"]\n')
    result = subprocess.run([sys.executable, "-m", "tg_watcher_window"], cwd=REPO,
                            env={"PATH": "/usr/bin:/bin", "TG_CONFIG_DIR": str(tmp_path),
                                 "TG_CACHE_DIR": str(tmp_path / "cache")},
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "invalid regex '(unclosed'" in result.stderr and "Traceback" not in result.stderr


def test_without_any_display_it_says_why_and_exits(tmp_path):
    result = subprocess.run([sys.executable, "-m", "tg_watcher_window"], cwd=REPO,
                            env={"PATH": "/usr/bin:/bin", "TG_CONFIG_DIR": str(tmp_path),
                                 "TG_CACHE_DIR": str(tmp_path / "cache")},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "nothing to watch" in result.stderr and "Traceback" not in result.stderr
