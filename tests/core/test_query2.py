"""query2: parsing, every built-in, errors that point at the problem, and the SQL push-down."""

import json
import random
from datetime import datetime, timedelta, timezone

import pytest

from tg_core import query2, transforms as T
from tg_core.errors import NotFound, QueryError
from tg_core.event import Event

UTC = timezone.utc
BASE = datetime(2024, 3, 1, tzinfo=UTC)
DAY = f"{BASE.isoformat()}/{(BASE + timedelta(days=1)).isoformat()}"


class MemorySource:
    """An in-memory EventSource that records calls; its summarize_by_keys is written
    independently of transforms.merge_events_by_keys, as the SQL one is."""

    def __init__(self, buckets: dict):
        self.buckets = buckets  # id -> (hostname, events)
        self.calls = []

    def bucket_ids(self):
        return list(self.buckets)

    def bucket_hostname(self, bucket_id):
        self._need(bucket_id)
        return self.buckets[bucket_id][0]

    def _need(self, bucket_id):
        if bucket_id not in self.buckets:
            raise NotFound(f"no bucket {bucket_id}")

    def get_events(self, bucket_id, start, end, limit=None):
        self.calls.append(("get_events", bucket_id, limit))
        self._need(bucket_id)
        out = []
        for e in sorted(self.buckets[bucket_id][1], key=lambda e: e.timestamp):
            if start is not None and not (e.end > start or (e.duration == 0 and e.timestamp >= start)):
                continue
            if end is not None and e.timestamp >= end:
                continue
            ts = max(e.timestamp, start) if start else e.timestamp
            stop = min(e.end, end) if end else e.end
            out.append(Event(ts, (stop - ts) / timedelta(microseconds=1) / 1e6, e.data, e.id))
        return out[:limit] if limit is not None else out

    def count_events(self, bucket_id, start, end):
        self.calls.append(("count_events", bucket_id))
        return len(self.get_events(bucket_id, start, end))

    def summarize_by_keys(self, bucket_id, start, end, keys):
        self.calls.append(("summarize_by_keys", bucket_id, tuple(keys)))
        self._need(bucket_id)
        groups = {}
        for e in self.get_events(bucket_id, start, end):
            if not all(k in e.data for k in keys):
                continue
            key = json.dumps([e.data[k] for k in keys])
            ts, us, data = groups.get(key, (e.timestamp, 0, {k: e.data[k] for k in keys}))
            groups[key] = (ts, us + round(e.duration * 1e6), data)
        self.calls = [c for c in self.calls if c[0] != "get_events"]  # internal use only
        return [Event(ts, us / 1e6, data) for ts, us, data in groups.values()]


def window_events(n=300, seed=1):
    rng = random.Random(seed)
    out, t = [], 0.0
    for i in range(n):
        t += rng.choice([0, 0, 0.5, 3, 30])
        d = rng.choice([0, 1, 5, 60, 300.25])
        data = {"app": rng.choice(["code", "firefox", "term"]),
                "title": rng.choice(["main.py", "YouTube", "docs", "(2) Inbox"])}
        if rng.random() < 0.1:
            del data["title"]
        out.append(Event(BASE + timedelta(seconds=t), d, data, i + 1))
        t += d
    return out


def afk_events():
    return [Event(BASE + timedelta(minutes=10 * i), 420.0,
                  {"status": "not-afk" if i % 3 else "afk"}, 1000 + i) for i in range(30)]


@pytest.fixture
def source():
    return MemorySource({
        "aw-watcher-window_host1": ("host1", window_events()),
        "aw-watcher-afk_host1": ("host1", afk_events()),
        "aw-watcher-window_host2": ("host2", [Event(BASE, 10.0, {"app": "other"}, 9000)]),
    })


def run(source, query, periods=(DAY,), name=""):
    return query2.run_query(source, query, list(periods), name)


def as_json(events):
    return [e.to_json() for e in events]


def events_of(source, bucket_id, start=BASE, end=BASE + timedelta(days=1)):
    return MemorySource.get_events(source, bucket_id, start, end)


# ---------------------------------------------------------------------------- parsing

def test_literals_of_every_kind_evaluate_to_json_values(source):
    q = """x = [1, -2, 2.5, 1e3, "dq", 'sq', true, false, null, True, False, None];
           RETURN = {"x": x, "empty": [], "obj": {}, "nested": {"a": [{"b": 1}]}}"""
    assert run(source, q) == [{"x": [1, -2, 2.5, 1000.0, "dq", "sq", True, False, None, True,
                                     False, None], "empty": [], "obj": {}, "nested": {"a": [{"b": 1}]}}]


