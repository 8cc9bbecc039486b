"""Settings of `deployer run`, from the environment that action.yml maps its inputs into.

action.yml passes inputs as `DEPLOYER_*` variables (composite actions get no `INPUT_*` variables); for a run by
hand outside a runner, the usual names `GITHUB_TOKEN`, `OPENROUTER_API_KEY` and `OPENROUTER_BASE_URL` work too.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

from action.delivery_record import Runner
from deployer.models import DEFAULT_MAX_TOKENS, DEFAULT_TEMPERATURE, MIN_ANSWER_TOKENS, configured

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
    temperature: float = DEFAULT_TEMPERATURE  # DEPLOYER_TEMPERATURE, 0 to 2
    max_tokens: int = DEFAULT_MAX_TOKENS  # DEPLOYER_MAX_TOKENS: one answer's budget before it is continued
    # Who notifies, in the delivery record: GITHUB_RUN_ID and GITHUB_RUN_ATTEMPT (a run by hand: a random id).
    runner: Runner = field(default_factory=lambda: Runner(_local_run_id()))


def _local_run_id() -> str:
    """A run outside GitHub Actions has no run id: one of its own, so its claims are told from other runs'."""
    return f"local-{secrets.token_hex(4)}"


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


def _number(env: Mapping[str, str], name: str, default: float, low: float, high: float | None, *,
            whole: bool = False) -> float:
    text = _first(env, name)
    if not text:
        return default
    kind = "a whole number" if whole else "a number"
    span = f"from {low:g} to {high:g}" if high is not None else f"of at least {low:g}"
    try:
        value = int(text) if whole else float(text)
    except ValueError:
        raise ConfigError(f"{name} must be {kind} {span}, not {text!r}") from None
    if not low <= value <= (high if high is not None else value):
        raise ConfigError(f"{name} must be {kind} {span}, not {text!r}")
    return value


def load(env: Mapping[str, str] | None = None) -> RunConfig:
    env = os.environ if env is None else env
    token = _first(env, "DEPLOYER_GITHUB_TOKEN", "GITHUB_TOKEN")
    key = _first(env, "DEPLOYER_OPENROUTER_API_KEY", "OPENROUTER_API_KEY")
    missing = [name for name, value in (("github-token", token), ("openrouter-api-key", key)) if not value]
    if missing:
        raise ConfigError(f"missing input {' and '.join(missing)} (action input, or DEPLOYER_GITHUB_TOKEN / "
                          "DEPLOYER_OPENROUTER_API_KEY in the environment)")
    models = configured(_first(env, "DEPLOYER_MODEL"), env.get("DEPLOYER_FALLBACK_MODELS"))
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
    temperature = _number(env, "DEPLOYER_TEMPERATURE", DEFAULT_TEMPERATURE, 0.0, 2.0)  # [PAR]: 0.0 to 2.0
    max_tokens = int(_number(env, "DEPLOYER_MAX_TOKENS", DEFAULT_MAX_TOKENS, MIN_ANSWER_TOKENS, None, whole=True))
    run_id = _first(env, "GITHUB_RUN_ID") or _local_run_id()
    attempt = int(_number(env, "GITHUB_RUN_ATTEMPT", 1, 1, None, whole=True))
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
        github_timeout=github_timeout, temperature=temperature, max_tokens=max_tokens,
        runner=Runner(run_id, attempt),
    )
