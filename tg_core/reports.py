"""Reports: a day (or a range of days) of events turned into answers a person can read.

Pure functions over lists of events; the server fetches the events. The rules:

- A day is the local calendar day in an IANA time zone, from `start_of_day` (default 04:00)
  to the same wall-clock time the next day, so a DST day is 23 or 25 hours long.
- Window events ("currentwindow") count only while not AFK: inside the "not-afk" events of
  the host's "afkstatus" bucket. Without an AFK bucket, all window time counts.
- Browser events ("web.tab.current") count only while a window of that browser is the active
  window, and only while active: a browser that is open but unfocused counts nothing.
- Exception to the AFK rule: while the focused browser's current tab is audible (a video, a
  call), the time counts as active even without keyboard or mouse input (ActivityWatch #261).
- Categories come from the current rules, so a changed rule re-colors past days. While a
  browser window is focused, its time is classified on the tab's data (app, title, url,
  domain); otherwise on the window's (app, title).
- `hours` are 24 bins of local wall-clock hours (the repeated hour of a 25-hour day shares
  one bin; the skipped hour of a 23-hour day stays empty), listed from the start-of-day hour.
- `productivity` is the time-weighted mean of the categories' scores over active time.

Hot loops work on float seconds since the epoch: a day has thousands of events.
"""

from __future__ import annotations

import csv
import io
import os
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .categories import UNCATEGORIZED, Categories
from .errors import BadRequest
from .event import UTC, Event
from .transforms.url import domain_of as url_domain

DEFAULT_START_OF_DAY = "04:00"
TOP = 100  # entries kept in the long lists (pages, titles, uncategorized)
MAX_RANGE_DAYS = 366
# Seconds: watcher polling leaves sub-second gaps between events; a timeline segment joins
# pieces of one app and category across such gaps (its duration includes them).
TIMELINE_JOIN_GAP = 1.0

# Browser app/process names (lowercase) by family, as window watchers report them.
BROWSER_APPS = {
    "chrome": {"google-chrome", "google-chrome-stable", "google-chrome-beta", "chrome",
               "google chrome", "chromium", "chromium-browser", "chrome.exe", "chromium.exe"},
    "firefox": {"firefox", "firefox-esr", "firefox-bin", "firefox.exe", "navigator",
                "firefox developer edition", "librewolf", "floorp", "zen", "waterfox"},
    "brave": {"brave", "brave-browser", "brave browser", "brave.exe"},
    "edge": {"msedge", "microsoft-edge", "microsoft-edge-stable", "microsoft edge", "msedge.exe"},
    "opera": {"opera", "opera.exe"},
    "vivaldi": {"vivaldi", "vivaldi-stable", "vivaldi-bin", "vivaldi.exe"},
    "epiphany": {"epiphany", "org.gnome.epiphany"},
}
ALL_BROWSER_APPS = frozenset().union(*BROWSER_APPS.values())
# Substrings of a web bucket's id or client that name its browser ("aw-watcher-web-firefox").
_FAMILY_HINTS = (("firefox", "firefox"), ("librewolf", "firefox"), ("brave", "brave"),
                 ("edge", "edge"), ("opera", "opera"), ("vivaldi", "vivaldi"),
                 ("chrom", "chrome"), ("epiphany", "epiphany"))


# ---------------------------------------------------------------------------------------
# Parsing request values


def parse_date(value) -> date:
    """`YYYY-MM-DD` -> date; BadRequest otherwise."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            day = None
        if day is not None:
            if not 1970 <= day.year <= 8999:  # the range events can have (tg_core.event)
                raise BadRequest(f"date {value!r} is out of range (1970..8999)", code="invalid_date")
            return day
    raise BadRequest(f"invalid date {value!r}: expected YYYY-MM-DD", code="invalid_date")


def parse_tz(name) -> ZoneInfo:
    """An IANA time zone name (`Europe/Berlin`) -> ZoneInfo; BadRequest if unknown."""
    if isinstance(name, str) and name and len(name) < 100 and ".." not in name \
            and not name.startswith("/"):
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    raise BadRequest(f"unknown time zone {name!r}: expected an IANA name like Europe/Berlin",
                     code="invalid_timezone")


def parse_start_of_day(value) -> time:
    """`HH:MM` (00:00..23:59) -> time; BadRequest otherwise."""
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", value.strip()) if isinstance(value, str) else None
    if m and int(m[1]) < 24 and int(m[2]) < 60:
        return time(int(m[1]), int(m[2]))
    raise BadRequest(f"invalid start of day {value!r}: expected HH:MM, e.g. 04:00",
                     code="invalid_start_of_day")


def local_tz_name() -> str:
    """This machine's IANA time zone name: $TZ, /etc/localtime's target, /etc/timezone, UTC."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    try:
        target = str(Path("/etc/localtime").resolve())
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    try:
        candidates.append(Path("/etc/timezone").read_text().strip())
    except OSError:
        pass
    for name in candidates:
        try:
            parse_tz(name)
            return name
        except BadRequest:
            continue
    return "UTC"


