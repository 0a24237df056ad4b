"""Access control: only this user, their browser extension and their dashboard get in."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

from tg_core.config import read_token
from tg_server.auth import make_login_code

EXTENSION_ID = "abcdefghijklmnopabcdefghijklmnop"


@pytest.fixture
def ext_server(server_factory):
    return server_factory({"server": {"extension_ids": [EXTENSION_ID]}})


def get(server, path="api/0/buckets/", headers=None, **kw):
    return requests.get(f"{server.url}/{path}", headers=headers or {}, timeout=10, **kw)


def test_missing_or_wrong_token_is_401(server):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {server.token}"},
                    {"Authorization": "Bearer"}, {"Authorization": server.token}):
        r = get(server, headers=headers)
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
        assert r.headers["WWW-Authenticate"] == "Bearer"
    assert get(server, headers=server.headers).status_code == 200


def test_health_is_the_only_open_api_endpoint(server):
    r = get(server, "api/0/health")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    for path in ("api/0/info", "api/0/export", "api/0/settings", "api/0/openapi.json", "api/0/query/"):
        assert get(server, path).status_code == 401


def test_secrets_never_appear_in_responses_or_logs(server):
    token = server.token
    for r in (get(server), get(server, headers={"Authorization": "Bearer nope"}),
              get(server, "api/0/info", headers=server.headers),
              get(server, "api/0/openapi.json", headers=server.headers),
              get(server, "api/0/settings", headers=server.headers)):
        assert token not in r.text
    login = server.login_url()
    get(server, login.split("/", 3)[3], allow_redirects=False)
    server.stop()
    log = server.log_text()
    assert token not in log and login.split("code=")[1] not in log


def test_foreign_host_header_is_400(server):
    for host in ("evil.example", "evil.example:5700", "127.0.0.1.evil.example", "localhost.evil"):
        r = get(server, headers={**server.headers, "Host": host})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_host"
    for host in (f"localhost:{server.port}", f"127.0.0.1:{server.port}", "[::1]:1"):
        assert get(server, headers={**server.headers, "Host": host}).status_code == 200


def test_foreign_origin_is_403_even_with_the_token(ext_server):
    for origin in ("http://evil.example", "null", "chrome-extension://someoneelse",
                   f"http://localhost:{ext_server.port + 1}"):
        r = get(ext_server, headers={**ext_server.headers, "Origin": origin})
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden_origin"
    own = get(ext_server, headers={**ext_server.headers, "Origin": ext_server.url})
    assert own.status_code == 200 and "Access-Control-Allow-Origin" not in own.headers


def test_cors_only_for_the_extension_origin(ext_server):
    preflight = {"Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type"}
    ext_origin = f"chrome-extension://{EXTENSION_ID}"
    r = requests.options(f"{ext_server.url}/api/0/buckets/x/heartbeats", timeout=10,
                         headers={**preflight, "Origin": ext_origin})
    assert r.status_code == 204
    assert r.headers["Access-Control-Allow-Origin"] == ext_origin
    assert "authorization" in r.headers["Access-Control-Allow-Headers"].lower()
    for origin in ("https://evil.example", ext_server.url):
        r = requests.options(f"{ext_server.url}/api/0/buckets/x/heartbeats", timeout=10,
                             headers={**preflight, "Origin": origin})
        assert r.status_code == 403 and "Access-Control-Allow-Origin" not in r.headers
    r = get(ext_server, headers={**ext_server.headers, "Origin": ext_origin})
    assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == ext_origin


@pytest.mark.parametrize("content_type,body", [
    ("application/x-www-form-urlencoded", "type=x"), ("text/plain", '{"type": "x"}'),
    ("multipart/form-data; boundary=zz", "--zz--"), (None, '{"type": "x"}')])
def test_state_changing_requests_must_be_json(server, content_type, body):
    headers = dict(server.headers)
    if content_type:
        headers["Content-Type"] = content_type
    r = requests.post(f"{server.url}/api/0/buckets/formbucket", data=body.encode(), headers=headers, timeout=10)
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media_type"
    assert "formbucket" not in server.api("GET", "buckets/").json()


def test_token_file_and_directories_are_private(server):
    token_file = server.config_dir / "api_token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    for d in (server.data_dir, server.config_dir):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700
    assert len(read_token(server.config_dir)) >= 40


def test_one_time_url_works_once_and_sets_a_strict_httponly_cookie(server):
    url = server.login_url()
    session = requests.Session()
    assert session.get(f"{server.url}/api/0/buckets/", timeout=10).status_code == 401
    first = session.get(url, allow_redirects=False, timeout=10)
    assert first.status_code == 302 and first.headers["Location"] == "/"
    cookie = first.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert server.token not in cookie
    assert session.get(f"{server.url}/api/0/buckets/", timeout=10).status_code == 200
    again = requests.get(url, allow_redirects=False, timeout=10)
    assert again.status_code == 403 and "Set-Cookie" not in again.headers


def test_expired_or_forged_login_codes_are_refused(server):
    expired = make_login_code(server.token, ttl=60, now=time.time() - 120)
    forged = make_login_code("not-the-token")
    for code in (expired, forged, "garbage", ""):
        r = requests.get(f"{server.url}/login", params={"code": code}, allow_redirects=False, timeout=10)
        assert r.status_code == 403 and "Set-Cookie" not in r.headers


def test_forged_session_cookie_is_401(server):
    r = requests.get(f"{server.url}/api/0/buckets/", cookies={"tg_session": "99999999999.deadbeef"}, timeout=10)
    assert r.status_code == 401


def test_auth_none_is_reported_and_warned_about(server_factory):
    open_server = server_factory({"server": {"auth": "none"}})
    r = get(open_server, "api/0/info")
    assert r.status_code == 200 and r.json()["auth"] == "none"
    assert "auth = \"none\"" in open_server.log_text()
    assert get(open_server, headers={"Host": "evil.example"}).status_code == 400  # Host check stays
    r = requests.post(f"{open_server.url}/api/0/buckets/x", data="type=x", timeout=10,
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415


def _as_root(cmd: list[str]) -> list[str]:
    return cmd if os.geteuid() == 0 else ["sudo", "-n", *cmd]


@pytest.fixture
def other_user():
    name = f"tgtest{os.getpid()}"
    subprocess.run(_as_root(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name]),
                   check=True, capture_output=True)
    yield name
    subprocess.run(_as_root(["userdel", name]), capture_output=True)


def test_a_second_os_user_gets_401_and_cannot_read_the_data(server_factory, other_user):
    # A world-traversable parent, so only TimelyGator's own permissions keep the user out.
    root = Path(tempfile.mkdtemp(prefix="tg-perm-", dir="/tmp"))
    root.chmod(0o755)
    try:
        server = server_factory(root=root / "srv")
        (root / "srv").chmod(0o755)
        python = shutil.which("python3", path="/usr/bin:/bin") or "/usr/bin/python3"
        probe = f"""
import json, os, urllib.request, urllib.error
out = {{}}
try:
    urllib.request.urlopen("{server.url}/api/0/buckets/", timeout=10)
    out["api"] = 200
except urllib.error.HTTPError as e:
    out["api"] = e.code
for name, path in (("token", "{server.config_dir / 'api_token'}"), ("data", "{server.data_dir}")):
    try:
        (open(path).read() if name == "token" else os.listdir(path))
        out[name] = "readable"
    except PermissionError:
        out[name] = "denied"
print(json.dumps(out))
"""
        result = subprocess.run(_as_root(["runuser", "-u", other_user, "--", python, "-c", probe]),
                                capture_output=True, text=True, timeout=60, cwd="/")
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().endswith('{"api": 401, "token": "denied", "data": "denied"}')
    finally:
        shutil.rmtree(root, ignore_errors=True)
