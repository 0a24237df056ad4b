"""The daily report on constructed events whose answers are known by hand."""

import csv
import io
from datetime import date, timedelta

import pytest
from report_helpers import Builder, events, make_categories, node

from tg_core.errors import BadRequest
from tg_core.reports import (day_report, day_report_csv, parse_date, parse_start_of_day,
                             parse_tz, rule_matches)

NOT_AFK = {"status": "not-afk"}
AFK = {"status": "afk"}


def by(items, key):
    return {i[key]: i["seconds"] for i in items}




# --- AFK ---------------------------------------------------------------------------------

def test_window_time_counts_only_while_not_afk(b, cats):
    ev = events(window=[b.ev("10:00", "11:00", app="code", title="main.py")],
                afk=[b.ev("10:00", "10:30", **NOT_AFK), b.ev("10:30", "11:00", **AFK)])
    rep = day_report(ev, b.day(), cats)
    assert rep["active_seconds"] == 1800
    assert rep["afk_seconds"] == 1800
    assert by(rep["apps"], "app") == {"code": 1800}


def test_time_without_afk_data_is_not_counted(b, cats):
    # The AFK watcher was not running 10:30-11:00: that time is unknown, not active.
    ev = events(window=[b.ev("10:00", "11:00", app="code")],
                afk=[b.ev("10:00", "10:30", **NOT_AFK)])
    assert day_report(ev, b.day(), cats)["active_seconds"] == 1800


def test_without_an_afk_bucket_all_window_time_counts(b, cats):
    ev = events(window=[b.ev("10:00", "11:00", app="code")], afk=None)
    rep = day_report(ev, b.day(), cats)
    assert rep["active_seconds"] == 3600 and rep["afk_seconds"] == 0


def test_overlapping_window_events_are_not_counted_twice(b, cats):
    ev = events(window=[b.ev("10:00", "10:40", app="code"), b.ev("10:20", "11:00", app="slack")],
                afk=[b.ev("09:00", "12:00", **NOT_AFK)])
    rep = day_report(ev, b.day(), cats)
    assert rep["active_seconds"] == 3600
    assert by(rep["apps"], "app") == {"code": 2400, "slack": 1200}


def test_audible_tab_in_focused_browser_counts_as_active_while_afk(b, cats):
    # Watching a video: no input after 10:10, but the focused browser's tab plays sound.
    ev = events(window=[b.ev("10:00", "11:00", app="firefox", title="Talk - YouTube")],
                afk=[b.ev("10:00", "10:10", **NOT_AFK), b.ev("10:10", "11:00", **AFK)],
                aw__watcher__web__firefox=[b.ev("10:00", "11:00", url="https://www.youtube.com/watch?v=1",
                                                title="Talk - YouTube", audible=True)])
    rep = day_report(ev, b.day(), cats)
    assert rep["active_seconds"] == 3600
    assert rep["afk_seconds"] == 0
    assert by(rep["domains"], "domain") == {"youtube.com": 3600}
    assert node(rep, "Media > Video")["seconds"] == 3600


def test_silent_tab_while_afk_does_not_count(b, cats):
    ev = events(window=[b.ev("10:00", "11:00", app="firefox")],
                afk=[b.ev("10:00", "10:10", **NOT_AFK), b.ev("10:10", "11:00", **AFK)],
                aw__watcher__web__firefox=[
                    b.ev("10:00", "10:30", url="https://a.org/", title="A", audible=False),
                    b.ev("10:30", "11:00", url="https://b.org/", title="B", audible=True)])
    rep = day_report(ev, b.day(), cats)
    # 10:00-10:10 input, 10:10-10:30 silent and AFK, 10:30-11:00 audible.
    assert rep["active_seconds"] == 600 + 1800
    assert rep["afk_seconds"] == 1200
    assert by(rep["domains"], "domain") == {"a.org": 600, "b.org": 1800}


def test_audible_tab_of_an_unfocused_browser_does_not_count(b, cats):
    ev = events(window=[b.ev("10:00", "11:00", app="code")],
                afk=[b.ev("10:00", "11:00", **AFK)],
                aw__watcher__web__firefox=[b.ev("10:00", "11:00", url="https://youtube.com/",
                                                audible=True)])
    rep = day_report(ev, b.day(), cats)
    assert rep["active_seconds"] == 0 and rep["afk_seconds"] == 3600
    assert rep["domains"] == []


# --- browser focus -----------------------------------------------------------------------

