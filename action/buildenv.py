"""The environment of a build script: an allow-list, never a copy of ours minus a deny-list.

The action's own environment holds the GitHub token and the OpenRouter key; a model-written script must not see
them, so only what a script needs to run and to reach the network the way this machine does (locale, PATH,
proxies, CA bundles) is passed on, and even those are dropped when their name sounds like a credential. The
package installer gets the same plus its own settings (`UV_*`, `PIP_*`: index URLs, cache) and the real HOME for
its cache; it runs no model code (wheels only).
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
    return {**kept, "HOME": home, "TMPDIR": home, "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8"}


def installer_env(env: Mapping[str, str], home: str) -> dict[str, str]:
    """What uv/pip see while installing the script's dependencies."""
    kept = {k: v for k, v in env.items()
            if (k in PASSED or k.startswith(INSTALLER_PREFIXES) or k == "XDG_CACHE_HOME") and not is_credential_name(k)}
    kept.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    return {**kept, "HOME": env.get("HOME", home), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
