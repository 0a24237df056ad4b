"""The event transforms: ActivityWatch's rules, edge cases, and that inputs are never changed."""

import copy
from datetime import datetime, timedelta, timezone

import pytest

from tg_core.errors import BadRequest
from tg_core.event import Event
from tg_core.transforms import (
    Classifier, Rule, Tagger, categorize, chunk_events_by_key, concat, domain_of,
    exclude_keyvals, filter_keyvals, filter_keyvals_regex, filter_period_intersect, flood,
    limit_events, merge_events_by_keys, period_union, simplify_window_titles, sort_by_duration,
    sort_by_timestamp, split_url_events, sum_durations, tag, union_no_overlap,
)

UTC = timezone.utc
BASE = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def ev(start, duration, eid=None, **data):
    """An event `start` seconds after BASE."""
    return Event(BASE + timedelta(seconds=start), float(duration), data, eid)


def spans(events):
    """(start seconds after BASE, duration, data) per event."""
    return [((e.timestamp - BASE).total_seconds(), e.duration, e.data) for e in events]


def snapshot(events):
    return [(e.timestamp, e.duration, copy.deepcopy(e.data), id(e.data), e.id) for e in events]


@pytest.fixture
def unchanged():
    """Call with input lists; at teardown asserts they were not modified in any way."""
    taken = []

    def keep(*lists):
        for events in lists:
            taken.append((events, snapshot(events)))

    yield keep
    for events, before in taken:
        assert snapshot(events) == before


# ---------------------------------------------------------------------------- flood

def test_flood_of_nothing_is_nothing():
    assert flood([]) == []


def test_flood_splits_a_short_gap_between_different_events_at_its_midpoint(unchanged):
    events = [ev(0, 10, app="a"), ev(12, 10, app="b")]
    unchanged(events)
    assert spans(flood(events)) == [(0, 11, {"app": "a"}), (11, 11, {"app": "b"})]


def test_flood_leaves_gaps_longer_than_pulsetime():
    events = [ev(0, 10, app="a"), ev(16, 10, app="b")]
    assert spans(flood(events)) == spans(events)
    assert spans(flood(events, pulsetime=6)) == [(0, 13, {"app": "a"}), (13, 13, {"app": "b"})]


def test_flood_merges_equal_neighbours_across_the_gap(unchanged):
    events = [ev(0, 10, 1, app="a"), ev(13, 2, 2, app="a")]
    unchanged(events)
    out = flood(events)
    assert spans(out) == [(0, 15, {"app": "a"})]
    assert out[0].id == 1


def test_flood_lets_the_longer_equal_event_swallow_a_shorter_earlier_one():
    out = flood([ev(0, 2, 1, app="a"), ev(4, 10, 2, app="a")])
    assert spans(out) == [(0, 14, {"app": "a"})]
    assert out[0].id == 2


def test_flood_merges_overlapping_equal_events():
    assert spans(flood([ev(0, 10, app="a"), ev(5, 10, app="a")])) == [(0, 15, {"app": "a"})]


def test_flood_gives_an_overlap_of_different_events_to_the_later_one():
    out = flood([ev(0, 10, app="a"), ev(5, 10, app="b")])
    assert spans(out) == [(0, 5, {"app": "a"}), (5, 10, {"app": "b"})]


def test_flood_drops_zero_duration_events_and_sorts_unsorted_input():
    out = flood([ev(20, 5, app="c"), ev(0, 0, app="z"), ev(0, 10, app="a"), ev(10, 10, app="b")])
    assert spans(out) == [(0, 10, {"app": "a"}), (10, 10, {"app": "b"}),
                          (20, 5, {"app": "c"})]


def test_flood_midpoint_of_an_odd_microsecond_gap_rounds_half_to_even():
    a = Event(BASE, 1.0, {"app": "a"})
    b = Event(BASE + timedelta(seconds=1, microseconds=3), 1.0, {"app": "b"})
    out = flood([a, b])
    assert out[1].timestamp == BASE + timedelta(seconds=1, microseconds=2)  # 1.5 -> 2
    assert out[0].duration == 1.000002
    assert out[1].duration == 1.000001  # still ends at 2.000003


