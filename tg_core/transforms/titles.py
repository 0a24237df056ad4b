"""Simplifying window titles, as ActivityWatch's aw_transform.simplify_string does.

For the string value of `key`: a "(3) " counter prefix is removed (chat and mail tabs). When
`key` is "title" and the event has an "app": an FPS readout becomes "FPS: ...", and a leading
unsaved-changes marker ("●" or "*") is removed. Events without a string value pass unchanged.
"""

from __future__ import annotations

import re

from ..event import Event

_PARENS_PREFIX = re.compile(r"^\([0-9]+\)\s*")
_FPS = re.compile(r"FPS:\s+[0-9\.]+")
_LEADING_DOT = re.compile(r"^(●|\*)\s*")


def simplify_window_titles(events: list[Event], key: str = "title") -> list[Event]:
    """Events with noise removed from `data[key]`; see the module docstring."""
    window_title = key == "title"
    out = []
    for e in events:
        value = e.data.get(key)
        if isinstance(value, str):
            new = _PARENS_PREFIX.sub("", value)
            if window_title and "app" in e.data:
                new = _LEADING_DOT.sub("", _FPS.sub("FPS: ...", new))
            if new != value:
                e = Event(e.timestamp, e.duration, {**e.data, key: new}, e.id)
        out.append(e)
    return out
