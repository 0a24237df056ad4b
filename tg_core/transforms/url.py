"""Splitting browser URLs into parts, as ActivityWatch's aw_transform.split_url_events does.

Each event with a string `data["url"]` gets `$protocol`, `$domain` (the network location
without a leading "www."; for URLs without one, such as file:// or about:, the scheme),
`$path`, `$params`, `$options` (the query string) and
`$identifier` (the fragment). Other events, and URLs that cannot be parsed, pass unchanged.
"""

from __future__ import annotations

from urllib.parse import urlparse

from ..event import Event


def _domain(parsed) -> str:
    netloc = parsed.netloc
    if netloc:
        return netloc[4:] if netloc.startswith("www.") else netloc
    return parsed.scheme


def domain_of(url: str) -> str:
    """The domain of a URL as ActivityWatch's split_url_events reports it ("" when the URL
    cannot be parsed)."""
    try:
        return _domain(urlparse(url))
    except ValueError:
        return ""


def split_url_events(events: list[Event]) -> list[Event]:
    """Events with their URL split into `$protocol`, `$domain`, `$path`, ... (see module)."""
    out = []
    for e in events:
        url = e.data.get("url")
        if isinstance(url, str):
            try:
                p = urlparse(url)
            except ValueError:  # e.g. an unbalanced IPv6 bracket
                out.append(e)
                continue
            e = Event(e.timestamp, e.duration, {
                **e.data, "$protocol": p.scheme, "$domain": _domain(p), "$path": p.path,
                "$params": p.params, "$options": p.query, "$identifier": p.fragment,
            }, e.id)
        out.append(e)
    return out
