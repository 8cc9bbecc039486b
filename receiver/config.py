"""The receiver's settings, read once from the environment.

Every setting is checked at start-up, so a typo stops the service with one line naming the variable instead of
surfacing later as a failed dispatch. `deployer serve --help` lists the same variables (a test keeps them in step).
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from deployer.limits import SETTINGS as LIMIT_SETTINGS
from deployer.limits import BriefLimits, LimitsError

REPO_RE = re.compile(r"[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}")

# name -> default shown in `deployer serve --help`; None means required.
DEFAULTS: dict[str, str | None] = {
    "SHARED_SECRET": None,
    "GITHUB_TOKEN": None,
    "DEPLOYER_REPO": None,
    "GITHUB_API_URL": "https://api.github.com",
    "DEPLOYER_DATA_DIR": ".deployer",
    "HOST": "127.0.0.1",
    "PORT": "8000",
    "MAX_BODY_MB": "25",
    "PUBLIC_URL": "http://HOST:PORT",
    "DISPATCH_PER_MINUTE": "60",
    "DISPATCH_LOOKUP_SECONDS": "60",
    "DISPATCH_TIMEOUT_SECONDS": "30",
    "RATE_LIMIT_PER_MINUTE": "600",
    "BRIEF_TOKEN_TTL_HOURS": "24",
    "OUTBOX_SYNC": "normal",
    "STATUS_LOOKUP_SECONDS": "10",
    **{limit.env: str(limit.default) for limit in LIMIT_SETTINGS},
}


class ConfigError(ValueError):
    """One line for the operator: which setting is missing or wrong."""


@dataclass(frozen=True)
class Settings:
    shared_secret: str
    github_token: str
    repo: str
    github_api_url: str
    data_dir: Path
    host: str
    port: int
    max_body_bytes: int
    public_url: str | None  # None: derived from the bound address once the port is known
    dispatch_per_minute: float
    dispatch_lookup_s: float
    dispatch_timeout_s: float
    rate_limit_per_minute: int
    token_ttl_s: float
    outbox_sync: str
    limits: BriefLimits
    status_lookup_s: float = 10.0  # at least this long between two Actions API lookups for the status page

    def with_public_url(self, bound_url: str) -> Settings:
        """PUBLIC_URL defaults to where we listen, which is only known after binding (PORT=0)."""
        if self.public_url is not None:
            return self
        return Settings(**{**self.__dict__, "public_url": bound_url})


def _get(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    return value or (DEFAULTS[name] or "")


def _number(env: Mapping[str, str], name: str, *, minimum: float, integer: bool = False) -> float:
    raw = _get(env, name)
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise ConfigError(f"{name} must be {kind}, not {raw!r}") from None
    if not math.isfinite(value) or value < minimum:
        raise ConfigError(f"{name} must be at least {minimum:g}, not {raw!r}")
    return value


def load_settings(env: Mapping[str, str], *, host: str | None = None, port: int | None = None) -> Settings:
    """Build Settings from `env`; command-line `host`/`port` win over HOST/PORT. Raises ConfigError."""
    token = env.get("GITHUB_TOKEN", "").strip() or env.get("GITHUB_PAT", "").strip()
    missing = [
        name for name, value in (
            ("SHARED_SECRET", env.get("SHARED_SECRET", "")),
            ("GITHUB_TOKEN", token),
            ("DEPLOYER_REPO", env.get("DEPLOYER_REPO", "").strip()),
        ) if not value
    ]
    if missing:
        named = ", ".join("GITHUB_TOKEN (or GITHUB_PAT)" if m == "GITHUB_TOKEN" else m for m in missing)
        raise ConfigError(f"missing required setting{'s' if len(missing) > 1 else ''}: {named}")
    repo = env["DEPLOYER_REPO"].strip()
    if REPO_RE.fullmatch(repo) is None:
        raise ConfigError(f"DEPLOYER_REPO must be owner/name, not {repo!r}")
    api_url = _get(env, "GITHUB_API_URL").rstrip("/")
    if not api_url.startswith(("http://", "https://")):
        raise ConfigError(f"GITHUB_API_URL must be an http(s) URL, not {api_url!r}")
    public_url = env.get("PUBLIC_URL", "").strip().rstrip("/") or None
    if public_url is not None and not public_url.startswith(("http://", "https://")):
        raise ConfigError(f"PUBLIC_URL must be an http(s) URL, not {public_url!r}")
    sync = _get(env, "OUTBOX_SYNC").lower()
    if sync not in ("normal", "full"):
        raise ConfigError(f"OUTBOX_SYNC must be normal or full, not {sync!r}")
    try:
        limits = BriefLimits.from_env(env)
    except LimitsError as exc:
        raise ConfigError(str(exc)) from None
    if port is None:
        port = int(_number(env, "PORT", minimum=0, integer=True))
    if not 0 <= port <= 65535:
        raise ConfigError(f"PORT must be 0-65535, not {port}")
    host = host or _get(env, "HOST")
    if (problem := unreachable_public_url(public_url, host, port)) is not None:
        raise ConfigError(problem)
    return Settings(
        shared_secret=env["SHARED_SECRET"],
        github_token=token,
        repo=repo,
        github_api_url=api_url,
        data_dir=Path(_get(env, "DEPLOYER_DATA_DIR")),
        host=host,
        port=port,
        max_body_bytes=int(_number(env, "MAX_BODY_MB", minimum=0.001) * 1024 * 1024),
        public_url=public_url,
        dispatch_per_minute=_number(env, "DISPATCH_PER_MINUTE", minimum=0.001),
        dispatch_lookup_s=_number(env, "DISPATCH_LOOKUP_SECONDS", minimum=0),
        dispatch_timeout_s=_number(env, "DISPATCH_TIMEOUT_SECONDS", minimum=0.1),
        rate_limit_per_minute=int(_number(env, "RATE_LIMIT_PER_MINUTE", minimum=0, integer=True)),
        token_ttl_s=_number(env, "BRIEF_TOKEN_TTL_HOURS", minimum=0.001) * 3600,
        outbox_sync=sync,
        limits=limits,
        status_lookup_s=_number(env, "STATUS_LOOKUP_SECONDS", minimum=1),
    )


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 (also as ::ffff:127.x.y.z), `localhost` and `*.localhost` (RFC 6761: always loopback)."""
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or bool(mapped and mapped.is_loopback)


