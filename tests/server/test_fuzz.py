"""No input may produce a 500: random bodies, parameters and ids against every endpoint."""

from __future__ import annotations

import json
import random
import re
import urllib.parse

import pytest

ENDPOINTS = [
    ("POST", "buckets/fz/heartbeat?pulsetime={num}"), ("POST", "buckets/fz/heartbeats?pulsetime={num}"),
    ("POST", "buckets/fz/events"), ("GET", "buckets/fz/events?limit={num}&start={str}&end={str}"),
    ("GET", "buckets/fz/events/count?start={str}"), ("GET", "buckets/fz/events/{num}"),
    ("DELETE", "buckets/fz/events/{num}"), ("POST", "buckets/{str}"), ("PUT", "buckets/fz"),
    ("POST", "query/"), ("POST", "import"), ("POST", "settings/{str}"), ("GET", "settings/{str}"),
    ("GET", "reports/day?date={date}&tz={str}&start_of_day={str}&host={str}&format={str}"),
    ("GET", "reports/day?date={date}"), ("GET", "reports/range?start={date}&end={date}&group={str}"),
    ("PUT", "categories"), ("POST", "categories/import?mode={str}"), ("POST", "categories/preview"),
    ("POST", "settings/classes"), ("GET", "categories/export"),
]
DATES = ["2024-05-01", "2024-02-29", "2023-02-29", "1900-01-01", "9999-12-31", "2024-5-1", "today"]
NASTY = ["", "0", "-1", "1e999", "nan", "inf", "9" * 40, "null", "%00", "../../etc", "\u202e", "2024-02-30",
         "2024-01-01T00:00:00+25:00", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999+00:00",
         "2024-01-01T00:00:00", "[]", "{}", "a" * 2000]


def random_json(rng: random.Random, depth: int = 0):
    kind = rng.randrange(9 if depth < 4 else 5)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind == 1:
        return rng.choice([0, -1, 1, 2**63, -2**63 - 1, 2**53 + 1, 10**30, 0.5, -1e308, 1e308])
    if kind in (2, 3, 4):
        return rng.choice(NASTY)
    if kind in (5, 6):
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = ["timestamp", "duration", "data", "id", "type", "client", "hostname", "buckets", "events",
            "query", "timeperiods", "x"]
    return {rng.choice(keys): random_json(rng, depth + 1) for _ in range(rng.randrange(5))}


def random_event(rng):
    ev = {"timestamp": rng.choice(NASTY + ["2024-05-01T10:00:00+00:00"] * 6),
          "duration": rng.choice([0, 1, -1, 1e308, "x", None, 2.5]),
          "data": rng.choice([{}, {"a": 1}, {"a": random_json(rng)}, [], "x", None])}
    if rng.random() < 0.3:
        ev["id"] = random_json(rng)
    return ev


def test_random_requests_never_cause_a_500(server):
    rng = random.Random(20261122)
    assert server.api("POST", "buckets/fz", json={"type": "t"}).status_code == 200
    for i in range(900):
        method, path = rng.choice(ENDPOINTS)
        path = re.sub(r"{(\w+)}", lambda m: urllib.parse.quote(rng.choice(
            {"num": NASTY + ["1", "5"], "str": NASTY + ["fz", "Europe/Paris", "04:00", "week", "csv"],
             "date": DATES + NASTY}[m.group(1)]), safe=""), path)
        choice = rng.random()
        if choice < 0.4:
            body = [random_event(rng) for _ in range(rng.randrange(3))] if "heartbeats" in path or "events" in path \
                else random_event(rng)
        elif choice < 0.8:
            body = random_json(rng)
        else:
            body = None
        if path.startswith(("categories", "settings/classes")) and rng.random() < 0.5:
            body = [{"name": random_json(rng), "rule": {"type": rng.choice(["regex", "none", 5]),
                     "regex": rng.choice(["(", "a", "[", "(?i)x", random_json(rng)])},
                     "data": random_json(rng)} for _ in range(rng.randrange(3))]
        if path.startswith("query"):
            body = {"timeperiods": rng.choice([["2024-01-01T00:00:00Z/2024-01-02T00:00:00Z"], [random_json(rng)], "x"]),
                    "query": rng.choice([["RETURN = query_bucket('fz');"], [random_json(rng)], ["x = ;"], "RETURN=1;"])}
        data = json.dumps(body).encode() if body is not None else None
        r = server.api(method, path, data=data, headers={"Content-Type": "application/json"} if data else {})
        assert r.status_code < 500, f"request {i}: {method} {path} {data!r:.300} -> {r.status_code} {r.text:.300}"
        if r.status_code >= 400:
            assert r.json()["error"]["message"]
    assert server.api("GET", "info").status_code == 200
    assert "Traceback" not in server.log_text()


@pytest.mark.parametrize("depth", [50, 5000, 200000])
def test_deeply_nested_json_is_a_clean_4xx(server, depth):
    server.api("POST", "buckets/deep", json={"type": "t"})
    body = '{"timestamp": "2024-01-01T00:00:00Z", "data": {"a": ' + "[" * depth + "]" * depth + "}}"
    r = server.api("POST", "buckets/deep/heartbeat?pulsetime=1", data=body.encode(),
                   headers={"Content-Type": "application/json"})
    assert r.status_code in (200, 400)
