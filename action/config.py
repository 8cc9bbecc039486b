"""Settings of `deployer run`, from the environment that action.yml maps its inputs into.

action.yml passes inputs as `DEPLOYER_*` variables (composite actions get no `INPUT_*` variables); for a run by
hand outside a runner, the usual names `GITHUB_TOKEN`, `OPENROUTER_API_KEY` and `OPENROUTER_BASE_URL` work too.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_MODEL = "anthropic/claude-sonnet-4"
DEFAULT_FALLBACKS = ("openai/gpt-4o-mini",)
DEFAULT_OPENROUTER = "https://openrouter.ai/api/v1"
DEFAULT_DEADLINE_MINUTES = 10.0
# Seconds one GitHub API request may take before it is abandoned and retried (DEPLOYER_GITHUB_TIMEOUT).
DEFAULT_GITHUB_TIMEOUT_S = 30  # whole seconds: PyGithub takes an int
TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})


class ConfigError(RuntimeError):
    pass


@dataclass(frozen=True)
class RunConfig:
    github_token: str = field(repr=False)
    openrouter_key: str = field(repr=False)
    models: tuple[str, ...]
    openrouter_base_url: str
    github_api_url: str
    owner: str | None
    brief_input: str | None
    event_name: str | None
    event_path: str | None
    deadline_minutes: float
    verify: bool = True  # run the brief's checks in a browser before publishing (input `verify`)
    verify_local_only: bool = False  # the browser may load only from 127.0.0.1 (the sandbox: no CDN requests)
    github_timeout: int = DEFAULT_GITHUB_TIMEOUT_S  # per GitHub API request; a slower answer is retried


def _first(env: Mapping[str, str], *names: str) -> str:
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return value
    return ""


def _flag(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    value = env.get(name, "").strip().lower()
    if not value:
        return default
    if value in TRUE_WORDS | FALSE_WORDS:
        return value in TRUE_WORDS
    raise ConfigError(f"{name} must be true or false, not {value!r}")


def load(env: Mapping[str, str] | None = None) -> RunConfig:
    env = os.environ if env is None else env
    token = _first(env, "DEPLOYER_GITHUB_TOKEN", "GITHUB_TOKEN")
    key = _first(env, "DEPLOYER_OPENROUTER_API_KEY", "OPENROUTER_API_KEY")
    missing = [name for name, value in (("github-token", token), ("openrouter-api-key", key)) if not value]
    if missing:
        raise ConfigError(f"missing input {' and '.join(missing)} (action input, or DEPLOYER_GITHUB_TOKEN / "
                          "DEPLOYER_OPENROUTER_API_KEY in the environment)")
    model = _first(env, "DEPLOYER_MODEL") or DEFAULT_MODEL
    fallbacks_text = env.get("DEPLOYER_FALLBACK_MODELS")
    fallbacks = (
        tuple(m.strip() for m in fallbacks_text.split(",") if m.strip()) if fallbacks_text is not None
        else DEFAULT_FALLBACKS
    )
    models = tuple(dict.fromkeys((model, *fallbacks)))
    try:
        deadline = float(_first(env, "DEPLOYER_DEADLINE_MINUTES") or DEFAULT_DEADLINE_MINUTES)
    except ValueError:
        raise ConfigError("DEPLOYER_DEADLINE_MINUTES must be a number of minutes") from None
    try:
        github_timeout = int(_first(env, "DEPLOYER_GITHUB_TIMEOUT") or DEFAULT_GITHUB_TIMEOUT_S)
    except ValueError:
        raise ConfigError("DEPLOYER_GITHUB_TIMEOUT must be a whole number of seconds") from None
    if github_timeout < 1:
        raise ConfigError("DEPLOYER_GITHUB_TIMEOUT must be at least 1 second")
    return RunConfig(
        github_token=token, openrouter_key=key, models=models,
        openrouter_base_url=(_first(env, "DEPLOYER_OPENROUTER_BASE_URL", "OPENROUTER_BASE_URL")
                             or DEFAULT_OPENROUTER).rstrip("/"),
        github_api_url=(_first(env, "GITHUB_API_URL") or "https://api.github.com").rstrip("/"),
        owner=_first(env, "DEPLOYER_OWNER") or None,
        brief_input=env.get("DEPLOYER_BRIEF") or None,
        event_name=env.get("GITHUB_EVENT_NAME") or None,
        event_path=env.get("GITHUB_EVENT_PATH") or None,
        deadline_minutes=deadline,
        verify=_flag(env, "DEPLOYER_VERIFY", default=True),
        verify_local_only=_flag(env, "DEPLOYER_VERIFY_LOCAL_ONLY", default=False),
        github_timeout=github_timeout,
    )
