"""Reports: the day and range reports the dashboard draws, as JSON or CSV.

GET /api/0/reports/day?date=YYYY-MM-DD[&tz=Area/City][&start_of_day=HH:MM][&host=NAME]
    [&format=json|csv]
    The daily report (rules in tg_core.reports). Defaults: the day running now, this
    machine's time zone, the "start_of_day" setting (04:00), this machine's hostname as
    recorded in the buckets (else the first host with a window bucket). Fields: date, tz,
    start_of_day, host, hosts, start, end (UTC), day_hours (23/24/25), active_seconds,
    afk_seconds, browser_seconds, productivity (time-weighted mean category score) and
    productivity_breakdown, categories (tree: name, path, full_name, color, score, seconds
    incl. children, self_seconds, children), apps [{app, seconds}], domains [{domain,
    seconds}], pages [{url, title, seconds}], titles [{app, title, seconds}], uncategorized
    [{app, title, url, seconds}], hours (24 × {hour, seconds}, from the start-of-day hour),
    timeline [{timestamp, duration, app, category, color}]. Lists are largest first; pages,
    titles and uncategorized keep the top 100.
GET /api/0/reports/range?start=DATE&end=DATE[&group=day|week|month][&tz=][&start_of_day=]
    [&host=][&format=json|csv]
    Per-day totals and per-category trends for start..end (both included, at most 366 days),
    grouped by day (default), ISO week or month: days [{date, active_seconds, afk_seconds,
    productivity, categories {full name: seconds}}], groups [{key ("2024-05-06", "2024-W19",
    "2024-05"), start, end, days, active_seconds, afk_seconds, productivity, categories}],
    categories [{full_name, color, seconds}] (range totals), active_seconds, afk_seconds.
    CSV: one row per group, one column per category.

Bad dates, time zones, start-of-day values, groups or formats are 400s with a JSON error;
an unknown host is a 404 that lists the known ones.
"""

from __future__ import annotations

import socket
from datetime import datetime, timedelta

from aiohttp import web

from tg_core import reports
from tg_core.categories import build, load_classes
from tg_core.errors import BadRequest, NotFound
from tg_core.reports import Day, DayEvents

from ..context import STORAGE, run_db
from ..http import json_response

routes = web.RouteTableDef()

START_OF_DAY_SETTING = "start_of_day"
WINDOW, AFK, WEB = "currentwindow", "afkstatus", "web.tab.current"


def known_hosts(storage) -> list[str]:
    """Hosts that have a window or AFK bucket, sorted."""
    return sorted({b.hostname for b in storage.bucket_infos() if b.type in (WINDOW, AFK)})


def resolve_host(storage, host: str | None) -> str:
    """The host a report is for: the one asked for (404 if it has no buckets), else this
    machine's hostname, else the only (or first) host with a window bucket."""
    hosts = known_hosts(storage)
    if host:
        if host not in hosts:
            raise NotFound(f"no window or AFK bucket for host {host!r}; known hosts: "
                           f"{', '.join(hosts) or 'none'}", code="unknown_host")
        return host
    here = socket.gethostname()
    return here if here in hosts or not hosts else hosts[0]


def load_events(storage, host: str, start: datetime, end: datetime) -> DayEvents:
    """The host's window, AFK and browser events overlapping [start, end).

    Browser buckets of aw-watcher-web often say hostname "unknown": they are included, since
    browser time only counts while this host's browser window is focused anyway.
    """
    window, afk, web = [], None, {}
    for b in storage.bucket_infos():
        if b.type == WINDOW and b.hostname == host:
            window += storage.get_spans(b.name, start, end)
        elif b.type == AFK and b.hostname == host:
            afk = (afk or []) + storage.get_spans(b.name, start, end)
        elif b.type == WEB and b.hostname in (host, "unknown", ""):
            web[f"{b.name} {b.client}"] = storage.get_spans(b.name, start, end)
    return DayEvents(window, afk, web)  # sorts what several buckets put out of order


