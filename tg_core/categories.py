"""Categories: a hierarchy of names with a color, a productivity score and one rule each.

Categories are stored as Category rows (tg_core.models) and exchanged in ActivityWatch's
form, the `classes` setting that aw-webui writes (the settings API maps that key to the
rows): a list of `{"id", "name": ["Work", "Programming"], "rule": {"type": "regex", "regex",
"ignore_case"}, "data": {"color", "score"}}`. TimelyGator adds two optional rule keys, `fields` (a subset of
app/title/url/domain; default: every string in the event's data) and `priority` (breaks ties
between matches of equal depth). Rules are case-insensitive unless `ignore_case` is false.

Matching itself lives in `tg_core.transforms.categorize`; this module validates, ships the
default set, converts to and from ActivityWatch's formats, and answers "which category, what
color, what score" for an event's data. Reports are computed from events and the current
rules, so an edited rule applies to past data too.
"""

from __future__ import annotations

import copy
import json
import math
import re

from .errors import BadRequest
from .transforms.categorize import Classifier, cached_build, parse_rule

SETTING_KEY = "classes"  # the settings key aw-webui reads and writes categories under
UNCATEGORIZED = ("Uncategorized",)
UNCATEGORIZED_COLOR = "#cccccc"
MAX_CATEGORIES = 1000
MAX_DEPTH = 10
MAX_NAME = 100
MAX_REGEX = 5000
_COLOR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")


def _rule(apps: str, words: str, priority: int = 0) -> dict:
    """A default rule: an exact app/process name, or whole words in a title, URL or domain.

    Anchoring app names (`^code$`) keeps "code" from matching a title like "Barcode scanner";
    \\b around words keeps "teams" from matching "steamship". Case-insensitive throughout.
    """
    rule = {"type": "regex", "ignore_case": True,
            "regex": rf"^(?:{apps})$|\b(?:{words})\b" if apps else rf"\b(?:{words})\b"}
    if priority:
        rule["priority"] = priority
    return rule


def _group(name: str, color: str, score: float) -> dict:
    return {"name": [name], "rule": {"type": None}, "data": {"color": color, "score": score}}


def _cat(path: str, color: str, score: float, rule: dict) -> dict:
    return {"name": path.split(" > "), "rule": rule, "data": {"color": color, "score": score}}