def test_strings_unescape_only_their_own_quote_like_aw_core(source):
    q = r"""RETURN = ["a\"b", 'it\'s', "\w+\.py", 'say "hi"', "semi;colon", "a\\"];"""
    assert run(source, q) == [['a"b', "it's", r"\w+\.py", 'say "hi"', "semi;colon", "a\\\\"]]


def test_the_api_list_of_statements_and_empty_statements_are_accepted(source):
    lines = ["a = 1;", ";", "b = [a,", "  2];", "RETURN = b"]
    assert run(source, lines) == [[1, 2]]


def test_names_refer_to_earlier_assignments_and_can_be_reassigned(source):
    assert run(source, "a = 1; a = [a, a]; RETURN = a;") == [[1, 1]]


def test_name_starttime_and_endtime_describe_the_period(source):
    period = "2024-03-01T00:00:00+02:00/2024-03-01T12:00:00Z"
    assert run(source, "RETURN = [NAME, STARTTIME, ENDTIME];", [period], name="n") == [
        ["n", "2024-03-01T00:00:00+02:00", "2024-03-01T12:00:00+00:00"]]


def test_query_never_reaches_eval(source):
    with pytest.raises(QueryError, match="unknown function '__import__'"):
        run(source, 'RETURN = __import__("os");')
    with pytest.raises(QueryError, match="unexpected character"):
        run(source, "RETURN = (1).real;")


# ---------------------------------------------------------------------------- built-ins

def test_query_bucket_returns_the_events_cropped_to_the_period(source):
    period = f"{(BASE + timedelta(seconds=100)).isoformat()}/{(BASE + timedelta(hours=1)).isoformat()}"
    out = run(source, 'RETURN = query_bucket("aw-watcher-window_host1");', [period])[0]
    expected = events_of(source, "aw-watcher-window_host1", BASE + timedelta(seconds=100),
                         BASE + timedelta(hours=1))
    assert out == as_json(expected) and out
    assert out[0]["timestamp"] >= (BASE + timedelta(seconds=100)).isoformat()


def test_query_bucket_eventcount_counts_in_the_period(source):
    assert run(source, 'RETURN = query_bucket_eventcount("aw-watcher-afk_host1");') == [30]
    assert ("count_events", "aw-watcher-afk_host1") in source.calls


def test_find_bucket_matches_a_substring_and_optionally_the_hostname(source):
    assert run(source, 'RETURN = find_bucket("window");') == ["aw-watcher-window_host1"]
    assert run(source, 'RETURN = find_bucket("window", "host2");') == ["aw-watcher-window_host2"]
    with pytest.raises(QueryError, match="no bucket matches 'window' with hostname 'h9'"):
        run(source, 'RETURN = find_bucket("window", "h9");')