class Params:
    """The common query parameters of a report, validated (no database access)."""

    def __init__(self, query):
        tz = query.get("tz")
        self.tz = reports.parse_tz(tz if tz else reports.local_tz_name())
        sod = query.get("start_of_day")
        self.start_of_day = reports.parse_start_of_day(sod) if sod else None
        self.host = query.get("host") or None
        if self.host is not None and len(self.host) > 255:
            raise BadRequest("host is too long", code="invalid_host")
        self.format = query.get("format", "json")
        if self.format not in ("json", "csv"):
            raise BadRequest(f"invalid format {self.format!r}: expected json or csv",
                             code="invalid_format")
        self.download = "format" in query

    def today(self, start_of_day):
        """The report day that is running now (before the start of day, it is yesterday's)."""
        now = datetime.now(self.tz)
        return (now - timedelta(hours=start_of_day.hour, minutes=start_of_day.minute)).date()

    def resolve(self, storage) -> tuple:
        """(start_of_day, host), reading the start-of-day setting when not given."""
        sod = self.start_of_day
        if sod is None:
            try:
                sod = reports.parse_start_of_day(
                    storage.get_setting(START_OF_DAY_SETTING, reports.DEFAULT_START_OF_DAY))
            except BadRequest:  # a hand-edited setting must not break every report
                sod = reports.parse_start_of_day(reports.DEFAULT_START_OF_DAY)
        return sod, resolve_host(storage, self.host)


def day_report(storage, params: Params, date, *, categories=None) -> dict:
    """The daily report for `date`, or today's when None (blocking: run it in the DB
    executor)."""
    sod, host = params.resolve(storage)
    date = date or params.today(sod)
    day = Day.make(date, params.tz, sod)
    events = load_events(storage, host, day.start, day.end)
    cats = categories or build(load_classes(storage))
    report = reports.day_report(events, day, cats, host=host)
    report["hosts"] = known_hosts(storage)
    return report


def range_report(storage, params: Params, start, end, group: str) -> dict:
    """The range report for start..end (blocking)."""
    dates = reports.days_between(start, end)
    reports.group_key(start, group)
    sod, host = params.resolve(storage)
    days = [Day.make(d, params.tz, sod) for d in dates]
    events = load_events(storage, host, days[0].start, days[-1].end)
    cats = build(load_classes(storage))
    memo: dict = {}  # the spans' data dicts live until the end of this function
    day_reports = [reports.day_report(ev, day, cats, detail=False, host=host, memo=memo)
                   for ev, day in zip(events.split(days), days)]
    report = reports.range_report(day_reports, group)
    report["hosts"] = known_hosts(storage)
    return report


def _respond(params: Params, report: dict, csv_text, filename: str) -> web.Response:
    headers = {"Content-Disposition": f'attachment; filename="{filename}.{params.format}"'} \
        if params.download else None
    if params.format == "csv":
        return web.Response(text=csv_text(report), content_type="text/csv", charset="utf-8",
                            headers=headers)
    return json_response(report, headers=headers)


@routes.get("/api/0/reports/day")
async def get_day_report(request: web.Request) -> web.Response:
    """The daily report; see the module docstring for the parameters."""
    params = Params(request.query)
    date = request.query.get("date")
    date = reports.parse_date(date) if date else None
    report = await run_db(request, day_report, request.app[STORAGE], params, date)
    return _respond(params, report, reports.day_report_csv, f"timelygator-day-{report['date']}")


@routes.get("/api/0/reports/range")
async def get_range_report(request: web.Request) -> web.Response:
    """Per-day totals and category trends, grouped; see the module docstring."""
    params = Params(request.query)
    for name in ("start", "end"):
        if not request.query.get(name):
            raise BadRequest(f"missing '{name}': expected YYYY-MM-DD", code="invalid_date")
    start = reports.parse_date(request.query["start"])
    end = reports.parse_date(request.query["end"])
    group = request.query.get("group", "day")
    reports.group_key(start, group)
    reports.days_between(start, end)
    report = await run_db(request, range_report, request.app[STORAGE], params, start, end, group)
    return _respond(params, report, reports.range_report_csv,
                    f"timelygator-{group}-{start}-{end}")