def test_browser_time_counts_only_while_a_browser_window_is_active(b, cats):
    # ActivityWatch showed 6h50m of browser time for 5h18m of browser focus: not here.
    ev = events(window=[b.ev("09:00", "14:18", app="firefox", title="GitHub"),
                        b.ev("14:18", "15:50", app="code", title="x.py")],
                afk=[b.ev("08:00", "16:00", **NOT_AFK)],
                aw__watcher__web__firefox=[b.ev("09:00", "15:50", url="https://github.com/a",
                                                title="GitHub")])
    rep = day_report(ev, b.day(), cats)
    assert by(rep["domains"], "domain") == {"github.com": 5 * 3600 + 18 * 60}
    assert rep["browser_seconds"] == 5 * 3600 + 18 * 60
    assert by(rep["apps"], "app") == {"firefox": 19080, "code": 5520}
    assert rep["pages"] == [{"url": "https://github.com/a", "title": "GitHub", "seconds": 19080}]


def test_browser_time_also_needs_the_user_present(b, cats):
    ev = events(window=[b.ev("10:00", "11:00", app="chromium")],
                afk=[b.ev("10:00", "10:15", **NOT_AFK), b.ev("10:15", "11:00", **AFK)],
                aw__watcher__web__chrome=[b.ev("10:00", "11:00", url="https://a.org/")])
    assert by(day_report(ev, b.day(), cats)["domains"], "domain") == {"a.org": 900}


def test_each_web_bucket_counts_only_while_its_own_browser_is_focused(b, cats):
    ev = events(window=[b.ev("10:00", "10:30", app="firefox"),
                        b.ev("10:30", "11:00", app="google-chrome")],
                afk=[b.ev("10:00", "11:00", **NOT_AFK)],
                aw__watcher__web__firefox=[b.ev("10:00", "11:00", url="https://a.org/")],
                aw__watcher__web__chrome=[b.ev("10:00", "11:00", url="https://b.org/")])
    assert by(day_report(ev, b.day(), cats)["domains"], "domain") == {"a.org": 1800,
                                                                     "b.org": 1800}


def test_browser_time_is_classified_by_the_tab_url(b, cats):
    ev = events(window=[b.ev("10:00", "11:00", app="firefox", title="Inbox - Mozilla Firefox")],
                afk=[b.ev("10:00", "11:00", **NOT_AFK)],
                aw__watcher__web__firefox=[b.ev("10:00", "10:20", url="https://mail.google.com/",
                                                title="Inbox"),
                                           b.ev("10:20", "10:40", url="https://example.org/",
                                                title="Example")])
    rep = day_report(ev, b.day(), cats)
    assert node(rep, "Comms > Email")["seconds"] == 1200
    # No tab data 10:40-11:00 and an unknown page: the browser window itself is Browsing.
    assert node(rep, "Browsing")["seconds"] == 2400


# --- day boundaries ----------------------------------------------------------------------

def test_day_starts_at_the_start_of_day_hour(b, cats):
    d = b.date
    ev = events(window=[b.ev("03:00", "05:00", app="code"),
                        b.ev("23:00", "01:00", end_day=d + timedelta(days=1), app="code")],
                afk=None)
    today = day_report(ev, b.day("04:00"), cats)
    yesterday = day_report(ev, b.day("04:00", d - timedelta(days=1)), cats)
    # 04:00-05:00 today; 23:00-01:00 crosses midnight but stays in today's 04:00 day.
    assert today["active_seconds"] == 3600 + 7200
    assert yesterday["active_seconds"] == 3600
    assert today["start"] == "2024-05-06T04:00:00+00:00"


def test_midnight_splits_days_when_the_day_starts_at_midnight(b, cats):
    d = b.date
    ev = events(window=[b.ev("23:00", "01:00", end_day=d + timedelta(days=1), app="code")])
    assert day_report(ev, b.day("00:00"), cats)["active_seconds"] == 3600
    assert day_report(ev, b.day("00:00", d + timedelta(days=1)), cats)["active_seconds"] == 3600


def test_the_day_follows_the_time_zone(cats):
    berlin = Builder("Europe/Berlin")  # UTC+2 in May
    ev = events(window=[berlin.ev("04:30", "05:00", app="code")])
    rep = day_report(ev, berlin.day("04:00"), cats)
    assert rep["start"] == "2024-05-06T02:00:00+00:00"
    assert rep["active_seconds"] == 1800
    assert by(rep["hours"], "hour")[4] == 1800


