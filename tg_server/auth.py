"""Who may talk to the server: the token, the dashboard session, and one-time login codes.

Everything is derived from the per-user API token (config dir, mode 0600), so it needs no
state and survives restarts: a one-time code is `nonce.expiry.mac` and a session cookie is
`expiry.mac`, both HMAC-SHA256 under the token. Codes are single-use (the server remembers
the nonces it accepted until they expire). Rotating the token revokes everything.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

SESSION_COOKIE = "tg_session"
LOGIN_CODE_TTL = 120  # seconds a one-time URL stays valid
SESSION_TTL = 30 * 86400


def _mac(token: str, message: str) -> str:
    return hmac.new(token.encode(), message.encode(), hashlib.sha256).hexdigest()


def make_login_code(token: str, ttl: int = LOGIN_CODE_TTL, now: float | None = None) -> str:
    """A single-use code for `/login?code=...`; whoever can read the token can make one."""
    nonce = secrets.token_urlsafe(12)
    expiry = int((now or time.time()) + ttl)
    return f"{nonce}.{expiry}.{_mac(token, f'login.{nonce}.{expiry}')}"


def login_url(base_url: str, token: str) -> str:
    return f"{base_url}/login?code={make_login_code(token)}"


class Authenticator:
    """Checks bearer tokens and session cookies, and redeems one-time login codes."""

    def __init__(self, token: str):
        self._token = token
        self._used_nonces: dict[str, int] = {}

    def token_ok(self, presented: str | None) -> bool:
        return bool(presented) and hmac.compare_digest(presented.encode(), self._token.encode())

    def bearer_ok(self, authorization: str | None) -> bool:
        if not authorization:
            return False
        scheme, _, value = authorization.partition(" ")
        return scheme.lower() == "bearer" and self.token_ok(value.strip())

    def redeem_login_code(self, code: str | None, now: float | None = None) -> bool:
        """True once for a valid, unexpired code; False for anything else or a second use."""
        now = now or time.time()
        try:
            nonce, expiry_text, mac = (code or "").split(".")
            expiry = int(expiry_text)
        except ValueError:
            return False
        if not hmac.compare_digest(mac.encode(), _mac(self._token, f"login.{nonce}.{expiry}").encode()):
            return False
        if expiry < now or expiry > now + LOGIN_CODE_TTL + 5:
            return False
        self._used_nonces = {n: e for n, e in self._used_nonces.items() if e >= now}
        if nonce in self._used_nonces:
            return False
        self._used_nonces[nonce] = expiry
        return True

    def new_session(self, now: float | None = None) -> str:
        expiry = int((now or time.time()) + SESSION_TTL)
        return f"{expiry}.{_mac(self._token, f'session.{expiry}')}"

    def session_ok(self, cookie: str | None, now: float | None = None) -> bool:
        try:
            expiry_text, mac = (cookie or "").split(".")
            expiry = int(expiry_text)
        except ValueError:
            return False
        return expiry >= (now or time.time()) and hmac.compare_digest(
            mac.encode(), _mac(self._token, f"session.{expiry}").encode())
