"""The reports and categories endpoints against a real tg-server with seeded buckets."""

import csv
import io

import pytest
from report_helpers import DAY, HOST, node, seed_days
from test_categories import AW_EXPORT

@pytest.fixture
def seeded(server):
    seed_days(server)
    return server


def day(server, **params):
    r = server.api("GET", "reports/day", params={"date": DAY, "tz": "UTC", **params})
    assert r.status_code == 200, r.text
    return r.json()




def test_day_report_applies_afk_audible_and_browser_focus(seeded):
    rep = day(seeded)
    # code 1h; firefox 10:00-10:30 audible (counts while AFK), 10:30-11:00 silent+AFK (not);
    # slack and inkscape 30 min each.
    assert rep["active_seconds"] == 3600 + 1800 + 1800 + 1800
    assert rep["afk_seconds"] == 1800
    assert {a["app"]: a["seconds"] for a in rep["apps"]} == {
        "code": 3600, "firefox": 1800, "slack": 1800, "inkscape": 1800}
    # Web time only while firefox was focused (not 09:00-10:00 while code was).
    assert {d["domain"]: d["seconds"] for d in rep["domains"]} == {"youtube.com": 1800}
    assert node(rep["categories"], "Media > Video")["seconds"] == 1800
    assert node(rep["categories"], "Comms > Chat")["seconds"] == 1800
    assert rep["uncategorized"][0]["app"] == "inkscape"
    assert rep["host"] == HOST and rep["hosts"] == [HOST]
    assert len(rep["hours"]) == 24 and rep["hours"][0]["hour"] == 4


def test_without_a_date_the_report_is_for_the_day_running_now(seeded):
    from datetime import datetime, timezone
    before = datetime.now(timezone.utc).date().isoformat()
    r = seeded.api("GET", "reports/day", params={"tz": "UTC", "start_of_day": "00:00"})
    after = datetime.now(timezone.utc).date().isoformat()
    assert r.status_code == 200 and r.json()["date"] in (before, after)


def test_day_report_defaults_to_the_only_host(seeded):
    r = seeded.api("GET", "reports/day", params={"date": DAY, "tz": "UTC"})
    assert r.json()["host"] == HOST


@pytest.mark.parametrize("params, code", [
    ({"date": "2024-02-30"}, "invalid_date"),
    ({"date": "today"}, "invalid_date"),
    ({"tz": "Mars/Olympus"}, "invalid_timezone"),
    ({"start_of_day": "25:00"}, "invalid_start_of_day"),
    ({"format": "xml"}, "invalid_format"),
])
def test_bad_report_parameters_are_400_json_errors(seeded, params, code):
    r = seeded.api("GET", "reports/day", params={"date": DAY, **params})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == code


def test_unknown_host_is_404_listing_known_hosts(seeded):
    r = seeded.api("GET", "reports/day", params={"date": DAY, "host": "nope"})
    assert r.status_code == 404 and HOST in r.json()["error"]["message"]


def test_day_report_as_csv_download(seeded):
    r = seeded.api("GET", "reports/day", params={"date": DAY, "tz": "UTC", "format": "csv"})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in r.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(r.text)))
    assert ["app", "code", "", "3600"] in rows


def test_start_of_day_setting_is_the_default(seeded):
    assert seeded.api("POST", "settings/start_of_day", json="10:30").status_code == 200
    rep = day(seeded)
    assert rep["start_of_day"] == "10:30"
    assert rep["start"] == "2024-05-06T10:30:00+00:00"
    # 10:30-12:00 only: firefox silent+AFK till 11:00, then slack and inkscape.
    assert rep["active_seconds"] == 3600


