"""query2: ActivityWatch's query language, parsed safely and run against our storage.

A program is a list of statements `name = expression;`; the value assigned to RETURN last
is the result. Expressions are function calls, names, strings ("..." or '...'; a backslash
only escapes the quote that encloses the string, every other backslash is kept as it is, as
in aw-core, so regexes arrive intact), numbers, lists [...], objects {"key": value, ...} and
true/false/null (True/False/None too). Predefined names: NAME, STARTTIME and ENDTIME (the
ISO 8601 bounds of the time period being queried).

The text is tokenized and parsed by recursive descent into a small tree that is evaluated
directly: nothing is ever passed to eval/exec. Size, statement count and nesting depth are
limited, and every problem is a QueryError whose message names the line and column.

`query_bucket` returns a lazy value: it reads events only when a function needs them, and
`merge_events_by_keys` on it is pushed down to `source.summarize_by_keys` (SQL), which is
what keeps a long summary fast. Results are the same either way.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Protocol

from . import transforms as T
from .errors import BadRequest, NotFound, QueryError
from .event import UTC, Event, parse_timestamp

MAX_QUERY_CHARS = 1_000_000
MAX_STATEMENTS = 2_000
MAX_DEPTH = 64
MAX_TIMEPERIODS = 1_000
MAX_LIST_LENGTH = 5_000_000  # events in one value
MAX_ITEMS_PER_PERIOD = 25_000_000  # events in all the values made for one period
MAX_RESULT_ITEMS = 10_000_000  # values in one period's JSON result


class EventSource(Protocol):
    """What query2 reads from; tg_core.storage implements it. Unknown buckets raise NotFound."""

    def bucket_ids(self) -> list[str]:
        """All bucket ids, in creation order (find_bucket returns the first match)."""

    def bucket_hostname(self, bucket_id: str) -> str | None: ...

    def get_events(self, bucket_id: str, start: datetime | None, end: datetime | None,
                   limit: int | None = None) -> list[Event]:
        """Events overlapping [start, end), oldest first, cropped to that window."""

    def count_events(self, bucket_id: str, start: datetime | None,
                     end: datetime | None) -> int: ...

    def summarize_by_keys(self, bucket_id: str, start: datetime | None, end: datetime | None,
                          keys: list[str]) -> list[Event]:
        """Exactly `merge_events_by_keys(get_events(bucket_id, start, end), keys)`."""


# ---------------------------------------------------------------------------- tokenizer

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[^\W\d]\w*)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<op>[=;,()\[\]{}:])
""", re.VERBOSE | re.DOTALL)

_CONSTANTS = {"true": True, "false": False, "null": None,
              "True": True, "False": False, "None": None}


@dataclass(slots=True)
class _Token:
    kind: str  # "number", "name", "string", "op" or "end"
    text: str
    pos: int