# Linux app and process names (WM_CLASS / process name) and words of titles, URLs and
# sites. Case-insensitive: the lowercase app name "slack" must not fall through to
# Uncategorized, as it did with ActivityWatch's default "Slack" rule. Scores run -2..2.
# Deepest match wins; equal depth goes to the higher priority (Work > Comms > Media), so a
# programming video's "GitHub" title counts as Programming.
DEFAULT_CLASSES: list[dict] = [
    _group("Work", "#2e7d32", 1),
    _cat("Work > Programming", "#43a047", 2, _rule(
        r"code|code-oss|codium|vscodium|pycharm\S*|jetbrains-\S+|idea|webstorm|goland|clion"
        r"|rustrover|android-studio|sublime_text|vim|nvim|gvim|emacs|kate|geany|gnome-builder"
        r"|zed|gnome-terminal|gnome-terminal-server|kgx|ptyxis|xterm|uxterm|konsole|alacritty"
        r"|kitty|tilix|terminator|wezterm|wezterm-gui|foot|xfce4-terminal|urxvt|rxvt|st",
        r"visual studio code|vscodium|pycharm|intellij idea|sublime text|neovim|github|gitlab"
        r"|bitbucket|stack overflow|stackoverflow\.com|pypi\.org|crates\.io|npmjs\.com", 10)),
    _cat("Work > Docs", "#66bb6a", 1, _rule(
        r"libreoffice|soffice|soffice\.bin|evince|okular|zathura|atril|xreader|obsidian"
        r"|notion-app|onlyoffice",
        r"libreoffice|google docs|google sheets|google slides|docs\.google\.com|notion\.so"
        r"|readthedocs\.io|docs\.python\.org|developer\.mozilla\.org|overleaf|confluence", 10)),
    _cat("Work > Meetings", "#26a69a", 1, _rule(
        r"zoom|teams|teams-for-linux|skype|skypeforlinux|webex|jitsi-meet",
        r"zoom meeting|zoom\.us|microsoft teams|teams\.microsoft\.com|google meet"
        r"|meet\.google\.com|meet\.jit\.si|webex", 10)),
    _group("Comms", "#1e88e5", 0),
    _cat("Comms > Chat", "#42a5f5", 0, _rule(
        r"slack|discord|telegram-desktop|telegramdesktop|signal|signal-desktop|element"
        r"|element-desktop|mattermost|mattermost-desktop|hexchat|pidgin|weechat|irssi|zulip"
        r"|whatsapp-for-linux",
        r"slack|discord|telegram|whatsapp|web\.whatsapp\.com|app\.element\.io|mattermost"
        r"|zulip", 5)),
    _cat("Comms > Email", "#90caf9", 0, _rule(
        r"thunderbird|evolution|geary|kmail|mailspring|mutt|neomutt|claws-mail",
        r"thunderbird|mail\.google\.com|gmail|outlook|proton ?mail|mail\.proton\.me"
        r"|fastmail", 5)),
    _group("Media", "#e53935", -1),
    _cat("Media > Social Media", "#f06292", -1, _rule(
        "", r"reddit|facebook|twitter|x\.com|instagram|tiktok|mastodon|linkedin|bsky\.app"
            r"|bluesky|tumblr|pinterest|devrant")),
    _cat("Media > Video", "#e57373", -1, _rule(
        r"vlc|mpv|totem|celluloid|smplayer|kodi|haruna|freetube",
        r"youtube|youtu\.be|netflix|twitch|vimeo|prime video|hulu|plex")),
    _cat("Media > Music", "#ba68c8", 0, _rule(
        r"spotify|rhythmbox|audacious|clementine|strawberry|lollypop|amarok|elisa",
        r"spotify|youtube music|music\.youtube\.com|soundcloud|bandcamp|deezer|tidal", 1)),
    _cat("Media > News", "#ff8a65", -1, _rule(
        "", r"hacker news|news\.ycombinator\.com|news\.google\.com|bbc news|bbc\.co\.uk"
            r"|bbc\.com|cnn|nytimes|the guardian|theguardian\.com|reuters|washingtonpost"
            r"|lobste\.rs")),
    _cat("Media > Games", "#ffb74d", -2, _rule(
        r"steam|steamwebhelper|lutris|heroic|minecraft-launcher|retroarch|supertuxkart|0ad"
        r"|wesnoth",
        r"steam|itch\.io|minecraft|chess\.com|lichess")),
    _cat("Browsing", "#8d6e63", 0, _rule(
        r"firefox|firefox-esr|librewolf|navigator|chromium|chromium-browser|google-chrome"
        r"|google-chrome-stable|chrome|brave|brave-browser|vivaldi|vivaldi-stable|opera"
        r"|microsoft-edge|msedge|epiphany|org\.gnome\.epiphany",
        r"mozilla firefox|google chrome|chromium")),
    _cat("Uncategorized", UNCATEGORIZED_COLOR, 0, {"type": None}),
]
for _i, _c in enumerate(DEFAULT_CLASSES, 1):
    _c["id"] = _i


def default_classes() -> list[dict]:
    """A fresh copy of the default category set (safe to modify)."""
    return copy.deepcopy(DEFAULT_CLASSES)


def full_name(path) -> str:
    """`["Work", "Programming"]` -> `"Work > Programming"`."""
    return " > ".join(path)


def _fail(where: str, message: str):
    raise BadRequest(f"{where}: {message}", code="invalid_category")


def _check_rule(rule, where: str) -> dict:
    if rule is None:
        return {"type": None}
    if not isinstance(rule, dict):
        _fail(where, "a rule must be a JSON object")
    kind = rule.get("type")
    if kind in (None, "none", "null"):
        return {"type": None}
    if kind != "regex":
        _fail(where, f"unknown rule type {kind!r} (expected 'regex' or null)")
    regex = rule.get("regex")
    if not isinstance(regex, str) or not regex:
        _fail(where, "a regex rule needs a non-empty 'regex' string")
    if len(regex) > MAX_REGEX:
        _fail(where, f"regex longer than {MAX_REGEX} characters")
    ignore_case = rule.get("ignore_case", True)
    if not isinstance(ignore_case, bool):
        _fail(where, "'ignore_case' must be true or false")
    # The matcher validates the regex, fields and priority exactly as it will use them.
    try:
        parsed = parse_rule({**rule, "ignore_case": ignore_case}, where, True)
    except BadRequest as err:
        raise BadRequest(err.message, code="invalid_category") from None
    out = {"type": "regex", "regex": regex, "ignore_case": ignore_case}
    if rule.get("fields") is not None:
        out["fields"] = list(dict.fromkeys(parsed.fields))
    elif rule.get("select_keys") is not None:  # aw-core's spelling, any data keys
        out["select_keys"] = list(parsed.fields or ())
    if parsed.priority:
        out["priority"] = parsed.priority
    return out