def test_each_transform_gives_what_the_transform_gives(source):
    window = events_of(source, "aw-watcher-window_host1")
    afk = events_of(source, "aw-watcher-afk_host1")
    classes = [[["Work"], {"type": "regex", "regex": "code"}],
               [["Media"], {"type": "regex", "regex": "youtube", "ignore_case": True}]]
    expected = {
        "flood": T.flood(window),
        "fpi": T.filter_period_intersect(window, afk),
        "union": T.period_union(window, afk),
        "uno": T.union_no_overlap(afk, window),
        "merge": T.merge_events_by_keys(T.flood(window), ["app", "title"]),
        "chunk": T.chunk_events_by_key(window, "app"),
        "urls": T.split_url_events(window),
        "cat": T.categorize(window, classes),
        "tags": T.tag(window, [[name[0], rule] for name, rule in classes]),
        "fk": T.filter_keyvals(afk, "status", ["not-afk"]),
        "fkr": T.filter_keyvals_regex(window, "title", "^m"),
        "ek": T.exclude_keyvals(afk, "status", ["not-afk"]),
        "byts": T.sort_by_timestamp(T.sort_by_duration(window)),
        "bydur": T.sort_by_duration(window),
        "concat": T.concat(afk, window),
        "limit": T.limit_events(T.flood(window), 3),
        "titles": T.simplify_window_titles(window, "title"),
    }
    q = f"""w = query_bucket("aw-watcher-window_host1"); a = query_bucket("aw-watcher-afk_host1");
    classes = {json.dumps(classes)};
    tags = {json.dumps([[name[0], rule] for name, rule in classes])};
    RETURN = {{"flood": flood(w), "fpi": filter_period_intersect(w, a),
      "union": period_union(w, a), "uno": union_no_overlap(a, w),
      "merge": merge_events_by_keys(flood(w), ["app", "title"]),
      "chunk": chunk_events_by_key(w, "app"), "urls": split_url_events(w),
      "cat": categorize(w, classes), "tags": tag(w, tags),
      "fk": filter_keyvals(a, "status", ["not-afk"]), "fkr": filter_keyvals_regex(w, "title", "^m"),
      "ek": exclude_keyvals(a, "status", ["not-afk"]),
      "byts": sort_by_timestamp(sort_by_duration(w)), "bydur": sort_by_duration(w),
      "concat": concat(a, w), "limit": limit_events(flood(w), 3),
      "titles": simplify_window_titles(w, "title"),
      "sum": sum_durations(w), "nop": nop()}};"""
    out = run(source, q)[0]
    assert out.pop("sum") == T.sum_durations(window)
    assert out.pop("nop") == 1
    assert out == {name: as_json(events) for name, events in expected.items()}
    assert all(out[name] for name in out if name not in ("chunk",))  # nothing trivially empty


def test_a_query_like_aw_webuis_full_desktop_query_runs(source):
    q = [
        'events = flood(query_bucket(find_bucket("aw-watcher-window_")));',
        'not_afk = flood(query_bucket(find_bucket("aw-watcher-afk_")));',
        'not_afk = filter_keyvals(not_afk, "status", ["not-afk"]);',
        'events = filter_period_intersect(events, not_afk);',
        'events = categorize(events, [[["Work"], {"type": "regex", "regex": "code|term"}]]);',
        'title_events = sort_by_duration(merge_events_by_keys(events, ["app", "title"]));',
        'app_events = sort_by_duration(merge_events_by_keys(title_events, ["app"]));',
        'cat_events = sort_by_duration(merge_events_by_keys(events, ["$category"]));',
        'app_events = limit_events(app_events, 100);',
        'duration = sum_durations(events);',
        'RETURN = {"window": {"app_events": app_events, "title_events": title_events,',
        '  "cat_events": cat_events, "active_events": not_afk, "duration": duration}};',
    ]
    out = run(source, q, [DAY, DAY])
    assert out[0] == out[1]
    window = out[0]["window"]
    assert {tuple(e["data"]["$category"]) for e in window["cat_events"]} == {
        ("Work",), ("Uncategorized",)}
    total = sum(e["duration"] for e in window["cat_events"])
    assert total == pytest.approx(window["duration"])
    assert 0 < window["duration"] < sum(e.duration for e in window_events())


def test_one_result_per_time_period(source):
    periods = [f"{BASE.isoformat()}/{(BASE + timedelta(minutes=10 * i + 5)).isoformat()}"
               for i in range(5)]
    out = run(source, 'RETURN = query_bucket_eventcount("aw-watcher-afk_host1");', periods)
    assert out == [1, 2, 3, 4, 5]
    assert run(source, "RETURN = 1;", []) == []


def test_reassigning_starttime_changes_the_window_of_query_bucket(source):
    start = (BASE + timedelta(hours=4)).isoformat()
    out = run(source, f'STARTTIME = "{start}"; RETURN = query_bucket_eventcount("aw-watcher-afk_host1");')
    assert out == [6]


# ---------------------------------------------------------------------------- push-down

@pytest.mark.parametrize("keys", [["app"], ["app", "title"], ["title"], ["nope"]])
def test_merge_on_query_bucket_is_pushed_down_and_equals_the_materialized_result(source, keys):
    periods = [DAY, f"{(BASE + timedelta(seconds=333)).isoformat()}/"
                    f"{(BASE + timedelta(seconds=4000)).isoformat()}"]
    pushed = run(source, f'RETURN = merge_events_by_keys(query_bucket("aw-watcher-window_host1"), '
                         f'{json.dumps(keys)});', periods)
    assert [c[0] for c in source.calls] == ["summarize_by_keys", "summarize_by_keys"]
    source.calls.clear()
    # sort_by_timestamp forces real events first (a no-op on sorted events).
    materialized = run(source, f'RETURN = merge_events_by_keys(sort_by_timestamp('
                               f'query_bucket("aw-watcher-window_host1")), {json.dumps(keys)});',
                       periods)
    assert [c[0] for c in source.calls] == ["get_events", "get_events"]
    assert pushed == materialized
    assert pushed[0] or keys == ["nope"]