def test_flood_keeps_timestamps_aware_utc_and_total_time_consistent():
    events = [ev(i * 7, 5, app=str(i % 3)) for i in range(50)]
    out = flood(events)
    assert all(e.timestamp.tzinfo is not None and e.timestamp.utcoffset() == timedelta(0)
               for e in out)
    for a, b in zip(out, out[1:]):
        assert a.end <= b.timestamp  # never overlapping
    assert sum(e.duration for e in out) == pytest.approx((out[-1].end - out[0].timestamp)
                                                         .total_seconds())


# ---------------------------------------------------------------------------- periods

def test_filter_period_intersect_keeps_only_the_parts_inside_filter_events(unchanged):
    events = [ev(2, 7, 1, app="a"), ev(15, 8, 2, app="b")]
    filters = [ev(0, 6, status="not-afk"), ev(8, 3, status="not-afk"),
               ev(13, 3, status="not-afk"), ev(18, 4, status="not-afk")]
    unchanged(events, filters)
    out = filter_period_intersect(events, filters)
    assert spans(out) == [(2, 4, {"app": "a"}), (8, 1, {"app": "a"}), (15, 1, {"app": "b"}),
                          (18, 4, {"app": "b"})]
    assert [e.id for e in out] == [1, 1, 2, 2]


def test_filter_period_intersect_drops_events_merely_touching_a_filter_period():
    assert filter_period_intersect([ev(10, 5, app="a")], [ev(0, 10)]) == []
    assert filter_period_intersect([ev(0, 5, app="a")], [ev(5, 10)]) == []


def test_filter_period_intersect_keeps_a_zero_duration_event_inside_a_period():
    assert spans(filter_period_intersect([ev(3, 0, app="a")], [ev(0, 10)])) == [
        (3, 0, {"app": "a"})]


def test_filter_period_intersect_handles_empty_and_unsorted_input():
    assert filter_period_intersect([], [ev(0, 10)]) == []
    assert filter_period_intersect([ev(0, 10)], []) == []
    out = filter_period_intersect([ev(20, 10, app="b"), ev(0, 10, app="a")],
                                  [ev(25, 10), ev(5, 10)])
    assert spans(out) == [(5, 5, {"app": "a"}), (25, 5, {"app": "b"})]


def test_period_union_joins_overlapping_and_touching_periods_and_clears_data(unchanged):
    e1 = [ev(2, 7, app="a"), ev(16, 9, app="b")]
    e2 = [ev(0, 6, x=1), ev(8, 3, x=2), ev(13, 2, x=3), ev(25, 1, x=4)]
    unchanged(e1, e2)
    assert spans(period_union(e1, e2)) == [(0, 11, {}), (13, 2, {}), (16, 10, {})]
    assert period_union([], []) == []


def test_union_no_overlap_gives_the_first_list_precedence(unchanged):
    e1 = [ev(0, 3, k="x"), ev(7, 2, k="x"), ev(14, 3, k="x")]
    e2 = [ev(1, 4, k="-"), ev(10, 6, k="-"), ev(19, 2, k="-")]
    unchanged(e1, e2)
    assert spans(union_no_overlap(e1, e2)) == [
        (0, 3, {"k": "x"}), (3, 2, {"k": "-"}), (7, 2, {"k": "x"}), (10, 4, {"k": "-"}),
        (14, 3, {"k": "x"}), (19, 2, {"k": "-"})]


def test_union_no_overlap_cuts_a_long_second_event_around_first_events():
    out = union_no_overlap([ev(2, 2, k="x"), ev(6, 2, k="x")], [ev(0, 10, 7, k="-")])
    assert spans(out) == [(0, 2, {"k": "-"}), (2, 2, {"k": "x"}), (4, 2, {"k": "-"}),
                          (6, 2, {"k": "x"}), (8, 2, {"k": "-"})]
    assert out[0].id == out[2].id == out[4].id == 7
    assert spans(union_no_overlap([], [ev(0, 1)])) == [(0, 1, {})]
    assert spans(union_no_overlap([ev(0, 1)], [])) == [(0, 1, {})]