def _check_data(data, where: str) -> dict:
    if data is None:
        return {}
    if not isinstance(data, dict):
        _fail(where, "'data' must be a JSON object")
    out = dict(data)  # aw-webui may keep other keys here; keep them
    color = data.get("color")
    if color is not None and (not isinstance(color, str) or not _COLOR.fullmatch(color)):
        _fail(where, f"color {color!r} is not a hex color like #1e88e5")
    score = data.get("score")
    if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))
                              or not math.isfinite(score) or abs(score) > 1000):
        _fail(where, f"score {score!r} must be a number between -1000 and 1000")
    return {k: v for k, v in out.items() if v is not None}


def _check_name(name, where: str) -> list[str]:
    if isinstance(name, str):  # "Work > Programming" is accepted for convenience
        name = [part.strip() for part in name.split(">")]
    if not isinstance(name, list) or not name or len(name) > MAX_DEPTH:
        _fail(where, f"'name' must be a list of 1..{MAX_DEPTH} strings")
    for part in name:
        if not isinstance(part, str) or not part.strip() or len(part) > MAX_NAME:
            _fail(where, f"each part of 'name' must be a non-empty string of at most "
                         f"{MAX_NAME} characters")
        if ">" in part:
            _fail(where, f"a name part may not contain '>' ({part!r})")
    return [part.strip() for part in name]


def _merge_rules(a: dict, b: dict) -> dict:
    """One rule matching what either matches (for imports that repeat a category name)."""
    if a["type"] is None:
        return b
    if b["type"] is None:
        return a
    if a.get("fields") != b.get("fields"):
        raise BadRequest("two rules for one category apply to different fields",
                         code="invalid_category")
    parts = [f"(?{'i' if r['ignore_case'] else '-i'}:{r['regex']})" for r in (a, b)]
    out = {"type": "regex", "regex": "|".join(parts), "ignore_case": False}
    if "fields" in a:
        out["fields"] = a["fields"]
    if max(a.get("priority", 0), b.get("priority", 0)):
        out["priority"] = max(a.get("priority", 0), b.get("priority", 0))
    return out


def normalize_classes(value, *, merge_duplicates: bool = False) -> list[dict]:
    """Validate a category list and return it in the stored (aw-webui `classes`) form.

    Accepts aw-webui's objects (`{"name", "rule", "data"}`), the query form that
    `categorize` takes (`[name, rule]` pairs), and aw-webui's export file
    (`{"categories": [...]}`). Raises BadRequest naming the first bad entry; nothing is
    partially accepted. A repeated name is an error unless `merge_duplicates` (imports), in
    which case the rules are OR-ed and the first entry's color and score are kept.
    """
    if isinstance(value, dict) and "categories" in value:
        value = value["categories"]
    if not isinstance(value, list):
        raise BadRequest("categories must be a JSON list (or {\"categories\": [...]})",
                         code="invalid_category")
    if len(value) > MAX_CATEGORIES:
        raise BadRequest(f"at most {MAX_CATEGORIES} categories", code="invalid_category")
    out: dict[tuple, dict] = {}
    used_ids = set()
    for i, entry in enumerate(value):
        where = f"categories[{i}]"
        if isinstance(entry, list) and len(entry) == 2:  # query form: [name, rule]
            entry = {"name": entry[0], "rule": entry[1]}
        if not isinstance(entry, dict):
            _fail(where, "each category must be an object with 'name' and 'rule'")
        name = _check_name(entry.get("name"), where)
        rule = _check_rule(entry.get("rule"), where + ".rule")
        data = _check_data(entry.get("data"), where + ".data")
        key = tuple(name)
        if key in out:
            if not merge_duplicates:
                _fail(where, f"duplicate category {full_name(name)!r}")
            out[key]["rule"] = _merge_rules(out[key]["rule"], rule)
            continue
        cat = {"name": name, "rule": rule, "data": data}
        cid = entry.get("id")
        if isinstance(cid, int) and not isinstance(cid, bool) and cid not in used_ids:
            cat["id"] = cid
            used_ids.add(cid)
        out[key] = cat
    next_id = max(used_ids, default=0) + 1
    for cat in out.values():
        if "id" not in cat:
            cat["id"] = next_id
            next_id += 1
    return [{"id": c["id"], "name": c["name"], "rule": c["rule"], "data": c["data"]}
            for c in out.values()]