def test_pushdown_holds_for_many_random_windows():
    rng = random.Random(7)
    for seed in range(20):
        src = MemorySource({"b": ("h", window_events(200, seed))})
        a, b = sorted(rng.uniform(-100, 20000) for _ in range(2))
        period = f"{(BASE + timedelta(seconds=a)).isoformat()}/{(BASE + timedelta(seconds=b)).isoformat()}"
        pushed = run(src, 'RETURN = merge_events_by_keys(query_bucket("b"), ["app", "title"]);',
                     [period])
        direct = run(src, 'RETURN = merge_events_by_keys(concat(query_bucket("b"), []), '
                          '["app", "title"]);', [period])
        assert pushed == direct


def test_a_lazy_bucket_is_read_once_however_often_it_is_used(source):
    q = ('w = query_bucket("aw-watcher-window_host1"); first = limit_events(w, 2);'
         'RETURN = [first, sum_durations(w), flood(w), w];')
    out = run(source, q)[0]
    assert source.calls == [("get_events", "aw-watcher-window_host1", None)]
    assert out[0] == as_json(events_of(source, "aw-watcher-window_host1")[:2])


# ---------------------------------------------------------------------------- errors

@pytest.mark.parametrize("query, message", [
    ("RETURN = flod(query_bucket('x'));", "line 1, column 10: unknown function 'flod'"),
    ("a = 1;\nRETURN = b;", "line 2, column 10: unknown name 'b'"),
    ("RETURN = flood;", "unknown name 'flood' .*parentheses"),
    ("RETURN = 'abc;", "line 1, column 10: unterminated string"),
    ('a = 1;\n  RETURN = [1, 2;', "line 2, column 17: expected ',' or ']'"),
    ("RETURN = {1: 2};", "line 1, column 11: expected a string key"),
    ("RETURN = {'a' 2};", "expected ':' after the object key"),
    ("RETURN 1;", "line 1, column 8: expected '='"),
    ("1 = 2; RETURN = 1;", "line 1, column 1: expected a statement"),
    ("true = 2; RETURN = 1;", "expected a statement"),
    ("RETURN = 1 2;", "line 1, column 12: expected ';'"),
    ("RETURN = ;", "expected a value, found ';'"),
    ("RETURN = 1 @ 2;", "unexpected character '@'"),
    ("a = 1;", "never assigns RETURN"),
    ("", "never assigns RETURN"),
    ("RETURN = 1e999;", "out of range"),
    ("RETURN = " + "9" * 5000 + ";", "number is too long"),
    ("RETURN = flood();", r"flood\(\) takes 1 to 2 arguments \(0 given\)"),
    ("RETURN = sort_by_duration([], []);", r"sort_by_duration\(\) takes 1 argument \(2 given\)"),
    ("RETURN = flood(1);",
     r"flood\(\) argument 1 \(events\) must be a list of events, got a number"),
    ("RETURN = flood([1]);", "must be a list of events, got a list"),
    ("RETURN = merge_events_by_keys([], 'app');",
     r"argument 2 \(keys\) must be a list of strings, got a string"),
    ("RETURN = limit_events([], 1.5);", "must be an integer"),
    ("RETURN = limit_events([], true);", "must be an integer, got a boolean"),
    ("RETURN = filter_keyvals([], 1, []);", r"argument 2 \(key\) must be a string"),
    ("RETURN = query_bucket('nope');", "line 1, column 10: there's no bucket named 'nope'"),
    ("RETURN = query_bucket_eventcount('nope');", "no bucket named 'nope'"),
    ("RETURN = find_bucket('zzz');", "no bucket matches 'zzz'"),
    ("RETURN = filter_keyvals_regex([], 'a', '(');", r"filter_keyvals_regex\(\): invalid regex"),
    ("RETURN = categorize([], [[['Work'], {'type': 'regex', 'regex': '(x'}]]);",
     r"categorize\(\): category 'Work': invalid regex"),
    ("RETURN = categorize([], [1]);", r"categories\[0\]"),
    ("STARTTIME = 'yesterday'; RETURN = query_bucket('aw-watcher-afk_host1');",
     "STARTTIME/ENDTIME: invalid timestamp"),
])
def test_bad_queries_raise_query_error_pointing_at_the_problem(source, query, message):
    with pytest.raises(QueryError, match=message):
        run(source, query)