# ---------------------------------------------------------------------------- merge

def test_merge_events_by_keys_sums_per_value_in_order_of_first_appearance(unchanged):
    events = [ev(0, 1, 1, app="a", title="1"), ev(5, 2, 2, app="b", title="2"),
              ev(9, 4, 3, app="a", title="3")]
    unchanged(events)
    out = merge_events_by_keys(events, ["app"])
    assert spans(out) == [(0, 5, {"app": "a"}), (5, 2, {"app": "b"})]
    assert all(e.id is None for e in out)


def test_merge_events_by_keys_drops_events_missing_a_key():
    events = [ev(0, 1, app="a", title="t"), ev(1, 2, app="a"), ev(3, 4, title="t")]
    assert spans(merge_events_by_keys(events, ["app", "title"])) == [
        (0, 1, {"app": "a", "title": "t"})]


def test_merge_events_by_keys_groups_list_values_by_content():
    events = [ev(0, 1, c=["Work", "Dev"]), ev(1, 2, c=["Work", "Dev"]), ev(3, 4, c=["Work"])]
    assert spans(merge_events_by_keys(events, ["c"])) == [
        (0, 3, {"c": ["Work", "Dev"]}), (3, 4, {"c": ["Work"]})]


def test_merge_events_by_keys_sums_exact_microseconds_and_keeps_events_without_keys():
    events = [ev(0, 0.1, a=1), ev(1, 0.2, a=1)]
    assert merge_events_by_keys(events, ["a"])[0].duration == 0.3
    assert merge_events_by_keys(events, []) == events
    assert merge_events_by_keys([], ["a"]) == []


def test_chunk_events_by_key_joins_runs_and_keeps_subevents_as_json(unchanged):
    events = [ev(0, 1, app="a"), ev(1, 1, app="a"), ev(2, 1, app="b"), ev(3, 1, app="a")]
    unchanged(events)
    out = chunk_events_by_key(events, "app")
    assert [(e.data["app"], e.duration, len(e.data["subevents"])) for e in out] == [
        ("a", 2, 2), ("b", 1, 1), ("a", 1, 1)]
    assert out[0].data["subevents"][1] == events[1].to_json()


def test_chunk_events_by_key_stops_at_the_first_event_without_the_key_like_aw_core():
    out = chunk_events_by_key([ev(0, 1, app="a"), ev(1, 1), ev(2, 1, app="a")], "app")
    assert [(e.data["app"], e.duration) for e in out] == [("a", 1)]
    assert chunk_events_by_key([], "app") == []


# ---------------------------------------------------------------------------- filters

def test_filter_and_exclude_keyvals_split_events_by_value(unchanged):
    events = [ev(0, 1, status="afk"), ev(1, 1, status="not-afk"), ev(2, 1)]
    unchanged(events)
    assert filter_keyvals(events, "status", ["not-afk"]) == [events[1]]
    assert exclude_keyvals(events, "status", ["not-afk"]) == [events[0], events[2]]
    assert filter_keyvals(events, "status", []) == []


def test_filter_keyvals_compares_list_values_by_content():
    events = [ev(0, 1, c=["Work"]), ev(1, 1, c=["Play"]), ev(2, 1, c="Work")]
    assert filter_keyvals(events, "c", [["Work"]]) == [events[0]]
    assert exclude_keyvals(events, "c", [["Work"], "Work"]) == [events[1]]


def test_filter_keyvals_regex_searches_string_values_only():
    events = [ev(0, 1, app="Firefox"), ev(1, 1, app="code"), ev(2, 1), ev(3, 1, app=3)]
    assert filter_keyvals_regex(events, "app", "fox") == [events[0]]
    assert filter_keyvals_regex(events, "app", "(?i)^FIRE") == [events[0]]
    assert filter_keyvals_regex(events, "app", "") == events[:2]


def test_filter_keyvals_regex_rejects_an_invalid_pattern():
    with pytest.raises(BadRequest, match="invalid regex"):
        filter_keyvals_regex([ev(0, 1, app="a")], "app", "(unclosed")


