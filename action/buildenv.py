"""The environment of a build script: an allow-list, never a copy of ours minus a deny-list.

The action's own environment holds the GitHub token and the OpenRouter key; a model-written script must not see
them, so only what a script needs to run and to reach the network the way this machine does (locale, PATH,
proxies, CA bundles) is passed on, and even those are dropped when their name sounds like a credential. The
package installer gets the same plus its own settings (`UV_*`, `PIP_*`: index URLs, cache) and the real HOME for
its cache; it runs no model code (wheels only).

`DEPLOYER_BUILD_PROXY` (a proxy URL) and `DEPLOYER_BUILD_CA_BUNDLE` (a PEM file), when set in the action's
environment, route build scripts alone through that proxy and make them trust that bundle (HTTP(S)_PROXY,
SSL_CERT_FILE, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE; 127.0.0.1 stays direct): an egress proxy for model-written code
in production, and how the sandbox serves data.sec.gov from fixtures (`sandbox/fixtures/`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

PASSED = frozenset({
    "PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "no_proxy", "all_proxy",
    "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
})
INSTALLER_PREFIXES = ("UV_", "PIP_")
_CREDENTIAL_RE = re.compile(r"TOKEN|KEY|SECRET|PASSW|CREDENTIAL|AUTH|COOKIE|SESSION|PAT$", re.IGNORECASE)
_NEVER_PREFIXES = ("GITHUB_", "DEPLOYER_", "OPENROUTER_", "ACTIONS_", "INPUT_")


def is_credential_name(name: str) -> bool:
    """A variable that may hold a credential whatever its value looks like."""
    return bool(_CREDENTIAL_RE.search(name)) or name.upper().startswith(_NEVER_PREFIXES)


def script_env(env: Mapping[str, str], home: str) -> dict[str, str]:
    """What the build script sees: the allow-list, HOME and TMPDIR inside its own directory, no user site."""
    kept = {k: v for k, v in env.items() if k in PASSED and not is_credential_name(k)}
    kept.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    if proxy := env.get("DEPLOYER_BUILD_PROXY"):
        local = "127.0.0.1,localhost"
        kept.update({"HTTPS_PROXY": proxy, "HTTP_PROXY": proxy, "https_proxy": proxy, "http_proxy": proxy,
                     "NO_PROXY": local, "no_proxy": local})
    if bundle := env.get("DEPLOYER_BUILD_CA_BUNDLE"):
        kept.update({"SSL_CERT_FILE": bundle, "REQUESTS_CA_BUNDLE": bundle, "CURL_CA_BUNDLE": bundle})
    return {**kept, "HOME": home, "TMPDIR": home, "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8"}


def installer_env(env: Mapping[str, str], home: str) -> dict[str, str]:
    """What uv/pip see while installing the script's dependencies."""
    kept = {k: v for k, v in env.items()
            if (k in PASSED or k.startswith(INSTALLER_PREFIXES) or k == "XDG_CACHE_HOME") and not is_credential_name(k)}
    kept.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    return {**kept, "HOME": env.get("HOME", home), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
