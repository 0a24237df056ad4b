"""Helpers for report tests: events built from local wall-clock times with known answers."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from tg_core.categories import build, normalize_classes
from tg_core.event import UTC, Event
from tg_core.reports import Day, DayEvents


class Builder:
    """Builds events at local times of one time zone: `b.ev("10:00", "10:30", app=...)`."""

    def __init__(self, tz="UTC", day=date(2024, 5, 6)):
        self.tz = ZoneInfo(tz)
        self.date = day

    def at(self, hhmm: str, day: date | None = None) -> datetime:
        h, m = map(int, hhmm.split(":"))
        return datetime.combine(day or self.date, time(h, m), self.tz).astimezone(UTC)

    def ev(self, start: str, end: str, day: date | None = None, end_day: date | None = None,
           **data) -> Event:
        s = self.at(start, day)
        e = self.at(end, end_day or day)
        return Event(s, (e - s).total_seconds(), data)

    def day(self, start_of_day="04:00", day: date | None = None) -> Day:
        h, m = map(int, start_of_day.split(":"))
        return Day.make(day or self.date, self.tz, time(h, m))


def make_categories(entries):
    """Categories from `[(name, regex, extra rule keys, data)]` tuples."""
    classes = [{"name": n.split(" > "), "rule": ({"type": "regex", "regex": r, **extra}
                                                 if r else {"type": None}), "data": data}
               for n, r, extra, data in entries]
    return build(normalize_classes(classes))


def events(window=(), afk=None, **web):
    """DayEvents; `web` keyword names are bucket names (use __ for -)."""
    return DayEvents(list(window), None if afk is None else list(afk),
                     {name.replace("__", "-"): list(evs) for name, evs in web.items()})


# --- seeding a real server ---------------------------------------------------------------

HOST = "testhost"
DAY = "2024-05-06"  # times below are UTC; reports use tz=UTC unless a test says otherwise


def ts(hhmm, day=DAY):
    return f"{day}T{hhmm}:00+00:00"


def api_event(start, end, day=DAY, **data):
    h1, m1 = map(int, start.split(":"))
    h2, m2 = map(int, end.split(":"))
    return {"timestamp": ts(start, day), "duration": (h2 * 60 + m2 - h1 * 60 - m1) * 60,
            "data": data}


def seed(server, buckets):
    for bucket_id, (btype, events) in buckets.items():
        r = server.api("POST", f"buckets/{bucket_id}",
                       json={"type": btype, "client": "test", "hostname": HOST})
        assert r.status_code in (200, 304), r.text
        r = server.api("POST", f"buckets/{bucket_id}/events", json=events)
        assert r.status_code == 200, r.text


def standard_day(day=DAY):
    """A morning with known answers: 2h30m active, 30 min AFK, 30 min of YouTube (audible
    while AFK), GitHub open in a tab while the user was away (not counted)."""
    ev = api_event
    return {
        "window": ("currentwindow", [ev("09:00", "10:00", day, app="code", title="main.py"),
                                     ev("10:00", "11:00", day, app="firefox", title="YouTube"),
                                     ev("11:00", "11:30", day, app="slack", title="general"),
                                     ev("11:30", "12:00", day, app="inkscape", title="logo.svg")]),
        "afk": ("afkstatus", [ev("09:00", "10:15", day, status="not-afk"),
                              ev("10:15", "11:00", day, status="afk"),
                              ev("11:00", "12:00", day, status="not-afk")]),
        "aw-watcher-web-firefox": ("web.tab.current", [
            ev("09:00", "10:30", day, url="https://www.youtube.com/watch?v=1", title="Talk",
               audible=True),
            ev("10:30", "11:00", day, url="https://github.com/x", title="Repo")]),
    }


def seed_days(server, days=(DAY,)):
    """Seed `standard_day` for each day into window, AFK and web buckets of HOST."""
    buckets = {}
    for d in days:
        for key, (btype, events) in standard_day(d).items():
            name = f"{key}_{HOST}" if key in ("window", "afk") else key
            buckets.setdefault(name, (btype, []))[1].extend(events)
    seed(server, buckets)


def node(tree, full_name):
    """The category node called `full_name` in a report (or its category tree), or None."""
    stack = [tree.get("categories", tree)]
    while stack:
        n = stack.pop()
        if n["full_name"] == full_name:
            return n
        stack.extend(n["children"])
    return None