def test_spring_forward_day_has_23_hours(cats):
    ny = Builder("America/New_York", date(2024, 3, 10))
    day = ny.day("00:00")
    ev = events(window=[ny.ev("00:00", "00:00", end_day=date(2024, 3, 11), app="code")])
    rep = day_report(ev, day, cats)
    assert rep["day_hours"] == 23
    assert rep["active_seconds"] == 23 * 3600
    hours = by(rep["hours"], "hour")
    assert hours[2] == 0  # 02:00-03:00 does not exist that night
    assert all(hours[h] == 3600 for h in range(24) if h != 2)


def test_fall_back_day_has_25_hours(cats):
    berlin = Builder("Europe/Berlin", date(2024, 10, 27))
    ev = events(window=[berlin.ev("00:00", "00:00", end_day=date(2024, 10, 28), app="code")])
    rep = day_report(ev, berlin.day("00:00"), cats)
    assert rep["day_hours"] == 25
    assert rep["active_seconds"] == 25 * 3600
    hours = by(rep["hours"], "hour")
    assert hours[2] == 7200  # 02:00-03:00 happens twice
    assert sum(hours.values()) == 25 * 3600


def test_a_day_starting_at_four_that_contains_a_dst_change(cats):
    ny = Builder("America/New_York", date(2024, 3, 9))
    assert ny.day("04:00").hours_long == 23  # Sat 04:00 EST .. Sun 04:00 EDT
    assert ny.day("04:00", date(2024, 3, 10)).hours_long == 24


def test_hours_are_listed_from_the_start_of_day_and_sum_to_active(b, cats):
    ev = events(window=[b.ev("04:30", "06:15", app="code"), b.ev("22:00", "22:10", app="vlc")],
                afk=[b.ev("04:00", "23:00", **NOT_AFK)])
    rep = day_report(ev, b.day("04:00"), cats)
    assert [h["hour"] for h in rep["hours"]] == [*range(4, 24), 0, 1, 2, 3]
    assert by(rep["hours"], "hour") | {} == {**{h: 0 for h in range(24)},
                                             4: 1800, 5: 3600, 6: 900, 22: 600}
    assert sum(h["seconds"] for h in rep["hours"]) == rep["active_seconds"]


# --- categories, productivity, timeline --------------------------------------------------

def test_deepest_match_wins_and_ties_go_to_priority(b):
    cats = make_categories([
        ("Work", "acme", {}, {"color": "#00ff00", "score": 1}),
        ("Work > Programming", "code", {}, {"score": 2}),
        ("Media > Video", "youtube", {"priority": 5}, {"color": "#ff0000", "score": -1}),
    ])
    ev = events(window=[b.ev("10:00", "10:10", app="x", title="acme code review"),
                        b.ev("10:10", "10:30", app="x", title="code talk on youtube"),
                        b.ev("10:30", "11:00", app="x", title="acme wiki")])
    rep = day_report(ev, b.day(), cats)
    assert node(rep, "Work > Programming")["seconds"] == 600
    assert node(rep, "Media > Video")["seconds"] == 1200
    assert node(rep, "Work")["seconds"] == 2400  # parents include their children
    assert node(rep, "Work")["self_seconds"] == 1800
    assert node(rep, "Work > Programming")["color"] == "#00ff00"  # inherited
    assert rep["categories"]["seconds"] == 3600


def test_a_rule_change_applies_to_past_data(b):
    ev = events(window=[b.ev("10:00", "11:00", app="inkscape", title="drawing.svg")])
    before = day_report(ev, b.day(), make_categories([("Design", "gimp", {}, {})]))
    after = day_report(ev, b.day(), make_categories([("Design", "gimp|inkscape", {}, {})]))
    assert node(before, "Uncategorized")["seconds"] == 3600
    assert node(after, "Design")["seconds"] == 3600 and node(after, "Uncategorized") is None
    assert before["uncategorized"] == [{"app": "inkscape", "title": "drawing.svg", "url": None,
                                        "seconds": 3600}]
    assert after["uncategorized"] == []


def test_productivity_is_the_time_weighted_mean_score(b, cats):
    ev = events(window=[b.ev("10:00", "11:00", app="code"),  # Programming, +2
                        b.ev("11:00", "12:00", app="vlc")])  # Video, -1
    rep = day_report(ev, b.day(), cats)
    assert rep["productivity"] == 0.5
    assert rep["productivity_breakdown"] == {"productive_seconds": 3600,
                                             "neutral_seconds": 0, "distracting_seconds": 3600}


