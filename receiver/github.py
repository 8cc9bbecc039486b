"""The receiver's client session for GitHub's REST API: its token, GitHub's media type and API version."""

from __future__ import annotations

import aiohttp

from deployer import __version__


def session(token: str, timeout_s: float) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=timeout_s),
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": f"llm-pages-deployer/{__version__}",
        },
    )
