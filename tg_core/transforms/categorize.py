"""Categories and tags from regex rules, ActivityWatch's aw_transform.classify made reusable.

A `Rule` is a regex searched (re.search) in the string values of an event's data: in all of
them (`fields=None`, ActivityWatch's behaviour) or only in the given fields, where "domain"
is derived from `data["url"]` (see `url.domain_of`). A rule without a regex matches nothing.

A `Classifier` holds (category name path, rule) pairs and picks one category per event:
- TimelyGator's ranking (default): the deepest matching path wins (["Work", "Programming"]
  beats ["Work"]); among equally deep matches the higher `priority`, then the first listed.
- ActivityWatch's ranking (`aw_ranking=True`, what query2's `categorize` uses): a rule's rank
  is its "priority" when given, else 10 x depth; the highest rank wins, the later rule on a tie.
Nothing matching gives ["Uncategorized"]. Results are cached per distinct data, so many
events with equal data cost one match.

`categorize(events, classes)` sets `data["$category"]`; `tag(events, classes)` sets
`data["$tags"]` to every matching tag in rule order. Both copy the data they change.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from typing import Iterable, Sequence

from ..errors import BadRequest
from ..event import Event
from .filters import compile_regex
from .url import domain_of

FIELDS = ("app", "title", "url", "domain")
UNCATEGORIZED = ("Uncategorized",)
_CACHE_LIMIT = 100_000


class Rule:
    """A regex over an event's string values; see the module docstring."""

    __slots__ = ("regex", "ignore_case", "fields", "priority", "search")

    def __init__(self, regex: str | None, ignore_case: bool = True,
                 fields: Iterable[str] | None = None, priority: int | None = None):
        if priority is not None and (isinstance(priority, bool) or not isinstance(priority, int)):
            raise BadRequest(f"rule priority must be an integer, got {priority!r}",
                             code="invalid_rule")
        if fields is not None:
            if isinstance(fields, str) or not all(isinstance(f, str) for f in fields):
                raise BadRequest(f"rule fields must be a list of names, got {fields!r}",
                                 code="invalid_rule")
            fields = tuple(fields)
        if regex is not None and not isinstance(regex, str):
            raise BadRequest(f"rule regex must be a string, got {regex!r}", code="invalid_rule")
        self.regex = regex
        self.ignore_case = bool(ignore_case)
        self.fields = fields or None
        self.priority = priority
        # An empty regex would match everything; aw-core treats it as no rule.
        self.search = (compile_regex(regex, re.IGNORECASE if ignore_case else 0).search
                       if regex else None)

    def values(self, data: dict) -> list[str]:
        """The strings of `data` this rule looks at."""
        return _Values(data).get(self.fields)

    def match(self, data: dict) -> bool:
        """Whether the regex is found in any of the values this rule looks at."""
        search = self.search
        return search is not None and any(search(v) for v in self.values(data))


def _field(data: dict, name: str):
    if name == "domain" and "domain" not in data:
        url = data.get("url")
        return domain_of(url) if isinstance(url, str) else None
    return data.get(name)


def parse_rule(rule: dict, what: str, default_ignore_case: bool = False) -> Rule:
    """A Rule from ActivityWatch's rule object: {"type": "regex", "regex": ..., "ignore_case":
    bool} or {"type": "none"}, plus the optional "select_keys" (aw-core: any data keys),
    "fields" (a subset of FIELDS) and "priority" (an integer; aw-core also reads "weight").
    Errors name `what`."""
    if not isinstance(rule, dict):
        raise BadRequest(f"{what}: the rule must be an object, got {rule!r}", code="invalid_rule")
    fields = rule.get("fields")
    if fields is not None:
        if not isinstance(fields, list) or not set(fields) <= set(FIELDS) or not fields:
            raise BadRequest(f"{what}: 'fields' must be a non-empty list of {', '.join(FIELDS)}",
                             code="invalid_rule")
    elif rule.get("select_keys") is not None:
        fields = rule["select_keys"]
        if not isinstance(fields, list):
            raise BadRequest(f"{what}: 'select_keys' must be a list", code="invalid_rule")
    regex = None if rule.get("type") == "none" else rule.get("regex")
    try:
        return Rule(regex, bool(rule.get("ignore_case", default_ignore_case)), fields,
                    rule.get("priority", rule.get("weight")))
    except BadRequest as err:
        raise BadRequest(f"{what}: {err.message}", code=err.code) from None


def _data_key(data: dict) -> tuple:
    # Everything a rule can look at: the string values and the keys they sit under.
    return tuple([(k, v) for k, v in data.items() if isinstance(v, str)])


def _parse_classes(classes, what: str) -> list:
    if not isinstance(classes, (list, tuple)):
        raise BadRequest(f"{what} must be a list of [name, rule] pairs", code="invalid_rule")
    for i, item in enumerate(classes):
        if not isinstance(item, (list, tuple)) or len(item) != 2:
            raise BadRequest(f"{what}[{i}] must be a [name, rule] pair, got {item!r}",
                             code="invalid_rule")
    return classes


