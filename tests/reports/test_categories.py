"""Categories: the default set, validation, and ActivityWatch's import/export formats."""

import json

import pytest

from tg_core.categories import (UNCATEGORIZED, build, default_classes, export_classes,
                                load_classes, merge_classes, normalize_classes, query_classes,
                                save_classes)
from tg_core.errors import BadRequest

# What aw-webui's "Export categories" button writes (its default set, abridged): rules
# without "ignore_case" and a category name repeated with a second rule.
AW_EXPORT = {"categories": [
    {"id": 0, "name": ["Work"], "rule": {"type": "regex", "regex": "Google Docs|libreoffice|ReText"},
     "data": {"color": "#0F0"}},
    {"id": 1, "name": ["Work", "Programming"],
     "rule": {"type": "regex", "regex": "GitHub|Stack Overflow|BitBucket|Gitlab|vim|Spyder|kate"}},
    {"id": 2, "name": ["Comms", "IM"],
     "rule": {"type": "regex", "regex": "Messenger|Slack|Riot|Element|Discord|Mattermost"}},
    {"id": 3, "name": ["Media", "Social Media"],
     "rule": {"type": "regex", "regex": "reddit|Facebook|Twitter", "ignore_case": True},
     "data": {"color": "#FCF", "score": -1}},
    {"id": 4, "name": ["Uncategorized"], "rule": {"type": None}, "data": {"color": "#ccc"}},
]}


@pytest.mark.parametrize("data, expected", [
    ({"app": "slack", "title": "general | Acme"}, "Comms > Chat"),
    ({"app": "Slack", "title": "x"}, "Comms > Chat"),
    ({"app": "code", "title": "reports.py - timelygator - Visual Studio Code"}, "Work > Programming"),
    ({"app": "gnome-terminal-server", "title": "~/src"}, "Work > Programming"),
    ({"app": "xterm", "title": "bash"}, "Work > Programming"),
    ({"app": "konsole", "title": "zsh"}, "Work > Programming"),
    ({"app": "firefox", "title": "Example Domain — Mozilla Firefox"}, "Browsing"),
    ({"app": "chromium", "title": "New Tab"}, "Browsing"),
    ({"app": "google-chrome", "title": "x"}, "Browsing"),
    ({"app": "firefox", "title": "Funny cats - YouTube — Mozilla Firefox"}, "Media > Video"),
    ({"app": "firefox", "title": "x", "url": "https://github.com/a/b"}, "Work > Programming"),
    ({"app": "zoom", "title": "Zoom Meeting"}, "Work > Meetings"),
    ({"app": "thunderbird", "title": "Inbox"}, "Comms > Email"),
    ({"app": "spotify", "title": "Song"}, "Media > Music"),
    ({"app": "vlc", "title": "movie.mkv"}, "Media > Video"),
    ({"app": "mpv", "title": "clip.webm"}, "Media > Video"),
    ({"app": "libreoffice", "title": "report.odt"}, "Work > Docs"),
    ({"app": "steam", "title": "Library"}, "Media > Games"),
    ({"app": "firefox", "title": "x", "url": "https://www.reddit.com/r/python"}, "Media > Social Media"),
    ({"app": "firefox", "title": "Hacker News"}, "Media > News"),
    ({"app": "firefox", "title": "YouTube Music"}, "Media > Music"),
    # Whole words and exact app names only: no false friends.
    ({"app": "zbarcam", "title": "Barcode scanner"}, "Uncategorized"),
    ({"app": "nautilus", "title": "steamship photos"}, "Uncategorized"),
])
def test_default_rules(data, expected, cats):
    assert " > ".join(cats.classify(data)) == expected


def test_defaults_cover_the_issue_list():
    names = {" > ".join(c["name"]) for c in default_classes()}
    for wanted in ["Work > Programming", "Work > Docs", "Work > Meetings", "Comms > Chat",
                   "Comms > Email", "Media > Social Media", "Media > Video", "Media > Music",
                   "Media > News", "Media > Games", "Uncategorized"]:
        assert wanted in names
    assert normalize_classes(default_classes()) == default_classes()


def test_aw_webui_export_imports_case_insensitively():
    classes = normalize_classes(AW_EXPORT, merge_duplicates=True)
    assert [c["name"] for c in classes][:2] == [["Work"], ["Work", "Programming"]]
    cats = build(classes)
    # ActivityWatch's "Slack" rule missed the app "slack"; imported here, it matches.
    assert cats.classify({"app": "slack", "title": "x"}) == ("Comms", "IM")
    assert cats.meta(("Comms", "IM"))[1] == "#cccccc"  # no color anywhere up the tree
    assert cats.meta(("Work", "Programming"))[1] == "#0F0"  # inherited from Work
    assert cats.meta(("Media", "Social Media"))[2] == -1