def _where(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"line {line}, column {column}"


def _tokenize(text: str) -> list[_Token]:
    tokens = []
    pos, size = 0, len(text)
    match = _TOKEN.match
    while pos < size:
        m = match(text, pos)
        if m is None:
            char = text[pos]
            if char in "\"'":
                raise QueryError(f"{_where(text, pos)}: unterminated string")
            raise QueryError(f"{_where(text, pos)}: unexpected character {char!r}")
        if m.lastgroup != "space":
            tokens.append(_Token(m.lastgroup, m.group(), pos))
        pos = m.end()
    tokens.append(_Token("end", "", size))
    return tokens


def _string_value(token_text: str) -> str:
    quote, body = token_text[0], token_text[1:-1]
    # Only the enclosing quote is unescaped (aw-core's rule); "\\" stays two characters.
    return re.sub(r"\\(.)", lambda m: m.group(1) if m.group(1) == quote else m.group(0),
                  body, flags=re.DOTALL)


# ---------------------------------------------------------------------------- syntax tree

@dataclass(slots=True)
class _Const:
    value: Any
    pos: int


@dataclass(slots=True)
class _Name:
    name: str
    pos: int


@dataclass(slots=True)
class _List:
    items: list
    pos: int


@dataclass(slots=True)
class _Dict:
    items: list  # [(key, node)]
    pos: int


@dataclass(slots=True)
class _Call:
    name: str
    args: list
    pos: int


@dataclass(slots=True)
class _Assign:
    name: str
    value: Any
    pos: int


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0

    def error(self, token: _Token, message: str) -> QueryError:
        return QueryError(f"{_where(self.text, token.pos)}: {message}")

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def expect(self, op: str, context: str) -> _Token:
        token = self.take()
        if token.kind != "op" or token.text != op:
            raise self.error(token, f"expected {op!r} {context}, found {_describe(token)}")
        return token

    def program(self) -> list[_Assign]:
        statements = []
        while self.peek().kind != "end":
            if self.peek().text == ";" and self.peek().kind == "op":
                self.take()  # empty statement
                continue
            statements.append(self.statement())
            if len(statements) > MAX_STATEMENTS:
                raise QueryError(f"too many statements (more than {MAX_STATEMENTS})")
            token = self.take()
            if token.kind == "end":
                break
            if token.text != ";" or token.kind != "op":
                raise self.error(token, f"expected ';' after the statement, found "
                                        f"{_describe(token)}")
        return statements

    def statement(self) -> _Assign:
        token = self.take()
        if token.kind != "name" or token.text in _CONSTANTS:
            raise self.error(token, f"expected a statement 'name = expression;', found "
                                    f"{_describe(token)}")
        self.expect("=", f"after {token.text!r} (a statement is 'name = expression;')")
        return _Assign(token.text, self.expression(0), token.pos)

    def expression(self, depth: int):
        if depth >= MAX_DEPTH:
            raise self.error(self.peek(), f"expression nested too deeply (more than "
                                          f"{MAX_DEPTH} levels)")
        token = self.take()
        if token.kind == "string":
            return _Const(_string_value(token.text), token.pos)
        if token.kind == "number":
            return _Const(self.number(token), token.pos)
        if token.kind == "name":
            if token.text in _CONSTANTS:
                return _Const(_CONSTANTS[token.text], token.pos)
            following = self.peek()
            if following.kind == "op" and following.text == "(":
                self.take()
                return _Call(token.text, self.sequence(")", depth, "argument"), token.pos)
            return _Name(token.text, token.pos)
        # Literals made only of constants are built once, here, not at every evaluation
        # (category rule lists can be large); values are never modified in place.
        if token.kind == "op" and token.text == "[":
            items = self.sequence("]", depth, "list item")
            if all(type(item) is _Const for item in items):
                return _Const([item.value for item in items], token.pos)
            return _List(items, token.pos)
        if token.kind == "op" and token.text == "{":
            items = self.entries(depth)
            if all(type(node) is _Const for _, node in items):
                return _Const({key: node.value for key, node in items}, token.pos)
            return _Dict(items, token.pos)
        raise self.error(token, f"expected a value, found {_describe(token)}")

    def number(self, token: _Token):
        text = token.text
        try:
            value = float(text) if any(c in text for c in ".eE") else int(text)
        except ValueError:  # more digits than Python converts
            raise self.error(token, "number is too long") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise self.error(token, f"number {text} is out of range")
        return value

    def sequence(self, close: str, depth: int, what: str) -> list:
        items = []
        while True:
            token = self.peek()
            if token.kind == "op" and token.text == close:
                self.take()
                return items
            items.append(self.expression(depth + 1))
            token = self.take()
            if token.kind == "op" and token.text == close:
                return items
            if token.kind != "op" or token.text != ",":
                raise self.error(token, f"expected ',' or {close!r} after the {what}, found "
                                        f"{_describe(token)}")

    def entries(self, depth: int) -> list:
        items = []
        while True:
            token = self.take()
            if token.kind == "op" and token.text == "}":
                return items
            if token.kind != "string":
                raise self.error(token, f"expected a string key in the object, found "
                                        f"{_describe(token)}")
            self.expect(":", "after the object key")
            items.append((_string_value(token.text), self.expression(depth + 1)))
            token = self.take()
            if token.kind == "op" and token.text == "}":
                return items
            if token.kind != "op" or token.text != ",":
                raise self.error(token, f"expected ',' or '}}' in the object, found "
                                        f"{_describe(token)}")


def _describe(token: _Token) -> str:
    if token.kind == "end":
        return "the end of the query"
    text = token.text if len(token.text) <= 40 else token.text[:37] + "..."
    return f"{token.kind} {text!r}" if token.kind != "op" else repr(text)


# ---------------------------------------------------------------------------- values

class EventList(list):
    """A list known to hold only Events (skips re-checking it at every call)."""

    __slots__ = ()


class BucketEvents:
    """The events of a bucket in a time window, read from the source only when needed."""

    __slots__ = ("bucket_id", "start", "end", "_events")

    def __init__(self, bucket_id: str, start: datetime | None, end: datetime | None):
        self.bucket_id, self.start, self.end = bucket_id, start, end
        self._events: EventList | None = None

    def materialize(self, source: EventSource) -> EventList:
        if self._events is None:
            self._events = EventList(_read(
                self.bucket_id, source.get_events, self.bucket_id, self.start, self.end))
        return self._events


def _read(bucket_id: str, method: Callable, *args):
    try:
        return method(*args)
    except NotFound:
        raise QueryError(f"there's no bucket named {bucket_id!r}") from None


def _type_name(value) -> str:
    if isinstance(value, (BucketEvents, EventList)):
        return "a list of events"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


# ---------------------------------------------------------------------------- run time

class _Context:
    """One evaluation: the source, the period and the variables."""

    def __init__(self, source: EventSource, start: datetime, end: datetime,
                 start_text: str, end_text: str, name: str, text: str, bucket_ids: list,
                 compiled: dict):
        self.source = source
        self.text = text
        self.compiled = compiled  # id(rule list) -> (rule list, compiled), for all periods
        self.bucket_ids = bucket_ids
        self.period = (start_text, end_text, start, end)
        self.namespace: dict[str, Any] = {"NAME": name, "STARTTIME": start_text,
                                          "ENDTIME": end_text}
        self.items_left = MAX_ITEMS_PER_PERIOD

    def window(self) -> tuple[datetime, datetime]:
        # aw-core reads STARTTIME/ENDTIME from the namespace, so a query may reassign them.
        start_text, end_text, start, end = self.period
        ns = self.namespace
        if ns.get("STARTTIME") != start_text or ns.get("ENDTIME") != end_text:
            try:
                start, end = parse_timestamp(ns.get("STARTTIME")), parse_timestamp(
                    ns.get("ENDTIME"))
            except BadRequest as err:
                raise QueryError(f"STARTTIME/ENDTIME: {err.message}") from None
        return start, end

    def events(self, value, fname: str, index: int, pname: str) -> EventList:
        if isinstance(value, EventList):
            return value
        if isinstance(value, BucketEvents):
            return value.materialize(self.source)
        if isinstance(value, list) and all(type(e) is Event for e in value):
            return EventList(value)
        raise QueryError(f"{fname}() argument {index} ({pname}) must be a list of events, "
                         f"got {_type_name(value)}")


_REQUIRED = object()


def _is_list(v) -> bool:
    return isinstance(v, list) and not isinstance(v, EventList)


# kind -> (test, what the message says was expected)
_KINDS: dict[str, tuple[Callable, str]] = {
    "str": (lambda v: isinstance(v, str), "a string"),
    "str?": (lambda v: v is None or isinstance(v, str), "a string or null"),
    "int": (lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer"),
    "number": (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool), "a number"),
    "list": (_is_list, "a list"),
    "strlist": (lambda v: _is_list(v) and all(isinstance(k, str) for k in v),
                "a list of strings"),
}


def _check(kind: str, value, fname: str, index: int, pname: str, ctx: _Context):
    """Validate one argument (events are materialized); `kind` names what is expected."""
    if kind == "events":
        return ctx.events(value, fname, index, pname)
    if kind == "lazy_events":
        if isinstance(value, BucketEvents):
            return value
        return ctx.events(value, fname, index, pname)
    test, wanted = _KINDS[kind]
    if not test(value):
        raise QueryError(f"{fname}() argument {index} ({pname}) must be {wanted}, "
                         f"got {_type_name(value)}")
    return value


def _find_bucket(ctx: _Context, filter_str: str, hostname: str | None = None) -> str:
    for bucket_id in ctx.bucket_ids:
        if filter_str in bucket_id:
            if not hostname or _read(bucket_id, ctx.source.bucket_hostname,
                                     bucket_id) == hostname:
                return bucket_id
    raise QueryError(f"no bucket matches {filter_str!r}"
                     + (f" with hostname {hostname!r}" if hostname else ""))


def _bucket(ctx: _Context, bucket_id: str) -> str:
    if bucket_id not in ctx.bucket_ids:
        raise QueryError(f"there's no bucket named {bucket_id!r}")
    return bucket_id


def _query_bucket(ctx: _Context, bucket_id: str) -> BucketEvents:
    return BucketEvents(_bucket(ctx, bucket_id), *ctx.window())


def _query_bucket_eventcount(ctx: _Context, bucket_id: str) -> int:
    start, end = ctx.window()
    return _read(bucket_id, ctx.source.count_events, _bucket(ctx, bucket_id), start, end)


def _merge_events_by_keys(ctx: _Context, events, keys: list) -> list:
    if isinstance(events, BucketEvents):
        if not keys:
            return events.materialize(ctx.source)
        return _read(events.bucket_id, ctx.source.summarize_by_keys, events.bucket_id,
                     events.start, events.end, list(keys))
    return T.merge_events_by_keys(events, keys)


def _rules(ctx: _Context, classes: list, build: Callable):
    # The same rule list object comes back for every period: compile it once. The entry
    # keeps the list alive, so its id cannot be reused by another object meanwhile.
    found = ctx.compiled.get(id(classes))
    if found is None:
        found = ctx.compiled[id(classes)] = (classes, build(classes))
    return found[1]


def _categorize(ctx: _Context, events: list, classes: list) -> list:
    return _rules(ctx, classes, T.classifier_for).categorize(events)


def _tag(ctx: _Context, events: list, classes: list) -> list:
    return _rules(ctx, classes, T.tagger_for).tag(events)


def _plain(func):
    """A transform that does not need the context."""
    return lambda ctx, *args: func(*args)


E = "events"
# name -> (implementation(ctx, *args), [(parameter, kind, default)], returns events?)
_FUNCTIONS: dict[str, tuple[Callable, list, bool]] = {
    "find_bucket": (_find_bucket, [("filter", "str", _REQUIRED), ("hostname", "str?", None)],
                    False),
    "query_bucket": (_query_bucket, [("bucket_id", "str", _REQUIRED)], False),
    "query_bucket_eventcount": (_query_bucket_eventcount, [("bucket_id", "str", _REQUIRED)],
                                False),
    "flood": (_plain(T.flood), [("events", E, _REQUIRED), ("pulsetime", "number", 5)], True),
    "filter_period_intersect": (_plain(T.filter_period_intersect),
                                [("events", E, _REQUIRED), ("filterevents", E, _REQUIRED)],
                                True),
    "period_union": (_plain(T.period_union),
                     [("events1", E, _REQUIRED), ("events2", E, _REQUIRED)], True),
    "union_no_overlap": (_plain(T.union_no_overlap),
                         [("events1", E, _REQUIRED), ("events2", E, _REQUIRED)], True),
    "merge_events_by_keys": (_merge_events_by_keys, [("events", "lazy_events", _REQUIRED),
                                                     ("keys", "strlist", _REQUIRED)], True),
    "chunk_events_by_key": (_plain(T.chunk_events_by_key),
                            [("events", E, _REQUIRED), ("key", "str", _REQUIRED)], True),
    "split_url_events": (_plain(T.split_url_events), [("events", E, _REQUIRED)], True),
    "categorize": (_categorize,
                   [("events", E, _REQUIRED), ("classes", "list", _REQUIRED)], True),
    "tag": (_tag, [("events", E, _REQUIRED), ("classes", "list", _REQUIRED)], True),
    "filter_keyvals": (_plain(T.filter_keyvals), [("events", E, _REQUIRED),
                                                  ("key", "str", _REQUIRED),
                                                  ("vals", "list", _REQUIRED)], True),
    "exclude_keyvals": (_plain(T.exclude_keyvals), [("events", E, _REQUIRED),
                                                    ("key", "str", _REQUIRED),
                                                    ("vals", "list", _REQUIRED)], True),
    "filter_keyvals_regex": (_plain(T.filter_keyvals_regex), [("events", E, _REQUIRED),
                                                              ("key", "str", _REQUIRED),
                                                              ("regex", "str", _REQUIRED)],
                             True),
    "sort_by_timestamp": (_plain(T.sort_by_timestamp), [("events", E, _REQUIRED)], True),
    "sort_by_duration": (_plain(T.sort_by_duration), [("events", E, _REQUIRED)], True),
    "sum_durations": (_plain(T.sum_durations), [("events", E, _REQUIRED)], False),
    "concat": (_plain(T.concat), [("events1", E, _REQUIRED), ("events2", E, _REQUIRED)], True),
    "limit_events": (_plain(T.limit_events), [("events", E, _REQUIRED),
                                              ("count", "int", _REQUIRED)], True),
    "simplify_window_titles": (_plain(T.simplify_window_titles),
                               [("events", E, _REQUIRED), ("key", "str", _REQUIRED)], True),
    "nop": (lambda ctx: 1, [], False),  # aw-core's no-op, used by its tests and clients
}

FUNCTION_NAMES = sorted(_FUNCTIONS)

# What a function may fail with on bad input; other errors (storage) propagate.
_INPUT_ERRORS = (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError,
                 RecursionError, re.error)


def _call(node: _Call, ctx: _Context):
    where = _where(ctx.text, node.pos)
    spec = _FUNCTIONS.get(node.name)
    if spec is None:
        raise QueryError(f"{where}: unknown function {node.name!r}")
    func, params, returns_events = spec
    args = [_evaluate(arg, ctx) for arg in node.args]
    required = sum(1 for p in params if p[2] is _REQUIRED)
    if not required <= len(args) <= len(params):
        count = str(required) if required == len(params) else f"{required} to {len(params)}"
        raise QueryError(f"{where}: {node.name}() takes {count} argument"
                         f"{'' if count == '1' else 's'} ({len(args)} given)")
    try:
        checked = [_check(kind, value, node.name, i + 1, pname, ctx)
                   for i, ((pname, kind, _), value) in enumerate(zip(params, args))]
        result = func(ctx, *checked)
    except QueryError as err:
        raise QueryError(f"{where}: {err.message}") from None
    except BadRequest as err:
        raise QueryError(f"{where}: {node.name}(): {err.message}") from None
    except _INPUT_ERRORS as err:
        raise QueryError(f"{where}: {node.name}() failed: {err}") from None
    if isinstance(result, list):
        ctx.items_left -= len(result)
        if len(result) > MAX_LIST_LENGTH or ctx.items_left < 0:
            raise QueryError(f"{where}: {node.name}() result is too large (more than "
                             f"{MAX_LIST_LENGTH} events, or {MAX_ITEMS_PER_PERIOD} in all)")
        if returns_events and not isinstance(result, EventList):
            result = EventList(result)
    return result


def _evaluate(node, ctx: _Context):
    kind = type(node)
    if kind is _Const:
        return node.value
    if kind is _Call:
        return _call(node, ctx)
    if kind is _Name:
        try:
            return ctx.namespace[node.name]
        except KeyError:
            hint = " (a function must be called with parentheses)" \
                if node.name in _FUNCTIONS else ""
            raise QueryError(f"{_where(ctx.text, node.pos)}: unknown name {node.name!r}"
                             f"{hint}") from None
    if kind is _List:
        return [_evaluate(item, ctx) for item in node.items]
    return {key: _evaluate(value, ctx) for key, value in node.items}  # _Dict


def _result_size(value, ctx: _Context) -> int:
    """How many values the JSON result would hold, counting each shared part every time it
    appears (as JSON will) but computing it once, so `a = [a, a]` cannot blow up here."""
    sizes: dict[int, int] = {}

    def size(v, depth):
        if depth > 2 * MAX_DEPTH:
            raise QueryError("the result is nested too deeply")
        if isinstance(v, BucketEvents):
            v = v.materialize(ctx.source)
        if isinstance(v, EventList):
            return 1 + len(v)
        if not isinstance(v, (list, dict)):
            return 1
        known = sizes.get(id(v))
        if known is None:
            items = v.values() if isinstance(v, dict) else v
            known = sizes[id(v)] = 1 + sum(size(x, depth + 1) for x in items)
        return known

    return size(value, 0)


def _to_json(value, ctx: _Context):
    """The JSON-ready form of a value (events become their JSON objects)."""
    if _result_size(value, ctx) > MAX_RESULT_ITEMS:
        raise QueryError(f"the result is too large (more than {MAX_RESULT_ITEMS} values)")

    def convert(v):
        if isinstance(v, BucketEvents):
            v = v.materialize(ctx.source)
        if isinstance(v, EventList):
            return [e.to_json() for e in v]
        if isinstance(v, list):
            return [convert(x) for x in v]
        if isinstance(v, dict):
            return {k: convert(x) for k, x in v.items()}
        if isinstance(v, Event):
            return v.to_json()
        return v

    return convert(value)


# ---------------------------------------------------------------------------- public API

class Program:
    """A parsed query2 program; evaluate it for any number of time periods."""

    def __init__(self, text: str, statements: list[_Assign]):
        self.text = text
        self.statements = statements
        self._compiled: dict = {}

    def evaluate(self, source: EventSource, start: datetime, end: datetime, name: str = "",
                 *, start_text: str | None = None, end_text: str | None = None,
                 bucket_ids: list[str] | None = None):
        """Run for the period [start, end) and return RETURN as JSON-ready values."""
        if bucket_ids is None:
            bucket_ids = list(source.bucket_ids())
        ctx = _Context(source, start, end, start_text or start.isoformat(),
                       end_text or end.isoformat(), name, self.text, bucket_ids,
                       self._compiled)
        for statement in self.statements:
            ctx.namespace[statement.name] = _evaluate(statement.value, ctx)
        if "RETURN" not in ctx.namespace:
            raise QueryError("the query never assigns RETURN (end it with 'RETURN = ...;')")
        return _to_json(ctx.namespace["RETURN"], ctx)


def parse(query) -> Program:
    """Parse query text, or the API's list of statement strings, into a Program."""
    if isinstance(query, list):
        if not all(isinstance(line, str) for line in query):
            raise QueryError("'query' must be a string or a list of strings")
        if sum(len(line) + 1 for line in query) > MAX_QUERY_CHARS:
            raise QueryError(f"the query is too long (more than {MAX_QUERY_CHARS} characters)")
        text = "\n".join(query)
    elif isinstance(query, str):
        text = query
    else:
        raise QueryError("'query' must be a string or a list of strings")
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"the query is too long (more than {MAX_QUERY_CHARS} characters)")
    statements = _Parser(text).program()
    if not any(s.name == "RETURN" for s in statements):
        raise QueryError("the query never assigns RETURN (end it with 'RETURN = ...;')")
    return Program(text, statements)


