"""Where TimelyGator keeps its files, its configuration file, and the per-user API token.

Directories come from platformdirs and can be overridden by TG_DATA_DIR, TG_CONFIG_DIR and
TG_CACHE_DIR (and by CLI flags), which is how tests keep away from the user's files.
The configuration is an optional TOML file, `config.toml` in the config directory:

    [server]
    host = "127.0.0.1"
    port = 5700
    auth = "token"            # or "none" for third-party ActivityWatch watchers
    extension_ids = []        # extra browser-extension ids allowed by CORS

    [client]
    batch_seconds = 5         # send at least this often (at once when the data changes)
    retry_max = 10            # longest back-off between retries, seconds
    queue_max = 100000        # batches kept on disk while the server is unreachable

    [watcher-window]
    poll = 1.0
    backend = "auto"          # auto | x11 | pywinctl
    settings_refresh = 60     # seconds between reads of the dashboard's afk_timeout and
                              # exclusions (server settings; they win over this file)
    exclude_apps = []         # regexes; matching windows are not recorded at all
    exclude_titles = []       # regexes; matching titles are recorded as "excluded"

    [watcher-afk]
    timeout = 180
    poll = 5.0
    idle_source = "auto"      # auto | os | pynput
"""

from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "timelygator"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5700
TESTING_PORT = 5766
TOKEN_FILE = "api_token"
CONFIG_FILE = "config.toml"


def _platform_dir(kind: str) -> Path:
    import platformdirs

    return Path(getattr(platformdirs, f"user_{kind}_dir")(APP_NAME))


def data_dir(override: str | os.PathLike | None = None) -> Path:
    """The data directory (database), created with mode 0700."""
    return _ensure_private(Path(override or os.environ.get("TG_DATA_DIR") or _platform_dir("data")))


def config_dir(override: str | os.PathLike | None = None) -> Path:
    """The configuration directory (config.toml, api_token), created with mode 0700."""
    return _ensure_private(Path(override or os.environ.get("TG_CONFIG_DIR") or _platform_dir("config")))


def cache_dir(override: str | os.PathLike | None = None) -> Path:
    """The cache directory (the watchers' durable queues), created with mode 0700."""
    return _ensure_private(Path(override or os.environ.get("TG_CACHE_DIR") or _platform_dir("cache")))


def _ensure_private(path: Path) -> Path:
    """Create `path` if needed and make sure only this user can enter it."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if os.name == "posix":
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            path.chmod(mode & 0o700)
    return path


def database_path(data: Path, testing: bool = False) -> Path:
    """The SQLite file; --testing uses its own so tests never touch real data."""
    return data / ("timelygator-testing.db" if testing else "timelygator.db")


def load_config(config: Path | None = None) -> dict:
    """Read config.toml from the config directory; a missing file is an empty config.

    A file that is not valid TOML raises ValueError with the file name and the parser's message.
    """
    path = (config or config_dir()) / CONFIG_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: {exc}") from None


def section(config: dict, name: str) -> dict:
    """One table of the config, or {} when absent or not a table."""
    value = config.get(name, {})
    return value if isinstance(value, dict) else {}


def read_token(config: Path | None = None) -> str | None:
    """The API token, or None when the server has not created one yet."""
    try:
        return ((config or config_dir()) / TOKEN_FILE).read_text(encoding="ascii").strip() or None
    except FileNotFoundError:
        return None


def ensure_token(config: Path | None = None) -> str:
    """Return the API token, creating it (mode 0600, atomically) at first start."""
    path = (config or config_dir()) / TOKEN_FILE
    token = read_token(path.parent)
    if token:
        if os.name == "posix" and stat.S_IMODE(path.stat().st_mode) & 0o077:
            path.chmod(0o600)
        return token
    import secrets  # here, not at the top: it loads OpenSSL, 4 MiB in every watcher

    token = secrets.token_urlsafe(32)
    tmp = path.with_name(f".{TOKEN_FILE}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(token + "\n")
    try:
        os.link(tmp, path)  # fails if another process created it first: keep theirs
    except FileExistsError:
        token = read_token(path.parent) or token
    finally:
        tmp.unlink(missing_ok=True)
    return token


@dataclass(frozen=True)
class ServerAddress:
    """Where a client finds the server, and the token it sends."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def server_address(config: dict | None = None, *, host: str | None = None,
                   port: int | None = None, testing: bool = False) -> ServerAddress:
    """The server's address from flags, then config.toml's [server], then the defaults."""
    server = section(config if config is not None else load_config(), "server")
    default_port = TESTING_PORT if testing else int(server.get("port", DEFAULT_PORT))
    return ServerAddress(host or server.get("host", DEFAULT_HOST), port or default_port)