def test_query_pairs_import_and_duplicates_merge():
    pairs = [[["Work"], {"type": "regex", "regex": "acme"}],
             [["Work"], {"type": "regex", "regex": "WIDGET", "ignore_case": False}]]
    classes = normalize_classes(pairs, merge_duplicates=True)
    assert len(classes) == 1
    cats = build(classes)
    assert cats.classify({"title": "ACME"}) == ("Work",)
    assert cats.classify({"title": "WIDGET"}) == ("Work",)
    assert cats.classify({"title": "widget"}) == UNCATEGORIZED


def test_export_round_trips_through_import():
    exported = json.loads(json.dumps(export_classes(default_classes())))
    assert normalize_classes(exported) == default_classes()
    assert query_classes(default_classes())[0][0] == ["Work", "Programming"]


@pytest.mark.parametrize("bad, message", [
    ([{"name": ["X"], "rule": {"type": "regex", "regex": "("}}], "categories[0].rule"),
    ([{"name": [], "rule": None}], "'name'"),
    ([{"name": ["A > B"], "rule": None}], "'>'"),
    ([{"name": ["X"], "rule": {"type": "glob", "regex": "x"}}], "unknown rule type"),
    ([{"name": ["X"], "rule": {"type": "regex", "regex": ""}}], "non-empty"),
    ([{"name": ["X"], "rule": None, "data": {"color": "red; x"}}], "hex color"),
    ([{"name": ["X"], "rule": None, "data": {"score": "high"}}], "score"),
    ([{"name": ["X"], "rule": {"type": "regex", "regex": "x", "fields": ["body"]}}], "fields"),
    ([{"name": ["X"], "rule": {"type": "regex", "regex": "x", "priority": "1"}}], "priority"),
    ([{"name": ["X"], "rule": None}, {"name": ["X"], "rule": None}], "duplicate"),
    ({"not": "a list"}, "JSON list"),
    ([42], "object"),
])
def test_invalid_categories_are_rejected_with_a_clear_message(bad, message):
    with pytest.raises(BadRequest) as err:
        normalize_classes(bad)
    assert message in err.value.message
    assert err.value.status == 400


def test_fields_restrict_where_a_rule_looks():
    cats = build(normalize_classes([
        {"name": ["Site"], "rule": {"type": "regex", "regex": "^example\\.org$",
                                    "fields": ["domain"]}}]))
    assert cats.classify({"app": "firefox", "url": "https://www.example.org/x"}) == ("Site",)
    assert cats.classify({"app": "firefox", "title": "example.org"}) == UNCATEGORIZED


def test_categories_are_category_rows_and_defaults_apply_until_saved(tmp_path):
    from tg_core.categories import is_default, reset_classes
    from tg_core.storage import Storage

    storage = Storage(tmp_path / "c.db")
    try:
        assert load_classes(storage) == default_classes() and is_default(storage)
        saved = save_classes(storage, [{"name": ["Work", "Design"], "rule": {"type": "regex", "regex": "gimp"},
                                        "data": {"color": "#112233", "score": 2}}])
        assert saved == load_classes(storage) and not is_default(storage)
        assert saved[0]["rule"]["ignore_case"] is True
        (row,) = storage.categories()
        assert (row["name"], row["color"], row["score"]) == ("Work > Design", "#112233", 2)
        with pytest.raises(BadRequest):
            save_classes(storage, [{"name": ["Bad"], "rule": {"type": "regex", "regex": "["}}])
        assert load_classes(storage) == saved  # nothing partially stored
        reset_classes(storage)
        assert load_classes(storage) == default_classes()
    finally:
        storage.close()


def test_merge_replaces_same_names_and_keeps_the_rest():
    current = normalize_classes([{"name": ["A"], "rule": None}, {"name": ["B"], "rule": None}])
    incoming = normalize_classes([{"name": ["B"], "rule": {"type": "regex", "regex": "b"}},
                                  {"name": ["C"], "rule": None}])
    merged = merge_classes(current, incoming)
    assert [c["name"][0] for c in merged] == ["A", "B", "C"]
    assert merged[1]["rule"]["regex"] == "b"