def test_timeline_joins_contiguous_pieces_of_one_app_and_category(b, cats):
    ev = events(window=[b.ev("10:00", "10:10", app="code", title="a.py"),
                        b.ev("10:10", "10:20", app="code", title="b.py"),
                        b.ev("10:20", "10:30", app="slack", title="general"),
                        b.ev("10:40", "10:50", app="slack", title="general")])
    tl = day_report(ev, b.day(), cats)["timeline"]
    assert [(t["app"], t["category"], t["duration"]) for t in tl] == [
        ("code", "Work > Programming", 1200), ("slack", "Comms > Chat", 600),
        ("slack", "Comms > Chat", 600)]
    assert tl[0]["timestamp"] == "2024-05-06T10:00:00+00:00" and tl[0]["color"] == "#43a047"
    assert tl[2]["timestamp"] == "2024-05-06T10:40:00+00:00"


def test_titles_are_the_top_window_titles(b, cats):
    ev = events(window=[b.ev("10:00", "10:10", app="code", title="a.py"),
                        b.ev("10:10", "10:40", app="code", title="b.py"),
                        b.ev("10:40", "10:50", app="code", title="a.py")])
    titles = day_report(ev, b.day(), cats)["titles"]
    assert titles == [{"app": "code", "title": "b.py", "seconds": 1800},
                      {"app": "code", "title": "a.py", "seconds": 1200}]


def test_odd_data_types_neither_crash_nor_split_an_app(b, cats):
    ev = events(window=[b.ev("10:00", "10:10", app=["a", "b"], title={"x": 1}),
                        b.ev("10:10", "10:20", app=["a", "b"], title=None),
                        b.ev("10:20", "10:30", app=42)],
                aw__watcher__web__firefox=[b.ev("10:00", "10:30", url=["not", "a", "url"])])
    rep = day_report(ev, b.day(), cats)
    assert by(rep["apps"], "app") == {"['a', 'b']": 1200, "42": 600}
    assert rep["domains"] == [] and rep["active_seconds"] == 1800


def test_an_empty_day_is_a_valid_report(b, cats):
    rep = day_report(events(), b.day(), cats)
    assert rep["active_seconds"] == 0 and rep["productivity"] == 0
    assert rep["categories"]["children"] == [] and len(rep["hours"]) == 24


def test_rule_matches_lists_what_a_rule_would_catch(b, cats):
    ev = events(window=[b.ev("10:00", "10:30", app="inkscape", title="logo.svg"),
                        b.ev("10:30", "11:00", app="code", title="x")])
    found = rule_matches(ev, b.day(), lambda d: "svg" in d["title"])
    assert found == [{"app": "inkscape", "title": "logo.svg", "url": None, "seconds": 1800}]


def test_day_report_csv_has_one_row_per_item(b, cats):
    ev = events(window=[b.ev("10:00", "11:00", app="code", title="x")])
    rows = list(csv.reader(io.StringIO(day_report_csv(day_report(ev, b.day(), cats)))))
    assert rows[0] == ["section", "name", "detail", "seconds"]
    assert ["app", "code", "", "3600"] in rows
    assert ["category", "Work > Programming", "#43a047", "3600"] in rows
    assert ["summary", "active", "2024-05-06", "3600"] in rows


# --- parsing -----------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["2024-13-01", "2024-02-30", "yesterday", "", None, "20240101"])
def test_bad_dates_are_rejected(value):
    with pytest.raises(BadRequest) as err:
        parse_date(value)
    assert err.value.code == "invalid_date"


@pytest.mark.parametrize("value", ["Mars/Olympus", "", "../../etc/passwd", "/etc/localtime", None])
def test_bad_time_zones_are_rejected(value):
    with pytest.raises(BadRequest) as err:
        parse_tz(value)
    assert err.value.code == "invalid_timezone"


@pytest.mark.parametrize("value", ["24:00", "4", "04:60", "x", None])
def test_bad_start_of_day_is_rejected(value):
    with pytest.raises(BadRequest):
        parse_start_of_day(value)


def test_good_values_parse():
    assert parse_date("2024-02-29") == date(2024, 2, 29)
    assert parse_tz("Europe/Berlin").key == "Europe/Berlin"
    assert parse_start_of_day("4:30").strftime("%H:%M") == "04:30"