def parse_timeperiod(period) -> tuple[datetime, datetime, str, str]:
    """"start/end" (ISO 8601) -> (start UTC, end UTC, start text, end text).

    The texts keep the offset the client used, as STARTTIME/ENDTIME do in aw-core.
    """
    if not isinstance(period, str) or period.count("/") != 1:
        raise QueryError(f"invalid time period {period!r}: expected 'start/end' in ISO 8601, "
                         "e.g. 2024-01-01T00:00:00+00:00/2024-01-02T00:00:00+00:00")
    bounds = []
    for part in period.split("/"):
        try:
            utc = parse_timestamp(part)
        except BadRequest as err:
            raise QueryError(f"invalid time period {period!r}: {err.message}") from None
        text = part.strip()
        if text[-1:] in ("Z", "z"):
            text = text[:-1] + "+00:00"
        local = datetime.fromisoformat(text)
        bounds.append((utc, (local if local.tzinfo else local.replace(tzinfo=UTC)).isoformat()))
    (start, start_text), (end, end_text) = bounds
    if start > end:
        raise QueryError(f"invalid time period {period!r}: the start is after the end")
    return start, end, start_text, end_text


def run_query(source: EventSource, query, timeperiods, name: str = "") -> list:
    """Run a query2 program once per time period, as POST /api/0/query/ does.

    `query` is the text or the API's list of statements; `timeperiods` a list of
    "start/end" strings. Returns one JSON-ready result per period. Raises QueryError.
    """
    if not isinstance(timeperiods, list):
        raise QueryError("'timeperiods' must be a list of 'start/end' strings")
    if len(timeperiods) > MAX_TIMEPERIODS:
        raise QueryError(f"too many time periods (more than {MAX_TIMEPERIODS})")
    if not isinstance(name, str):
        raise QueryError("'name' must be a string")
    periods = [parse_timeperiod(p) for p in timeperiods]
    program = parse(query)
    bucket_ids = list(source.bucket_ids())
    return [program.evaluate(source, start, end, name, start_text=start_text,
                             end_text=end_text, bucket_ids=bucket_ids)
            for start, end, start_text, end_text in periods]