# ---------------------------------------------------------------------------- sort and sums

def test_sorts_are_stable_and_do_not_touch_the_input(unchanged):
    events = [ev(5, 2, n=1), ev(0, 3, n=2), ev(5, 3, n=3), ev(1, 2, n=4)]
    unchanged(events)
    assert [e.data["n"] for e in sort_by_timestamp(events)] == [2, 4, 1, 3]
    assert [e.data["n"] for e in sort_by_duration(events)] == [2, 3, 1, 4]
    assert sort_by_duration([]) == []


def test_limit_concat_and_sum_durations():
    events = [ev(i, 0.1) for i in range(3)]
    assert limit_events(events, 2) == events[:2]
    assert limit_events(events, 0) == []
    assert limit_events(events, -1) == events[:2]  # Python slice, as in aw-core
    assert concat(events[:1], events[1:]) == events
    assert sum_durations(events) == 0.3  # exact microseconds, not 0.30000000000000004
    assert sum_durations([]) == 0


# ---------------------------------------------------------------------------- urls, titles

def test_split_url_events_adds_the_url_parts(unchanged):
    events = [ev(0, 1, url="https://www.example.com:8080/a/b;p?q=1#frag"), ev(1, 1, app="x"),
              ev(2, 1, url="file:///home/me/x.pdf"), ev(3, 1, url=None)]
    unchanged(events)
    out = split_url_events(events)
    assert out[0].data == {**events[0].data, "$protocol": "https", "$domain": "example.com:8080",
                           "$path": "/a/b", "$params": "p", "$options": "q=1",
                           "$identifier": "frag"}
    assert out[1] is events[1] and out[3] is events[3]
    assert out[2].data["$domain"] == "file"
    assert domain_of("http://www.github.com/x") == "github.com"
    assert domain_of("http://[::1") == ""


def test_simplify_window_titles_removes_counters_fps_and_unsaved_markers(unchanged):
    events = [ev(0, 1, app="Code", title="● main.py - Code"), ev(1, 1, title="(3) Inbox"),
              ev(2, 1, app="Cemu", title="Cemu - FPS: 59.2 - Game"), ev(3, 1, title="* x"),
              ev(4, 1, app="a")]
    unchanged(events)
    out = simplify_window_titles(events, "title")
    assert [e.data.get("title") for e in out] == ["main.py - Code", "Inbox",
                                                 "Cemu - FPS: ... - Game", "* x", None]


# ---------------------------------------------------------------------------- categories

CLASSES = [
    [["Work"], {"type": "regex", "regex": "code|term"}],
    [["Work", "Programming"], {"type": "regex", "regex": "\\.py\\b", "ignore_case": True}],
    [["Media"], {"type": "regex", "regex": "YouTube"}],
    [["Nothing"], {"type": "none"}],
]


def test_categorize_picks_the_deepest_match_and_falls_back_to_uncategorized(unchanged):
    events = [ev(0, 1, app="code", title="main.PY"), ev(1, 1, app="code", title="README"),
              ev(2, 1, app="firefox", title="youtube"), ev(3, 1, app="x", count=3)]
    unchanged(events)
    out = categorize(events, CLASSES)
    assert [e.data["$category"] for e in out] == [
        ["Work", "Programming"], ["Work"], ["Uncategorized"], ["Uncategorized"]]
    assert out[0].data["app"] == "code"


def test_categorize_shares_new_data_between_events_that_shared_data():
    shared = {"app": "code"}
    events = [Event(BASE, 1, shared), Event(BASE, 2, shared)]
    out = categorize(events, CLASSES)
    assert out[0].data is out[1].data and out[0].data is not shared
    assert shared == {"app": "code"}


