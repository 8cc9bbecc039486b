"""`deployer doctor`: check a real configuration before going live, one line per check, each with its fix.

It reads the same settings as the receiver and the action (see `deployer serve --help` and `deployer run --help`)
and asks the services themselves: who the GitHub token is and what it may do (the `X-OAuth-Scopes` header of a
classic token), whether the deployer repository and its workflow are there, whether OpenRouter accepts the key and
lists the configured models (DEPLOYER_MODEL, DEPLOYER_FALLBACK_MODELS: the action's `model` and `fallback-models`,
defaults in deployer/models.py), which one a run would use, and whether the receiver answers (PUBLIC_URL). Its
last line says what GitHub Pages' CDN means for a new round. Secrets are never printed.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import requests

from deployer.models import DEFAULT_MAX_TOKENS, Model, configured, parse_listing, plan

WORKFLOW = ".github/workflows/deploy.yml"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    warning: bool = False

    def line(self) -> str:
        mark = "PASS" if self.ok and not self.warning else ("WARN" if self.ok else "FAIL")
        text = f"{mark}  {self.name:<16} {self.detail}"
        return text + (f"\n      fix: {self.fix}" if self.fix and (not self.ok or self.warning) else "")


def _get(url: str, token: str | None, scheme: str = "token", timeout: float = 15) -> requests.Response:
    headers = {"Authorization": f"{scheme} {token}"} if token else {}
    return requests.get(url, headers={**headers, "Accept": "application/vnd.github+json"}, timeout=timeout)


def check_settings(env: Mapping[str, str]) -> list[Check]:
    wanted = {
        "SHARED_SECRET": "the secret graders send with each brief (receiver)",
        "GITHUB_TOKEN": "a PAT that may dispatch to DEPLOYER_REPO and create repositories (alias GITHUB_PAT)",
        "DEPLOYER_REPO": "owner/name of your copy of llm-pages-deployer",
        "OPENROUTER_API_KEY": "your OpenRouter key (also a secret of the deployer repository)",
    }
    checks = []
    for name, what in wanted.items():
        value = env.get(name) or (env.get("GITHUB_PAT") if name == "GITHUB_TOKEN" else None)
        checks.append(Check(f"setting {name}", bool(value), "set" if value else "missing",
                            fix=f"export {name}=...  ({what})"))
    return checks


def check_github(api: str, token: str, repo: str | None) -> list[Check]:
    try:
        me = _get(f"{api}/user", token)
    except requests.RequestException as exc:
        return [Check("github token", False, f"{api} unreachable: {type(exc).__name__}",
                      fix="check GITHUB_API_URL and the network")]
    if me.status_code != 200:
        return [Check("github token", False, f"GET /user answered {me.status_code}",
                      fix="create a new token: the current one is wrong or expired")]
    login = me.json().get("login", "?")
    checks = [Check("github token", True, f"user {login}")]
    scopes_header = me.headers.get("X-OAuth-Scopes")
    if scopes_header is None:
        checks.append(Check("github scopes", True, "fine-grained token: GitHub does not list its permissions",
                            fix="make sure it has Administration, Contents, Pages, Commit statuses and Workflows "
                                "(read and write): without Workflows GitHub answers a bare 404 to a commit holding "
                                "a CI workflow",
                            warning=True))
    else:
        scopes = {s.strip() for s in scopes_header.split(",") if s.strip()}
        has_repo = bool(scopes & {"repo", "public_repo"})
        checks.append(Check("github scopes", has_repo, f"scopes: {', '.join(sorted(scopes)) or '(none)'}",
                            fix="give the token the `repo` (or `public_repo`) scope"))
        if has_repo and "workflow" not in scopes:
            checks.append(Check("workflow scope", True, "missing: GitHub answers a bare 404 to a commit holding "
                                "`.github/workflows/`, so briefs that ask for CI will fail",
                                fix="add the `workflow` scope to the token (github.com/settings/tokens)",
                                warning=True))
        checks.append(statuses_check(scopes))
    if repo:
        found = _get(f"{api}/repos/{repo}", token)
        if found.status_code != 200:
            checks.append(Check("deployer repo", False, f"{repo}: HTTP {found.status_code}",
                                fix=f"create {repo} from llm-pages-deployer, or fix DEPLOYER_REPO"))
        else:
            workflow = _get(f"{api}/repos/{repo}/contents/{WORKFLOW}", token)
            checks.append(Check("deployer repo", workflow.status_code == 200,
                                f"{repo}: " + ("has" if workflow.status_code == 200 else "lacks") + f" {WORKFLOW}",
                                fix=f"push {WORKFLOW} to the default branch of {repo}"))
    return checks


def statuses_check(scopes: set[str]) -> Check:
    """A run records each notification as a commit status (`deployer/notified`) so that no re-run repeats it; a
    classic token writes statuses with `repo`, `public_repo` (public repositories) or `repo:status` (GitHub's
    "Scopes for OAuth apps")."""
    granting = sorted(scopes & {"repo", "public_repo", "repo:status"})
    if granting:
        return Check("commit statuses", True, f"writable ({granting[0]}): each round is notified once")
    return Check("commit statuses", True, "not writable: a re-run of a round may notify the evaluator again",
                 fix="add the `repo` (or `repo:status`) scope to the token", warning=True)


def check_openrouter(base: str, key: str) -> tuple[Check, float | None]:
    """The key check, and the credit the key has left when it has a limit (None: no limit, or unknown)."""
    try:
        answer = _get(f"{base}/key", key, scheme="Bearer")
    except requests.RequestException as exc:
        return Check("openrouter key", False, f"{base} unreachable: {type(exc).__name__}",
                     fix="check OPENROUTER_BASE_URL and the network"), None
    if answer.status_code != 200:
        return Check("openrouter key", False, f"GET /key answered {answer.status_code}",
                     fix="create a key at openrouter.ai/keys and set OPENROUTER_API_KEY"), None
    data = answer.json().get("data", {})
    limit, remaining = data.get("limit"), data.get("limit_remaining")
    if not isinstance(remaining, (int, float)) or isinstance(remaining, bool):
        return Check("openrouter key", True, "valid (no credit limit)"), None
    return Check("openrouter key", True, f"valid (limit ${limit}, ${remaining:.2f} left)"), float(remaining)


def check_models(base: str, key: str, models: tuple[str, ...], credit: float | None) -> list[Check]:
    """Is each configured model in OpenRouter's list, which one would a run use, and can the credit pay for it."""
    try:
        answer = _get(f"{base}/models", key, scheme="Bearer")
        listing = parse_listing(answer.json()) if answer.status_code == 200 else None
    except (requests.RequestException, ValueError) as exc:
        return [Check("openrouter models", False, f"GET /models failed: {type(exc).__name__}",
                      fix="check OPENROUTER_BASE_URL and the network")]
    if listing is None:
        return [Check("openrouter models", False, f"GET /models answered {answer.status_code}",
                      fix="check OPENROUTER_BASE_URL")]
    chosen = plan(models, listing)
    first = chosen.models[0]
    if not first.listed:
        return [Check("openrouter models", False, f"none of {', '.join(models)} is in OpenRouter's model list",
                      fix="set DEPLOYER_MODEL (the action's `model` input) to a model listed at "
                          "https://openrouter.ai/models")]
    detail = f"a run uses {first.id}" + "".join(f", then {m.id}" for m in chosen.models[1:])
    skipped = [f"{model} is {why}" for model, why in chosen.skipped]
    checks = [Check("openrouter models", True, "; ".join([detail, *skipped]), warning=bool(skipped),
                    fix="remove or replace the skipped ids in `model` / `fallback-models`")]
    if credit is not None:
        checks.append(_credit_check(first, credit))
    return checks