# ---------------------------------------------------------------------------------------
# Days


@dataclass(frozen=True)
class Day:
    """One report day: local `date` in `tz`, from `start_of_day` to the same time next day."""

    date: date
    tz: ZoneInfo
    start_of_day: time
    start: datetime  # aware UTC
    end: datetime

    @classmethod
    def make(cls, day: date, tz: ZoneInfo, start_of_day: time) -> "Day":
        """The day's UTC bounds. A start-of-day in a DST gap resolves as zoneinfo does."""
        start = datetime.combine(day, start_of_day, tz).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), start_of_day, tz).astimezone(UTC)
        return cls(day, tz, start_of_day, start, end)

    @property
    def hours_long(self) -> float:
        return (self.end - self.start).total_seconds() / 3600

    def hour_slots(self) -> list[tuple[float, float, int]]:
        """Runs of constant local wall-clock hour: (start, end, hour), epoch seconds."""
        lo, hi = self.start.timestamp(), self.end.timestamp()
        # Every real UTC offset and transition falls on a quarter hour: probe at that step.
        step = 900.0
        slots: list[list] = []
        t = lo
        while t < hi:
            hour = datetime.fromtimestamp(t, self.tz).hour
            nxt = min(hi, (t // step + 1) * step)
            if slots and slots[-1][2] == hour:
                slots[-1][1] = nxt
            else:
                slots.append([t, nxt, hour])
            t = nxt
        return [tuple(s) for s in slots]


def days_between(start: date, end: date) -> list[date]:
    """Every date from `start` to `end`, both included; BadRequest if reversed or too long."""
    if end < start:
        raise BadRequest(f"end {end} is before start {start}", code="invalid_range")
    n = (end - start).days + 1
    if n > MAX_RANGE_DAYS:
        raise BadRequest(f"a range is at most {MAX_RANGE_DAYS} days (got {n})",
                         code="invalid_range")
    return [start + timedelta(days=i) for i in range(n)]


# ---------------------------------------------------------------------------------------
# Intervals: sorted lists of (start, end[, data]) in float epoch seconds


Span = tuple  # (start, end, data): float epoch seconds and the event's data dict


def as_spans(events) -> list[Span]:
    """Events (or spans already) as (start, end, data) in float epoch seconds, sorted."""
    spans = events
    if events and isinstance(events[0], Event):
        spans = [(e.timestamp.timestamp(), e.timestamp.timestamp() + e.duration, e.data)
                 for e in events]
    if any(a[0] > b[0] for a, b in zip(spans, spans[1:])):
        spans.sort(key=lambda x: x[0])
    return spans


def _spans(spans: list[Span], lo: float, hi: float) -> list[Span]:
    """Spans clipped to [lo, hi); an overlap goes to the earlier span."""
    out = []
    last = lo
    for s, e, d in spans:
        if s < last:
            s = last
        if e > hi:
            e = hi
        if e > s:
            out.append((s, e, d))
            last = e
    return out


def _union(intervals) -> list[tuple[float, float]]:
    """Merge (start, end, ...) items into disjoint sorted (start, end) intervals."""
    out: list[list[float]] = []
    for s, e, *_ in sorted(intervals, key=lambda x: x[0]):
        if out and s <= out[-1][1]:
            if e > out[-1][1]:
                out[-1][1] = e
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def _clip(spans: list[tuple], intervals: list[tuple]) -> list[tuple]:
    """The parts of disjoint sorted `spans` (start, end, data) inside disjoint `intervals`."""
    out = []
    j, n = 0, len(intervals)
    for s, e, d in spans:
        while j < n and intervals[j][1] <= s:
            j += 1
        k = j
        while k < n and intervals[k][0] < e:
            a, b = intervals[k][0], intervals[k][1]
            a = s if s > a else a
            b = e if e < b else b
            if b > a:
                out.append((a, b, d))
            k += 1
    return out


def _measure(intervals) -> float:
    return sum(iv[1] - iv[0] for iv in intervals)


def _disjoint(spans: list[tuple]) -> list[tuple]:
    """Sort spans from several buckets and trim overlaps (the earlier span keeps its time)."""
    out = []
    last = float("-inf")
    for s, e, d in sorted(spans, key=lambda x: x[0]):
        if s < last:
            s = last
        if e > s:
            out.append((s, e, d))
            last = e
    return out


def _overlay(windows: list[tuple], tabs: list[tuple]) -> list[tuple]:
    """Split window spans by the tab spans inside them: (start, end, window data, tab|None)."""
    out = []
    j, n = 0, len(tabs)
    for s, e, wd in windows:
        while j < n and tabs[j][1] <= s:
            j += 1
        k, cur = j, s
        while k < n and tabs[k][0] < e:
            a = max(s, tabs[k][0])
            b = min(e, tabs[k][1])
            if a > cur:
                out.append((cur, a, wd, None))
            if b > a:
                out.append((a, b, wd, tabs[k][2]))
                cur = b
            k += 1
        if e > cur:
            out.append((cur, e, wd, None))
    return out


# ---------------------------------------------------------------------------------------
# Browsers and URLs


def browser_family(bucket_name: str) -> str | None:
    """The browser family a web bucket belongs to ("aw-watcher-web-firefox" -> "firefox")."""
    name = bucket_name.lower()
    for hint, family in _FAMILY_HINTS:
        if hint in name:
            return family
    return None


_browser_cache: dict[tuple, bool] = {}


def is_browser_app(app, family: str | None = None) -> bool:
    """Whether a window's app name is a browser (of `family`, when given)."""
    if not isinstance(app, str):
        return False
    got = _browser_cache.get((app, family))
    if got is None:
        got = app.lower() in (
            BROWSER_APPS[family] if family in BROWSER_APPS else ALL_BROWSER_APPS)
        if len(_browser_cache) > 10_000:
            _browser_cache.clear()
        _browser_cache[(app, family)] = got
    return got


_domain_cache: dict[str, str] = {}


def domain_of(url) -> str:
    """ActivityWatch's domain of a URL (netloc without "www."), or its scheme ("about:").

    Memoized: a day repeats the same few hundred URLs thousands of times.
    """
    if not isinstance(url, str):
        return ""
    got = _domain_cache.get(url)
    if got is None:
        got = url_domain(url)
        if not got and ":" in url:
            got = url.split(":", 1)[0].lower() + ":"
        if len(_domain_cache) > 100_000:
            _domain_cache.clear()
        _domain_cache[url] = got
    return got


# ---------------------------------------------------------------------------------------
# The day report


@dataclass
class DayEvents:
    """The events a day report reads, for one host, as `Event`s or (start, end, data) spans.

    `afk` is None when the host has no AFK bucket (then all window time counts).
    `web` maps each web bucket's name (id, or id and client) to its events; the name tells
    which browser's windows the bucket belongs to.
    """

    window: list = field(default_factory=list)
    afk: list | None = None
    web: dict[str, list] = field(default_factory=dict)
    spans: bool = field(default=False, repr=False)  # already sorted spans: skip the check

    def __post_init__(self):
        # One conversion up front: the hot loops work on float spans.
        if self.spans:
            return
        self.window = as_spans(self.window)
        self.afk = None if self.afk is None else as_spans(self.afk)
        self.web = {name: as_spans(evs) for name, evs in self.web.items()}

    def split(self, days: list[Day]) -> list["DayEvents"]:
        """These events (fetched for a whole range) split into each of `days` (contiguous)."""
        window = _split(self.window, days)
        afk = _split(self.afk, days) if self.afk is not None else [None] * len(days)
        web = {name: _split(evs, days) for name, evs in self.web.items()}
        return [DayEvents(window[i], afk[i], {name: parts[i] for name, parts in web.items()},
                          spans=True) for i in range(len(days))]


def _split(spans: list[Span], days: list[Day]) -> list[list[Span]]:
    """For each day, the spans overlapping it (a span across midnight goes to both)."""
    out: list[list[Span]] = [[] for _ in days]
    bounds = [d.start.timestamp() for d in days] + [days[-1].end.timestamp()]
    for span in spans:
        s, e = span[0], span[1]
        i = max(bisect_right(bounds, s) - 1, 0)
        while i < len(days) and bounds[i] < e:
            if bounds[i + 1] > s:
                out[i].append(span)
            i += 1
    return out


def _r(x: float) -> float:
    """Seconds to the millisecond; whole numbers without ".0" (tidier JSON and CSV)."""
    v = round(float(x), 3)
    return int(v) if v.is_integer() else v


_iso_dates: dict[int, str] = {}


def _iso(t: float) -> str:
    """`datetime.fromtimestamp(t, UTC).isoformat()`, to the millisecond, several times faster
    (a timeline has thousands of segments)."""
    ms = round(t * 1000)
    days, ms = divmod(ms, 86_400_000)
    prefix = _iso_dates.get(days)
    if prefix is None:
        prefix = _iso_dates[days] = (datetime(1970, 1, 1) + timedelta(days=days)).strftime("%Y-%m-%dT")
    sec, ms = divmod(ms, 1000)
    h, sec = divmod(sec, 3600)
    m, sec = divmod(sec, 60)
    if ms:
        return f"{prefix}{h:02d}:{m:02d}:{sec:02d}.{ms:03d}000+00:00"
    return f"{prefix}{h:02d}:{m:02d}:{sec:02d}+00:00"


def _top(counter: dict, n: int | None = None) -> list:
    items = sorted(counter.items(), key=lambda kv: -kv[1])
    return items if n is None else items[:n]


def active_pieces(events: DayEvents, day: Day) -> tuple[list[tuple], float]:
    """The day's counted time as (start, end, window data, tab data|None), and AFK seconds.

    This is the rule set of the module docstring; everything else in a report is totals
    over these pieces.
    """
    lo, hi = day.start.timestamp(), day.end.timestamp()
    windows = _spans(events.window, lo, hi)

    # Tabs count only while their browser's window is the active window.
    browser_windows: dict[str | None, list] = {}
    focused = []
    for name, web_events in events.web.items():
        family = browser_family(name)
        if family not in browser_windows:
            browser_windows[family] = _union(
                w for w in windows if is_browser_app(w[2].get("app"), family))
        focused.extend(_clip(_spans(web_events, lo, hi), browser_windows[family]))
    focused = _disjoint(focused)

    if events.afk is None:
        not_afk, afk = [(lo, hi)], []
    else:
        afk_spans = _spans(events.afk, lo, hi)
        not_afk = _union(s for s in afk_spans if s[2].get("status") == "not-afk")
        afk = _union(s for s in afk_spans if s[2].get("status") == "afk")
    audible = [s for s in focused if s[2].get("audible") is True]
    active = _union(list(not_afk) + audible) if audible else not_afk

    pieces = _overlay(_clip(windows, active), _clip(focused, active))
    afk_seconds = _measure(afk) - _measure(_clip([(s, e, None) for s, e in afk], active))
    return pieces, afk_seconds


def _text(value) -> str | None:
    """A data value as text: watchers send strings, but data is any JSON, and a list or an
    object must neither crash a report nor be counted as a different app each time."""
    return value if value is None or isinstance(value, str) else str(value)


def _classify(categories: Categories, wd: dict, td: dict | None) -> tuple:
    app = _text(wd.get("app"))
    if td is None:
        title = _text(wd.get("title"))
        return categories.classify_key((app, title, None), lambda: {"app": app, "title": title})
    title, url = _text(td.get("title")), _text(td.get("url"))
    return categories.classify_key((app, title, url), lambda: {
        "app": app, "title": title, "url": url, "domain": domain_of(url)})


def _category_tree(categories: Categories, self_seconds: dict[tuple, float]) -> dict:
    nodes: dict[tuple, dict] = {}
    root = {"name": "All", "path": [], "full_name": "", "seconds": 0.0, "children": []}

    def node(path: tuple) -> dict:
        got = nodes.get(path)
        if got is None:
            name, color, score = categories.meta(path)
            got = nodes[path] = {"name": path[-1], "path": list(path), "full_name": name,
                                 "color": color, "score": score, "seconds": 0.0,
                                 "self_seconds": 0.0, "children": []}
            (node(path[:-1]) if len(path) > 1 else root)["children"].append(got)
        return got

    for path, seconds in self_seconds.items():
        node(path)["self_seconds"] += seconds
        for depth in range(1, len(path) + 1):
            node(path[:depth])["seconds"] += seconds
        root["seconds"] += seconds

    def tidy(n: dict) -> None:
        n["seconds"] = _r(n["seconds"])
        if "self_seconds" in n:
            n["self_seconds"] = _r(n["self_seconds"])
        n["children"].sort(key=lambda c: -c["seconds"])
        for c in n["children"]:
            tidy(c)

    tidy(root)
    return root


def day_report(events: DayEvents, day: Day, categories: Categories, *,
               detail: bool = True, host: str | None = None, memo: dict | None = None) -> dict:
    """The daily report for `day` from `events`, classified with `categories`.

    With `detail=False` the long lists (timeline, titles, pages, uncategorized) are left
    out, for range reports. `memo` carries classifications from day to day of one range
    (keyed by the data dicts' ids: only valid while those dicts are alive).
    """
    memo = {} if memo is None else memo
    pieces, afk_seconds = active_pieces(events, day)
    slots = day.hour_slots()
    hour_seconds = [0.0] * 24
    # Seconds per distinct (window data, tab data) pair first: a day repeats a few hundred
    # pairs thousands of times, so everything else is computed once per pair. Storage shares
    # one dict per distinct data, which makes id() a cheap key.
    pairs: dict[tuple, list] = {}  # (id(wd), id(td)) -> [seconds, wd, td, path, app]
    timeline: list[list] = []
    slot = 0
    for s, e, wd, td in pieces:
        d = e - s
        key = (id(wd), id(td))
        pair = pairs.get(key)
        if pair is None:
            path = memo.get(key)
            if path is None:
                path = memo[key] = _classify(categories, wd, td)
            pair = pairs[key] = [0.0, wd, td, path, _text(wd.get("app"))]
        pair[0] += d
        # Spread over the wall-clock hour slots the piece touches (pieces come in order).
        while slots[slot][1] <= s:
            slot += 1
        if e <= slots[slot][1]:
            hour_seconds[slots[slot][2]] += d
        else:
            i, t = slot, s
            while t < e:
                b = slots[i][1]
                hour_seconds[slots[i][2]] += (e if e < b else b) - t
                t = b
                i += 1
        if detail:
            app, path = pair[4], pair[3]
            last = timeline[-1] if timeline else None
            if last and last[2] == app and last[3] == path and s - last[1] <= TIMELINE_JOIN_GAP:
                last[1] = e
            else:
                timeline.append([s, e, app, path])

    cat_seconds: dict[tuple, float] = {}
    apps: dict = {}
    domains: dict = {}
    pages: dict = {}
    page_titles: dict = {}
    titles: dict = {}
    uncategorized: dict = {}
    browser_seconds = 0.0
    active_seconds = 0.0
    for d, wd, td, path, _ in pairs.values():
        active_seconds += d
        app, title = _text(wd.get("app")), _text(wd.get("title"))
        apps[app] = apps.get(app, 0.0) + d
        cat_seconds[path] = cat_seconds.get(path, 0.0) + d
        titles[(app, title)] = titles.get((app, title), 0.0) + d
        url = None
        if td is not None:
            browser_seconds += d
            url, title = _text(td.get("url")), _text(td.get("title"))
            dom = domain_of(url)
            domains[dom] = domains.get(dom, 0.0) + d
            pages[url] = pages.get(url, 0.0) + d
            page_titles[url] = title
        if path == UNCATEGORIZED:
            ukey = (app, title, url)
            uncategorized[ukey] = uncategorized.get(ukey, 0.0) + d

    productivity = 0.0
    breakdown = {"productive_seconds": 0.0, "neutral_seconds": 0.0, "distracting_seconds": 0.0}
    for path, seconds in cat_seconds.items():
        score = categories.meta(path)[2]
        productivity += score * seconds
        kind = ("productive_seconds" if score > 0 else
                "distracting_seconds" if score < 0 else "neutral_seconds")
        breakdown[kind] += seconds
    first_hour = day.start.astimezone(day.tz).hour

    report = {
        "date": day.date.isoformat(),
        "tz": day.tz.key,
        "start_of_day": day.start_of_day.strftime("%H:%M"),
        "host": host,
        "start": day.start.isoformat(),
        "end": day.end.isoformat(),
        "day_hours": day.hours_long,
        "active_seconds": _r(active_seconds),
        "afk_seconds": _r(afk_seconds),
        "browser_seconds": _r(browser_seconds),
        "productivity": round(productivity / active_seconds, 3) if active_seconds else 0.0,
        "productivity_breakdown": {k: _r(v) for k, v in breakdown.items()},
        "categories": _category_tree(categories, cat_seconds),
        "apps": [{"app": a, "seconds": _r(v)} for a, v in _top(apps)],
        "domains": [{"domain": k, "seconds": _r(v)} for k, v in _top(domains)],
        "hours": [{"hour": h % 24, "seconds": _r(hour_seconds[h % 24])}
                  for h in range(first_hour, first_hour + 24)],
    }
    if detail:
        report["pages"] = [{"url": u, "title": page_titles[u], "seconds": _r(v)}
                           for u, v in _top(pages, TOP)]
        report["titles"] = [{"app": a, "title": t, "seconds": _r(v)}
                            for (a, t), v in _top(titles, TOP)]
        report["uncategorized"] = [{"app": a, "title": t, "url": u, "seconds": _r(v)}
                                   for (a, t, u), v in _top(uncategorized, TOP)]
        meta = {p: categories.meta(p) for p in cat_seconds}
        report["timeline"] = [{"timestamp": _iso(s), "duration": _r(e - s), "app": a,
                               "category": meta[p][0], "color": meta[p][1]}
                              for s, e, a, p in timeline]
    return report



def rule_matches(events: DayEvents, day: Day, matcher, limit: int = 50) -> list[dict]:
    """What `matcher(data) -> bool` matches in a day's counted time, largest first.

    For the category editor's live preview: entries are (app, title, url, seconds).
    """
    found: dict = {}
    pieces, _ = active_pieces(events, day)
    seen: dict = {}
    for s, e, wd, td in pieces:
        app = _text(wd.get("app"))
        key = (app, _text(td.get("title")), _text(td.get("url"))) if td else \
            (app, _text(wd.get("title")), None)
        hit = seen.get(key)
        if hit is None:
            data = {"app": app, "title": key[1]}
            if td is not None:
                data.update(url=key[2], domain=domain_of(key[2]))
            hit = seen[key] = bool(matcher(data))
        if hit:
            found[key] = found.get(key, 0.0) + (e - s)
    return [{"app": a, "title": t, "url": u, "seconds": _r(v)}
            for (a, t, u), v in _top(found, limit)]


# ---------------------------------------------------------------------------------------
# Range reports


def group_key(day: date, group: str) -> tuple[str, date, date]:
    """(key, first day, last day) of the day/week/month containing `day` (ISO weeks)."""
    if group == "day":
        return day.isoformat(), day, day
    if group == "week":
        year, week, weekday = day.isocalendar()
        first = day - timedelta(days=weekday - 1)
        return f"{year}-W{week:02d}", first, first + timedelta(days=6)
    if group == "month":
        first = day.replace(day=1)
        nxt = (first + timedelta(days=32)).replace(day=1)
        return f"{day:%Y-%m}", first, nxt - timedelta(days=1)
    raise BadRequest(f"invalid group {group!r}: expected day, week or month",
                     code="invalid_group")


def _flat(tree: dict) -> dict[str, tuple[float, str]]:
    """{full name: (seconds incl. children, color)} for every node of a category tree."""
    out = {}
    stack = list(tree["children"])
    while stack:
        n = stack.pop()
        out[n["full_name"]] = (n["seconds"], n["color"])
        stack.extend(n["children"])
    return out


def range_report(day_reports: list[dict], group: str) -> dict:
    """Per-day totals and per-category trends from day reports (oldest first), grouped.

    Each group's `categories` maps every category's full name to its seconds, children
    included; `categories` at the top lists each category's total over the range.
    """
    group_key(date.today(), group)  # validate early
    days, groups = [], {}
    colors: dict[str, str] = {}
    totals: dict[str, float] = {}
    for rep in day_reports:
        flat = _flat(rep["categories"])
        cats = {name: sec for name, (sec, color) in flat.items()}
        for name, (sec, color) in flat.items():
            colors[name] = color
            totals[name] = totals.get(name, 0.0) + sec
        day = date.fromisoformat(rep["date"])
        days.append({"date": rep["date"], "active_seconds": rep["active_seconds"],
                     "afk_seconds": rep["afk_seconds"], "productivity": rep["productivity"],
                     "categories": cats})
        key, first, last = group_key(day, group)
        g = groups.get(key)
        if g is None:
            g = groups[key] = {"key": key, "start": first.isoformat(), "end": last.isoformat(),
                               "days": 0, "active_seconds": 0.0, "afk_seconds": 0.0,
                               "_score": 0.0, "categories": {}}
        g["days"] += 1
        g["active_seconds"] += rep["active_seconds"]
        g["afk_seconds"] += rep["afk_seconds"]
        g["_score"] += rep["productivity"] * rep["active_seconds"]
        for name, sec in cats.items():
            g["categories"][name] = g["categories"].get(name, 0.0) + sec
    out_groups = []
    for g in groups.values():
        score = g.pop("_score")
        g["productivity"] = round(score / g["active_seconds"], 3) if g["active_seconds"] else 0.0
        g["active_seconds"] = _r(g["active_seconds"])
        g["afk_seconds"] = _r(g["afk_seconds"])
        g["categories"] = {k: _r(v) for k, v in g["categories"].items()}
        out_groups.append(g)
    first = day_reports[0] if day_reports else {}
    return {
        "start": days[0]["date"] if days else None,
        "end": days[-1]["date"] if days else None,
        "group": group,
        "tz": first.get("tz"),
        "start_of_day": first.get("start_of_day"),
        "host": first.get("host"),
        "active_seconds": _r(sum(d["active_seconds"] for d in days)),
        "afk_seconds": _r(sum(d["afk_seconds"] for d in days)),
        "days": days,
        "groups": out_groups,
        "categories": [{"full_name": k, "color": colors[k], "seconds": _r(v)}
                       for k, v in _top(totals)],
    }


# ---------------------------------------------------------------------------------------
# CSV


def _csv(rows: list[list]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def day_report_csv(report: dict) -> str:
    """A day report as CSV rows `section,name,detail,seconds` (one table for a spreadsheet)."""
    rows = [["section", "name", "detail", "seconds"],
            ["summary", "active", report["date"], report["active_seconds"]],
            ["summary", "afk", report["date"], report["afk_seconds"]],
            ["summary", "productivity", "score", report["productivity"]]]
    rows += [["category", name, color, sec]
             for name, (sec, color) in sorted(_flat(report["categories"]).items())]
    rows += [["app", a["app"], "", a["seconds"]] for a in report["apps"]]
    rows += [["domain", d["domain"], "", d["seconds"]] for d in report["domains"]]
    rows += [["page", p["url"], p["title"], p["seconds"]] for p in report.get("pages", [])]
    rows += [["title", t["app"], t["title"], t["seconds"]] for t in report.get("titles", [])]
    rows += [["hour", f"{h['hour']:02d}:00", "", h["seconds"]] for h in report["hours"]]
    rows += [["timeline", t["timestamp"], f"{t['category']} | {t['app']}", t["duration"]]
             for t in report.get("timeline", [])]
    return _csv(rows)


def range_report_csv(report: dict) -> str:
    """A range report as CSV: one row per group, one column per category (seconds)."""
    names = [c["full_name"] for c in report["categories"]]
    rows = [["group", "start", "end", "active_seconds", "afk_seconds", "productivity", *names]]
    for g in report["groups"]:
        rows.append([g["key"], g["start"], g["end"], g["active_seconds"], g["afk_seconds"],
                     g["productivity"], *(g["categories"].get(n, 0) for n in names)])
    return _csv(rows)
