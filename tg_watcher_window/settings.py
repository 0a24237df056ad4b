"""The server settings the dashboard writes for this watcher: `afk_timeout` (seconds) and
`exclusions` (regexes; windows whose app or title matches are not recorded).

They are read at start and every `[watcher-window] settings_refresh` seconds on a thread of
their own, so a slow or stopped server never delays a poll. A set and valid value overrides
config.toml's; an unset one leaves config.toml's in force. The last answers are kept in the
cache dir, so a watcher that starts while the server is down still honours the exclusions
the user last set.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .window import compile_pattern

log = logging.getLogger(__name__)

AFK_TIMEOUT = "afk_timeout"
EXCLUSIONS = "exclusions"
KEYS = (AFK_TIMEOUT, EXCLUSIONS)
# The dashboard's bounds for the AFK timeout, in seconds.
MIN_TIMEOUT, MAX_TIMEOUT = 10, 86400
_UNREAD = object()


@dataclass(frozen=True)
class Values:
    """The valid server values: `afk_timeout` None when unset or invalid."""

    afk_timeout: float | None = None
    exclusions: tuple[re.Pattern, ...] = ()


def parse_afk_timeout(value) -> float | None:
    """The timeout in seconds, None when unset; ValueError for anything else."""
    if value is None:
        return None
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not MIN_TIMEOUT <= value <= MAX_TIMEOUT):
        raise ValueError(f"server setting {AFK_TIMEOUT!r}: expected a number of seconds from "
                         f"{MIN_TIMEOUT} to {MAX_TIMEOUT}, got {value!r}; using config.toml's")
    return float(value)


def parse_exclusions(value) -> tuple[tuple[re.Pattern, ...], list[str]]:
    """(compiled patterns, problems): invalid entries are skipped, the others still apply,
    so one typo does not un-hide every window the user excluded."""
    if value is None:
        return (), []
    if not isinstance(value, list):
        return (), [f"server setting {EXCLUSIONS!r}: expected a list of regexes, got "
                    f"{value!r}; ignoring it"]
    patterns, problems = [], []
    for item in value:
        try:
            patterns.append(compile_pattern(item, f"server setting {EXCLUSIONS!r}"))
        except ValueError as exc:
            problems.append(f"{exc}; ignoring this entry")
    return tuple(patterns), problems


class ServerSettings:
    """Reads the settings through the client and keeps `values` (replaced, never mutated, so
    the polling thread can read it while this one refreshes)."""

    def __init__(self, client, cache_path: Path | None = None):
        self._client = client
        self._cache_path = cache_path
        self._raw: dict = dict.fromkeys(KEYS)
        self.values = Values()
        cached = self._load_cache()
        if cached:
            self._update(cached)

    def refresh(self) -> bool:
        """Ask the server for every key; returns whether `values` changed. A key the server
        cannot answer keeps its last value."""
        answers = {key: self._client.get_setting(key, default=_UNREAD) for key in KEYS}
        changed = {key: value for key, value in answers.items()
                   if value is not _UNREAD and value != self._raw[key]}
        if changed:
            self._update(changed)
            self._save_cache()
        return bool(changed)

    def _update(self, changed: dict) -> None:
        """Parse only the keys whose value changed: each invalid value is logged once."""
        self._raw.update(changed)
        timeout, exclusions = self.values.afk_timeout, self.values.exclusions
        if AFK_TIMEOUT in changed:
            try:
                timeout = parse_afk_timeout(changed[AFK_TIMEOUT])
            except ValueError as exc:
                log.warning("%s", exc)
                timeout = None
        if EXCLUSIONS in changed:
            exclusions, problems = parse_exclusions(changed[EXCLUSIONS])
            for problem in problems:
                log.warning("%s", problem)
        self.values = Values(timeout, exclusions)

    def _load_cache(self) -> dict:
        if self._cache_path is None:
            return {}
        try:
            cached = json.loads(self._cache_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("ignoring the settings cache %s: %s", self._cache_path, exc)
            return {}
        return {k: v for k, v in cached.items() if k in KEYS} if isinstance(cached, dict) else {}

    def _save_cache(self) -> None:
        if self._cache_path is None:
            return
        tmp = self._cache_path.with_suffix(".tmp")
        try:
            self._cache_path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(self._raw), encoding="utf-8")
            os.replace(tmp, self._cache_path)
        except OSError as exc:
            log.warning("cannot keep the server settings in %s: %s", self._cache_path, exc)
