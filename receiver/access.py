"""Who may read the status of briefs: the operator, by SHARED_SECRET as a Bearer token or by a session cookie.

The secret is never typed into a URL (URLs end up in logs, history and Referer headers): a person logs in once with
a form (POST body), and gets a session cookie `<expiry>.<HMAC>` signed with a key derived from SHARED_SECRET, so
there is no session store and a new SHARED_SECRET ends every session. The cookie is HttpOnly (no script reads it),
SameSite=Strict (no other site's page sends it along: no cross-site request can use it), Secure when PUBLIC_URL is
https, Path=/, and lives SESSION_S. It only ever authorizes reading; the forms that change it (log in, log out)
also refuse a request whose Origin or Sec-Fetch-Site says it came from another site.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import urlsplit

from aiohttp import web

from receiver.payload import derive_key

COOKIE = "deployer_session"
SESSION_S = 12 * 3600
SESSION_KEY_LABEL = b"llm-pages-deployer status session v1"


def bearer(request: web.Request) -> str | None:
    """The Bearer credential; None when absent or not valid UTF-8 (aiohttp keeps stray bytes as surrogates)."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value:
        return None
    try:
        value.encode()
    except UnicodeEncodeError:
        return None
    return value


def same_secret(given: str | None, expected: str) -> bool:
    """Constant time, whatever `given` holds."""
    if given is None:
        return False
    try:
        return hmac.compare_digest(given.encode(), expected.encode())
    except UnicodeEncodeError:
        return False


class Access:
    def __init__(self, shared_secret: str, secure_cookies: bool):
        self._secret = shared_secret
        self._key = derive_key(shared_secret, SESSION_KEY_LABEL)
        self.secure_cookies = secure_cookies

    def _mac(self, expires: int) -> str:
        digest = hmac.new(self._key, f"session.{expires}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def secret_ok(self, given: str | None) -> bool:
        return same_secret(given, self._secret)

    def new_session(self, now: float) -> str:
        expires = int(now + SESSION_S)
        return f"{expires}.{self._mac(expires)}"

    def session_ok(self, value: str | None, now: float) -> bool:
        expires, _, mac = (value or "").partition(".")
        if not expires.isdigit() or len(expires) > 12 or int(expires) < now:
            return False
        return hmac.compare_digest(mac.encode(), self._mac(int(expires)).encode())

    def allowed(self, request: web.Request) -> bool:
        """The operator: SHARED_SECRET as Bearer (scripts, `deployer status`), or a live session cookie (the page)."""
        return self.secret_ok(bearer(request)) or self.session_ok(request.cookies.get(COOKIE), time.time())

    def set_session(self, response: web.StreamResponse, now: float) -> None:
        response.set_cookie(COOKIE, self.new_session(now), max_age=SESSION_S, path="/", httponly=True,
                            samesite="Strict", secure=self.secure_cookies)

    def end_session(self, response: web.StreamResponse) -> None:
        response.del_cookie(COOKIE, path="/", httponly=True, samesite="Strict", secure=self.secure_cookies)


def same_site(request: web.Request) -> bool:
    """False for a form posted from another site: the browser says so (Sec-Fetch-Site), or its Origin names another
    host. The page's Referrer-Policy is same-origin, so its own forms carry their real Origin."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser's cross-site form (browsers send Origin with every POST)
    return origin != "null" and urlsplit(origin).netloc == request.host