def test_deep_nesting_is_a_query_error_not_a_recursion_error(source):
    for opener, closer in (("[", "]"), ("flood(", ")"), ('{"a": ', "}")):
        with pytest.raises(QueryError, match="nested too deeply"):
            run(source, "RETURN = " + opener * 10_000 + closer * 10_000 + ";")
    assert run(source, "RETURN = " + "[" * 60 + "]" * 60 + ";")  # reasonable depth is fine


def test_huge_queries_and_too_many_statements_are_refused(source):
    with pytest.raises(QueryError, match="too long"):
        run(source, "RETURN = '" + "x" * (query2.MAX_QUERY_CHARS + 1) + "';")
    with pytest.raises(QueryError, match="too long"):
        run(source, ["a = 1;"] * (query2.MAX_QUERY_CHARS // 6 + 1))
    with pytest.raises(QueryError, match="too many statements"):
        run(source, "a = 1;" * (query2.MAX_STATEMENTS + 1) + "RETURN = a;")


def test_values_that_grow_exponentially_are_stopped(source):
    doubling = "a = [1]; " + "a = [a, a]; " * 60 + "RETURN = a;"
    with pytest.raises(QueryError, match="the result is too large"):
        run(source, doubling)
    assert len(json.dumps(run(source, "a = [1]; " + "a = [a, a]; " * 10 + "RETURN = a;"))) > 2000
    events = 'e = query_bucket("aw-watcher-window_host2"); ' + "e = concat(e, e); " * 40
    with pytest.raises(QueryError, match="concat\\(\\) result is too large"):
        run(source, events + "RETURN = 1;")
    many = 'e = query_bucket("aw-watcher-window_host2"); ' + "e = concat(e, e); " * 20
    many += "x = concat(e, e); " * 30  # each value is allowed, all of them together are not
    with pytest.raises(QueryError, match="in all"):
        run(source, many + "RETURN = 1;")


@pytest.mark.parametrize("periods, message", [
    (["2024-01-01T00:00:00+00:00"], "expected 'start/end'"),
    (["a/b/c"], "expected 'start/end'"),
    (["yesterday/today"], "invalid time period 'yesterday/today'"),
    (["2024-01-02T00:00:00+00:00/2024-01-01T00:00:00+00:00"], "start is after the end"),
    ([1], "expected 'start/end'"),
    ("2024-01-01T00:00:00+00:00/2024-01-02T00:00:00+00:00", "must be a list"),
    ([DAY] * (query2.MAX_TIMEPERIODS + 1), "too many time periods"),
])
def test_bad_time_periods_raise_query_error(source, periods, message):
    with pytest.raises(QueryError, match=message):
        query2.run_query(source, "RETURN = 1;", periods)


def test_query_must_be_text_or_a_list_of_text(source):
    for query in (None, 5, ["RETURN = 1;", 5], {"q": 1}):
        with pytest.raises(QueryError, match="'query' must be"):
            query2.run_query(source, query, [DAY])


def test_a_bucket_vanishing_mid_query_is_a_query_error(source):
    program = query2.parse('RETURN = query_bucket("aw-watcher-afk_host1");')
    del source.buckets["aw-watcher-afk_host1"]
    with pytest.raises(QueryError, match="no bucket named 'aw-watcher-afk_host1'"):
        program.evaluate(source, BASE, BASE + timedelta(days=1),
                         bucket_ids=["aw-watcher-afk_host1"])


def test_a_rule_list_is_compiled_once_for_all_periods(source, monkeypatch):
    built = []
    original = T.classifier_for
    monkeypatch.setattr(T, "classifier_for", lambda classes: built.append(1) or original(classes))
    q = ('c = [[["Work"], {"type": "regex", "regex": "code"}]];'
         'RETURN = categorize(query_bucket("aw-watcher-window_host1"), c);')
    out = run(source, q, [DAY] * 5)
    assert built == [1]
    assert out[0] == out[4] and {e["data"]["$category"][0] for e in out[0]} == {
        "Work", "Uncategorized"}