def _credit_check(model: Model, credit: float) -> Check:
    affords = model.affordable(credit)
    if affords is None:
        return Check("openrouter credit", True, f"${credit:.2f} left; {model.id}'s price is not listed")
    detail = f"${credit:.2f} left affords about {affords} answer tokens on {model.id}"
    short = affords < DEFAULT_MAX_TOKENS
    return Check("openrouter credit", True, detail + (
        f" (under one answer's {DEFAULT_MAX_TOKENS}: answers will be shortened, then continued)" if short else ""),
        fix="add credit at https://openrouter.ai/settings/credits, or raise the key's limit", warning=short)


# Not a check: what every user should know about a round going live (action/pages.py).
PAGES_CDN = Check("pages cdn", True, "GitHub Pages' CDN keeps each URL up to 10 minutes (404s too): a run waits "
                  "until the page serves its commit (a fresh URL per poll), but visitors of the bare URL may see "
                  "the previous round that long")


def check_receiver(url: str) -> Check:
    try:
        answer = requests.get(f"{url.rstrip('/')}/health", timeout=10)
        health = answer.json()
    except (requests.RequestException, ValueError) as exc:
        return Check("receiver", False, f"{url}: {type(exc).__name__}", fix="start it with `deployer serve`")
    outbox = health.get("outbox", {})
    ok = answer.status_code == 200 and health.get("status") == "healthy"
    return Check("receiver", ok, f"{url}: {health.get('status')}, {outbox.get('pending', '?')} pending, "
                 f"{outbox.get('failed', '?')} failed", fix="see the receiver's log: `GET /health` is not healthy")


def run_checks(env: Mapping[str, str], receiver_url: str | None, out: Callable[[str], None]) -> bool:
    api = (env.get("GITHUB_API_URL") or "https://api.github.com").rstrip("/")
    openrouter = (env.get("OPENROUTER_BASE_URL") or "https://openrouter.ai/api/v1").rstrip("/")
    checks = check_settings(env)
    token = env.get("GITHUB_TOKEN") or env.get("GITHUB_PAT")
    if token:
        checks += check_github(api, token, env.get("DEPLOYER_REPO"))
    if env.get("OPENROUTER_API_KEY"):
        key_check, credit = check_openrouter(openrouter, env["OPENROUTER_API_KEY"])
        models = configured(env.get("DEPLOYER_MODEL", ""), env.get("DEPLOYER_FALLBACK_MODELS"))
        checks += [key_check, *check_models(openrouter, env["OPENROUTER_API_KEY"], models, credit)]
    url = receiver_url or env.get("PUBLIC_URL")
    if url:
        checks.append(check_receiver(url))
    else:
        checks.append(Check("public url", True, "PUBLIC_URL unset: the receiver names http://HOST:PORT in report "
                            "links and in references to briefs over 64 KB", warning=True,
                            fix="export PUBLIC_URL=https://... (where GitHub's runners reach the receiver)"))
    checks.append(PAGES_CDN)
    for check in checks:
        out(check.line())
    return all(c.ok for c in checks)


def main(args: argparse.Namespace) -> int:
    ok = run_checks(os.environ, args.receiver, lambda line: print(line, flush=True))
    print("ready to go live" if ok else "not ready: fix the FAIL lines above", flush=True)
    return 0 if ok else 1