def _nowhere(host: str) -> bool:
    """0.0.0.0 or ::: an address to bind to, not one a runner can connect to."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def unreachable_public_url(public_url: str | None, host: str, port: int) -> str | None:
    """Why no runner but one on this machine could reach PUBLIC_URL (explicit, or the default http://HOST:PORT),
    when the receiver listens on more than loopback, i.e. is meant to be reached from elsewhere; None when fine.

    A brief over 64 KB is dispatched as a reference to PUBLIC_URL, so such a receiver would fail every one of them.
    Bound only to loopback, the receiver is for local use (the sandbox, whose runners are on this machine).
    """
    if is_loopback(host):
        return None
    shown = public_url or f"http://{host}:{port} (the default, http://HOST:PORT)"
    target = (urlsplit(public_url).hostname or "") if public_url else host
    if not (is_loopback(target) or _nowhere(target)):
        return None
    return (f"PUBLIC_URL {shown} cannot be reached by GitHub's runners, yet HOST {host} listens beyond loopback: "
            "every brief over 64 KB is dispatched as a reference to PUBLIC_URL and would fail. Set PUBLIC_URL to "
            "the address runners use (e.g. https://receiver.example.org), or bind HOST=127.0.0.1 for local use")


def loopback_only_warning(public_url: str, github_api_url: str) -> str | None:
    """Allowed, but worth a line: a loopback PUBLIC_URL with the real GitHub (its runners are elsewhere), as when the
    receiver sits behind a proxy on 127.0.0.1 and PUBLIC_URL was forgotten."""
    if is_loopback(urlsplit(github_api_url).hostname or "") or not is_loopback(urlsplit(public_url).hostname or ""):
        return None
    return (f"PUBLIC_URL {public_url} is loopback: only runners on this machine can fetch a brief over 64 KB from "
            "it; behind a proxy, set PUBLIC_URL to the proxy's address")
