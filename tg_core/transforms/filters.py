"""Keeping or dropping events by a data value, as ActivityWatch's aw_transform does it.

- filter_keyvals(events, key, vals): events whose data has `key` with a value equal to one of
  `vals` (values compare by content, so lists such as "$category" work).
- exclude_keyvals(events, key, vals): the others, including events without `key`.
- filter_keyvals_regex(events, key, regex): events whose string value for `key` contains a
  match of `regex` (re.search, case-sensitive unless the pattern says (?i)). Events without
  the key or with a non-string value are dropped (aw-core would crash on them).
"""

from __future__ import annotations

import re

from ..errors import BadRequest
from ..event import Event


def _matches(events: list[Event], key: str, vals: list):
    # A set makes the common case (hashable values) O(1); lists fall back to `in vals`.
    try:
        lookup = set(vals)
    except TypeError:
        lookup = vals
    for e in events:
        data = e.data
        if key in data:
            value = data[key]
            try:
                hit = value in lookup
            except TypeError:  # unhashable value vs a set
                hit = value in vals
            yield e, hit
        else:
            yield e, False


def filter_keyvals(events: list[Event], key: str, vals: list) -> list[Event]:
    """Events whose `data[key]` equals one of `vals`."""
    return [e for e, hit in _matches(events, key, vals) if hit]


def exclude_keyvals(events: list[Event], key: str, vals: list) -> list[Event]:
    """Events whose `data[key]` is missing or equals none of `vals`."""
    return [e for e, hit in _matches(events, key, vals) if not hit]


def compile_regex(regex: str, flags: int = 0, what: str = "regex") -> re.Pattern:
    """re.compile, turning an invalid pattern into BadRequest naming `what`."""
    try:
        return re.compile(regex, flags)
    except (re.error, TypeError, ValueError, OverflowError, RecursionError) as err:
        raise BadRequest(f"invalid {what} {regex!r}: {err}", code="invalid_regex") from None


def filter_keyvals_regex(events: list[Event], key: str, regex: str) -> list[Event]:
    """Events whose string `data[key]` contains a match of `regex`."""
    search = compile_regex(regex).search
    out = []
    for e in events:
        value = e.data.get(key)
        if isinstance(value, str) and search(value):
            out.append(e)
    return out