def merge_classes(current: list[dict], incoming: list[dict]) -> list[dict]:
    """`current` with `incoming` added; an incoming category replaces one of the same name."""
    by_name = {tuple(c["name"]): c for c in current}
    for cat in incoming:
        by_name[tuple(cat["name"])] = {k: v for k, v in cat.items() if k != "id"}
    return normalize_classes(list(by_name.values()))


def export_classes(classes: list[dict]) -> dict:
    """The file aw-webui's "Export categories" writes and its import reads."""
    return {"categories": copy.deepcopy(classes)}


def query_classes(classes: list[dict]) -> list[list]:
    """The `[name, rule]` pairs `categorize` and ActivityWatch's query2 take."""
    return [[c["name"], c["rule"]] for c in classes if c["rule"].get("type") == "regex"]


class Categories:
    """A validated category set ready to classify: paths, colors and scores.

    Color and score inherit from the nearest ancestor that sets them (as in aw-webui);
    categories that are only implied by a child's name get a gray color and score 0.
    """

    def __init__(self, classes: list[dict]):
        self.classes = classes
        self.classifier = Classifier.from_classes(query_classes(classes))
        own = {tuple(c["name"]): c["data"] for c in classes}
        self._meta: dict[tuple, tuple[str, str, float]] = {}
        self._own = own
        self._cache: dict[tuple, tuple] = {}

    def meta(self, path: tuple) -> tuple[str, str, float]:
        """(full name, effective color, effective score) of a category path."""
        got = self._meta.get(path)
        if got is None:
            color, score = None, None
            for depth in range(len(path), 0, -1):
                data = self._own.get(path[:depth]) or {}
                color = color or data.get("color")
                if score is None:
                    score = data.get("score")
            got = (full_name(path), color or UNCATEGORIZED_COLOR, float(score or 0))
            self._meta[path] = got
        return got

    def classify(self, data: dict) -> tuple:
        """The category path for an event's data; `("Uncategorized",)` when nothing matches."""
        return tuple(self.classifier.classify(data)) or UNCATEGORIZED

    def classify_key(self, key: tuple, data_fn) -> tuple:
        """`classify` memoized on a hashable key; `data_fn()` builds the data on a miss."""
        got = self._cache.get(key)
        if got is None:
            if len(self._cache) > 200_000:  # bounded: a pathological day cannot grow it forever
                self._cache.clear()
            got = self._cache[key] = self.classify(data_fn())
        return got

    def all_paths(self) -> list[tuple]:
        """Every category path, implied parents included, in tree order."""
        paths = set()
        for c in self.classes:
            name = tuple(c["name"])
            for depth in range(1, len(name) + 1):
                paths.add(name[:depth])
        return sorted(paths)


def build(classes: list[dict]) -> Categories:
    """A Categories for `classes`, reused while the rules are unchanged (keeps its cache)."""
    return cached_build("report-categories", classes, Categories)


def load_classes(storage) -> list[dict]:
    """The stored categories (Category rows) in aw-webui's `classes` form, or the default set
    when none are stored.

    Stored rows that no longer validate (hand-edited) fall back to the defaults rather than
    breaking every report.
    """
    rows = storage.categories()
    if not rows:
        return default_classes()
    classes = []
    for row in rows:
        data = {k: row[k] for k in ("color", "score") if row[k] is not None}
        classes.append({"id": row["id"], "name": row["name"].split(" > "),
                        "rule": json.loads(row["rules"]), "data": data})
    try:
        return normalize_classes(classes, merge_duplicates=True)
    except (BadRequest, ValueError):
        return default_classes()


def save_classes(storage, classes) -> list[dict]:
    """Validate and store `classes` as Category rows; returns the stored form."""
    classes = normalize_classes(classes)
    storage.replace_categories([
        {"id": c["id"], "name": full_name(c["name"]), "color": c["data"].get("color"),
         "score": c["data"].get("score"), "rules": json.dumps(c["rule"]),
         "priority": c["rule"].get("priority") or 0} for c in classes])
    return load_classes(storage)


def reset_classes(storage) -> None:
    """Forget the stored categories: the default set applies again."""
    storage.replace_categories([])


def is_default(storage) -> bool:
    return not storage.categories()