def test_range_report_groups_days_weeks_and_months(server):
    seed_days(server, ("2024-04-30", "2024-05-06", "2024-05-07"))
    r = server.api("GET", "reports/range", params={"start": "2024-04-29", "end": "2024-05-08",
                                                   "group": "week", "tz": "UTC"})
    assert r.status_code == 200, r.text
    rep = r.json()
    one_day = 9000
    assert [d["active_seconds"] for d in rep["days"]] == [0, one_day, 0, 0, 0, 0, 0, one_day,
                                                          one_day, 0]
    assert [(g["key"], g["active_seconds"]) for g in rep["groups"]] == [
        ("2024-W18", one_day), ("2024-W19", 2 * one_day)]
    assert rep["groups"][1]["categories"]["Media > Video"] == 2 * 1800
    months = server.api("GET", "reports/range", params={
        "start": "2024-04-29", "end": "2024-05-08", "group": "month", "tz": "UTC"}).json()
    assert [(g["key"], g["active_seconds"]) for g in months["groups"]] == [
        ("2024-04", one_day), ("2024-05", 2 * one_day)]
    r = server.api("GET", "reports/range", params={"start": "2024-04-29", "end": "2024-05-08",
                                                   "group": "month", "tz": "UTC",
                                                   "format": "csv"})
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0][:4] == ["group", "start", "end", "active_seconds"]
    assert rows[2][:4] == ["2024-05", "2024-05-01", "2024-05-31", str(2 * one_day)]


@pytest.mark.parametrize("params, code", [
    ({"start": "2024-05-02", "end": "2024-05-01"}, "invalid_range"),
    ({"start": "2023-01-01", "end": "2024-05-01"}, "invalid_range"),
    ({"start": "2024-05-01", "end": "2024-05-02", "group": "year"}, "invalid_group"),
    ({"end": "2024-05-02"}, "invalid_date"),
])
def test_bad_range_parameters_are_400(server, params, code):
    r = server.api("GET", "reports/range", params=params)
    assert r.status_code == 400 and r.json()["error"]["code"] == code


# --- categories --------------------------------------------------------------------------

def test_categories_default_then_replaced_and_reports_follow(seeded):
    got = seeded.api("GET", "categories").json()
    assert got["default"] is True
    assert ["Comms", "Chat"] in [c["name"] for c in got["categories"]]
    assert node(day(seeded)["categories"], "Work > Design") is None

    cats = got["categories"] + [{"name": ["Work", "Design"],
                                 "rule": {"type": "regex", "regex": "inkscape|gimp"},
                                 "data": {"color": "#123456", "score": 1}}]
    r = seeded.api("PUT", "categories", json={"categories": cats})
    assert r.status_code == 200 and r.json()["default"] is False
    # The rule applies to past data at once.
    design = node(day(seeded)["categories"], "Work > Design")
    assert design["seconds"] == 1800 and design["color"] == "#123456"

    assert seeded.api("DELETE", "categories").json()["default"] is True
    assert node(day(seeded)["categories"], "Work > Design") is None


def test_invalid_categories_store_nothing(seeded):
    before = seeded.api("GET", "categories").json()
    r = seeded.api("PUT", "categories", json=[{"name": ["X"], "rule": {"type": "regex",
                                                                        "regex": "(unclosed"}}])
    assert r.status_code == 400 and "categories[0]" in r.json()["error"]["message"]
    r = seeded.api("PUT", "categories", data="not json",
                   headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert seeded.api("GET", "categories").json() == before


def test_import_activitywatch_export_and_export_again(seeded):
    r = seeded.api("POST", "categories/import", json=AW_EXPORT)
    assert r.status_code == 200, r.text
    names = [c["name"] for c in r.json()["categories"]]
    assert ["Comms", "IM"] in names and ["Comms", "Chat"] not in names
    # aw-webui's "Slack" rule now also catches the lowercase app name.
    assert node(day(seeded)["categories"], "Comms > IM")["seconds"] == 1800
    exported = seeded.api("GET", "categories/export")
    assert "attachment" in exported.headers["Content-Disposition"]
    assert [c["name"] for c in exported.json()["categories"]] == names

    merged = seeded.api("POST", "categories/import", params={"mode": "merge"},
                        json=[[["Work", "Design"], {"type": "regex", "regex": "inkscape"}]])
    assert [c["name"] for c in merged.json()["categories"]] == names + [["Work", "Design"]]
    assert seeded.api("POST", "categories/import", params={"mode": "x"}, json=[]).status_code == 400


def test_preview_shows_rule_matches_and_uncategorized(seeded):
    r = seeded.api("POST", "categories/preview", json={
        "date": DAY, "tz": "UTC", "rule": {"type": "regex", "regex": "LOGO"}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["matches"] == [{"app": "inkscape", "title": "logo.svg", "url": None,
                                "seconds": 1800}]
    assert [u["app"] for u in body["uncategorized"]] == ["inkscape"]
    bad = seeded.api("POST", "categories/preview", json={"rule": {"type": "regex", "regex": "("}})
    assert bad.status_code == 400