def test_aw_ranking_breaks_ties_by_later_rule_and_honours_aw_priority():
    classes = [[["A"], {"type": "regex", "regex": "x"}], [["B"], {"type": "regex", "regex": "x"}],
               [["C", "D"], {"type": "regex", "regex": "y"}],
               [["E"], {"type": "regex", "regex": "y", "priority": 25}]]
    data = {"title": "x y"}
    assert Classifier.from_classes(classes, aw_ranking=True).classify({"t": "x"}) == ["B"]
    assert Classifier.from_classes(classes, aw_ranking=True).classify(data) == ["E"]
    assert categorize([Event(BASE, 1, data)], classes)[0].data["$category"] == ["E"]


def test_classifier_ranks_depth_then_priority_then_first_listed():
    c = Classifier([(["A"], Rule("x")), (["B"], Rule("x")), (["C"], Rule("x", priority=1)),
                    (["D", "E"], Rule("deep"))])
    assert c.classify({"title": "x"}) == ["C"]
    assert c.classify({"title": "x deep"}) == ["D", "E"]
    assert Classifier([(["A"], Rule("x")), (["B"], Rule("x"))]).classify({"t": "X"}) == ["A"]


def test_rule_fields_limit_where_the_regex_looks_and_domain_comes_from_the_url():
    rule = Rule("github", fields=["domain"])
    assert rule.match({"url": "https://www.github.com/x", "title": "t"})
    assert not rule.match({"title": "github", "url": "https://example.com"})
    assert Rule("GIT").match({"title": "github"})  # ignore_case by default
    assert not Rule("GIT", ignore_case=False).match({"title": "github"})
    assert not Rule("").match({"title": "anything"}) and not Rule(None).match({"a": "b"})
    assert not Rule("1").match({"n": 1})  # only strings are searched


def test_classifier_from_classes_reads_fields_select_keys_and_case():
    c = Classifier.from_classes([
        [["Code"], {"type": "regex", "regex": "code", "fields": ["app"]}],
        [["Web"], {"type": "regex", "regex": "^example", "fields": ["domain"], "priority": 3}],
        [["Sel"], {"type": "regex", "regex": "zz", "select_keys": ["custom"]}],
    ], default_ignore_case=True)
    assert c.classify({"app": "CODE"}) == ["Code"]
    assert c.classify({"title": "code"}) == ["Uncategorized"]
    assert c.classify({"url": "http://example.org/code"}) == ["Web"]
    assert c.classify({"custom": "zz"}) == ["Sel"]


@pytest.mark.parametrize("classes, message", [
    ([[["Work", "Dev"], {"type": "regex", "regex": "(oops"}]], "'Work > Dev'"),
    ([[["Work"], {"type": "regex", "regex": "x", "fields": ["nope"]}]], "'Work'.*fields"),
    ([[["Work"], {"type": "regex", "regex": "x", "priority": "high"}]], "'Work'.*priority"),
    ([[["Work"], "regex"]], "'Work'.*object"),
    ([["Work", {"type": "none"}]], "list of strings"),
    ([["only one"]], r"categories\[0\]"),
    ("not a list", "list"),
])
def test_classifier_rejects_bad_rules_naming_the_category(classes, message):
    with pytest.raises(BadRequest, match=message):
        Classifier.from_classes(classes)


def test_classifier_caches_per_distinct_data_and_returns_fresh_lists():
    c = Classifier.from_classes(CLASSES)
    events = [Event(BASE, 1, {"app": "code", "n": i % 2}) for i in range(1000)]
    out = c.categorize(events)
    assert {tuple(e.data["$category"]) for e in out} == {("Work",)}
    assert len(c._cache) == 1  # non-string values cannot change the category
    first = c.classify({"app": "code"})
    first.append("mutated")
    assert c.classify({"app": "code"}) == ["Work"]


def test_tag_sets_every_matching_tag_in_rule_order(unchanged):
    classes = [["dev", {"type": "regex", "regex": "code"}], ["fun", {"type": "regex", "regex": "tube"}],
               ["late", {"type": "regex", "regex": "code"}]]
    events = [ev(0, 1, app="code youtube"), ev(1, 1, app="x")]
    unchanged(events)
    assert [e.data["$tags"] for e in tag(events, classes)] == [["dev", "fun", "late"], []]
    assert Tagger.from_classes(classes).tags({"a": "tube"}) == ["fun"]