class Classifier:
    """Assigns categories by rules; see the module docstring."""

    def __init__(self, categories: Iterable[tuple[Sequence[str], Rule]], *,
                 aw_ranking: bool = False):
        ranked = []
        for index, (name, rule) in enumerate(categories):
            name = tuple(name)
            if not name or rule.search is None:
                continue
            if aw_ranking:
                rank = (len(name) * 10 if rule.priority is None else rule.priority, index)
            else:
                rank = (len(name), rule.priority or 0, -index)
            ranked.append((rank, name, rule))
        ranked.sort(key=lambda r: r[0], reverse=True)
        # Best first, so the first match is the answer.
        self._plan = [(name, rule.search, rule.fields) for _, name, rule in ranked]
        self._cache: dict[tuple, tuple] = {}

    @classmethod
    def from_classes(cls, classes, *, default_ignore_case: bool = False,
                     aw_ranking: bool = False) -> "Classifier":
        """Build from ActivityWatch's format: [[["Work", "Programming"], rule], ...]
        (rule as in `parse_rule`). Raises BadRequest naming the category at fault."""
        pairs = []
        for name, rule in _parse_classes(classes, "categories"):
            if not isinstance(name, (list, tuple)) or not all(isinstance(n, str) for n in name):
                raise BadRequest(f"category name must be a list of strings, got {name!r}",
                                 code="invalid_rule")
            what = f"category {' > '.join(name) or '(unnamed)'!r}"
            pairs.append((name, parse_rule(rule, what, default_ignore_case)))
        return cls(pairs, aw_ranking=aw_ranking)

    def classify(self, data: dict) -> list[str]:
        """The category name path for an event's data (["Uncategorized"] if no rule matches)."""
        key = _data_key(data)
        found = self._cache.get(key)
        if found is None:
            found = self._match(data)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = found
        return list(found)

    def _match(self, data: dict) -> tuple:
        values = _Values(data)
        for name, search, fields in self._plan:
            for v in values.get(fields):
                if search(v):
                    return name
        return UNCATEGORIZED

    def categorize(self, events: list[Event]) -> list[Event]:
        """Copies of `events` with `data["$category"]` set."""
        return _annotate(events, "$category", self.classify)


class Tagger:
    """Assigns every tag whose rule matches, in rule order (aw-core's `tag`)."""

    def __init__(self, tags: Iterable[tuple[object, Rule]]):
        self._plan = [(name, rule.search, rule.fields) for name, rule in tags
                      if rule.search is not None]
        self._cache: dict[tuple, list] = {}

    @classmethod
    def from_classes(cls, classes, *, default_ignore_case: bool = False) -> "Tagger":
        """Build from ActivityWatch's format: [["tag", rule], ...]."""
        return cls([(name, parse_rule(rule, f"tag {name!r}", default_ignore_case))
                    for name, rule in _parse_classes(classes, "tags")])

    def tags(self, data: dict) -> list:
        """Every matching tag for an event's data."""
        key = _data_key(data)
        found = self._cache.get(key)
        if found is None:
            values = _Values(data)
            found = [name for name, search, fields in self._plan
                     if any(search(v) for v in values.get(fields))]
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = found
        return list(found)

    def tag(self, events: list[Event]) -> list[Event]:
        """Copies of `events` with `data["$tags"]` set."""
        return _annotate(events, "$tags", self.tags)


class _Values:
    """An event's string values, collected once per selection of fields."""

    __slots__ = ("data", "selected")

    def __init__(self, data: dict):
        self.data = data
        self.selected: dict = {}

    def get(self, fields) -> list[str]:
        found = self.selected.get(fields)
        if found is None:
            data = self.data
            if fields is None:
                found = [v for v in data.values() if isinstance(v, str)]
            else:
                found = [v for v in (_field(data, f) for f in fields) if isinstance(v, str)]
            self.selected[fields] = found
        return found


def _annotate(events: list[Event], key: str, compute) -> list[Event]:
    # Events sharing one data dict (storage may intern them) share the new one too.
    new_data: dict[int, dict] = {}
    out = []
    for e in events:
        data = new_data.get(id(e.data))
        if data is None:
            data = new_data[id(e.data)] = {**e.data, key: compute(e.data)}
        out.append(Event(e.timestamp, e.duration, data, e.id))
    return out


# Queries send the same rule lists again and again (one query per day of a report), so
# compiled rule sets are kept, keyed by their JSON text, together with their result caches.
_compiled: OrderedDict[tuple, object] = OrderedDict()
_compiled_lock = threading.Lock()
_COMPILED_LIMIT = 16


def cached_build(kind: str, classes, build):
    """`build(classes)`, reused while `classes` (compared as JSON) is unchanged; a few are kept."""
    try:
        key = (kind, json.dumps(classes, sort_keys=True))
    except (TypeError, ValueError):
        return build(classes)
    with _compiled_lock:
        found = _compiled.get(key)
        if found is not None:
            _compiled.move_to_end(key)
            return found
    found = build(classes)
    with _compiled_lock:
        _compiled[key] = found
        while len(_compiled) > _COMPILED_LIMIT:
            _compiled.popitem(last=False)
    return found


def classifier_for(classes) -> Classifier:
    """The Classifier for ActivityWatch's list of [name path, rule] pairs, read with aw-core's
    conventions (case-sensitive unless "ignore_case", aw-core's ranking); compiled rule sets
    are reused across calls."""
    if isinstance(classes, Classifier):
        return classes
    return cached_build("categories", classes, lambda c: Classifier.from_classes(c, aw_ranking=True))


def tagger_for(classes) -> Tagger:
    """The Tagger for ActivityWatch's list of [tag, rule] pairs, reused like classifier_for."""
    if isinstance(classes, Tagger):
        return classes
    return cached_build("tags", classes, Tagger.from_classes)


def categorize(events: list[Event], classes) -> list[Event]:
    """Set `data["$category"]` on copies of `events`; `classes` is a Classifier or a list of
    [name path, rule] pairs (see `classifier_for`)."""
    return classifier_for(classes).categorize(events)


def tag(events: list[Event], classes) -> list[Event]:
    """Set `data["$tags"]` on copies of `events`; `classes` is a Tagger or [[tag, rule], ...]."""
    return tagger_for(classes).tag(events)
