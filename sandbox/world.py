"""The whole system on 127.0.0.1, started as real processes: what `deployer sandbox` and the end-to-end tests drive.

GitHub (emulator + Pages host), an OpenRouter stand-in (or real OpenRouter when OPENROUTER_API_KEY is set), an
evaluator, GitHub Actions (the local runner on each dispatch), and the receiver wired to them. This project is
published into the emulated GitHub as `<user>/llm-pages-deployer`, so the dispatch runs *its*
`.github/workflows/deploy.yml` and `action.yml` exactly as GitHub would run them from the repository.
Secrets are random per world, so a leak is easy to search for.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import requests
from github import GithubException
from github.Repository import Repository

from action.github_client import open_github
from action.plan import CommitPlan, tree_entries
from action.publish import get_repo, push_commit, settled
from deployer import ACTION_MAJOR_TAG, __version__
from sandbox.procs import Service, deployer_argv, start_service

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEPLOYER_REPO = "llm-pages-deployer"
USER = "sandbox"
REAL_OPENROUTER = "https://openrouter.ai/api/v1"


class WorldError(RuntimeError):
    pass


@dataclass
class World:
    root: Path
    api_url: str
    server_url: str
    pages_hosts: dict[str, str]  # lower-case owner -> its Pages host, like https://<owner>.github.io
    openrouter_url: str
    evaluator_url: str
    receiver_url: str
    actions_url: str
    user: str
    token: str = field(repr=False)
    shared_secret: str = field(repr=False)
    openrouter_key: str = field(repr=False)
    real_openrouter: bool
    services: list[Service] = field(default_factory=list)
    fixtures_url: str = ""  # `deployer sandbox fixtures`: data.sec.gov for build scripts, through its proxy

    @property
    def deployer_repo(self) -> str:
        return f"{self.user}/{DEPLOYER_REPO}"

    def site(self, repo: str) -> str:
        """Where GitHub serves the user's project site `repo`: `https://<user>.github.io/<repo>/`."""
        return f"{self.pages_hosts[self.user.lower()]}/{repo}/"

    @property
    def secret_values(self) -> dict[str, str]:
        return {"github token": self.token, "shared secret": self.shared_secret, "openrouter key": self.openrouter_key}

    def stop(self) -> dict[str, int]:
        return {s.name: s.stop() for s in reversed(self.services)}


def project_files(root: Path = PROJECT_ROOT) -> dict[str, bytes]:
    """The project as a repository holds it: the files git tracks (or, outside a checkout, none: we say so)."""
    done = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                          capture_output=True)
    if done.returncode != 0:
        raise WorldError(f"{root} is not a git checkout of llm-pages-deployer: run the sandbox from a clone")
    files = {}
    for name in sorted(set(done.stdout.decode().split("\0"))):
        path = root / name
        if name and path.is_file() and not path.is_symlink():
            files[name] = path.read_bytes()
    return files


def publish_self(api_url: str, token: str, owner: str, version: str = __version__) -> str:
    """Commit this project into `<owner>/llm-pages-deployer` on the emulator (one commit) and release it as
    `v<version>` and `v1` (see `tag_release`), so other repositories can `uses:` it; the commit sha."""
    gh = open_github(token, api_url)
    repo = get_repo(gh, owner, DEPLOYER_REPO) or gh.get_user().create_repo(
        DEPLOYER_REPO, description="Turn an app brief into a live GitHub Pages site", auto_init=True, private=False)
    head = settled(lambda: repo.get_git_ref(f"heads/{repo.default_branch}").object.sha, f"{owner}/{DEPLOYER_REPO}")
    plan = CommitPlan("Publish llm-pages-deployer into the sandbox\n", tree_entries(project_files()))
    sha = push_commit(gh, repo, plan, head)
    tag_release(repo, sha, version)
    return sha


def tag_release(repo: Repository, sha: str, version: str) -> None:
    """What a release does on GitHub: create `refs/tags/v<version>` (never moved: a second release of the same
    version at another commit is refused) and create or force-move the major tag (`v1`) to the same commit."""
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise WorldError(f"version {version!r} is not MAJOR.MINOR.PATCH")
    full, major = f"v{version}", ACTION_MAJOR_TAG
    try:
        existing = repo.get_git_ref(f"tags/{full}").object.sha
    except GithubException as exc:
        if exc.status != 404:
            raise
        repo.create_git_ref(f"refs/tags/{full}", sha)
    else:
        if existing != sha:
            raise WorldError(f"tag {full} already points at {existing}: release a new version instead")
    try:
        repo.get_git_ref(f"tags/{major}").edit(sha, force=True)
    except GithubException as exc:
        if exc.status != 404:
            raise
        repo.create_git_ref(f"refs/tags/{major}", sha)


def start_world(root: Path, *, build_delay: float = 1.0, env: dict[str, str] | None = None,
                github_args: tuple[str, ...] = (), openrouter_args: tuple[str, ...] = ()) -> World:
    """Start every part; on any failure stop what started and raise WorldError naming the part. `github_args` go
    to the GitHub emulator (e.g. a shorter `--cdn-max-age` than GitHub's 600 s), `openrouter_args` to the
    OpenRouter stand-in (e.g. `--credits` for more briefs than its default balance pays for)."""
    env = dict(os.environ if env is None else env)
    logs = root / "logs"
    started: list[Service] = []

    def start(name: str, *args: str, extra_env: dict[str, str] | None = None) -> Service:
        try:
            service = start_service(name, deployer_argv(*args), log_dir=logs, env={**env, **(extra_env or {})})
        except Exception as exc:
            for s in reversed(started):
                s.stop()
            raise WorldError(f"could not start {name}: {exc}") from None
        started.append(service)
        return service

    token = "ghp_" + secrets.token_hex(18)
    shared_secret = "sandbox-" + secrets.token_urlsafe(18)
    real = bool(env.get("OPENROUTER_API_KEY"))
    openrouter_key = env["OPENROUTER_API_KEY"] if real else "sk-or-v1-" + secrets.token_hex(32)

    # GitHub's own delays and limits (the emulator's defaults).
    github = start("github", "sandbox", "github", "--port", "0", "--pages-port", "0", "--user", USER,
                   "--token", token, "--build-delay", str(build_delay), "--data", str(root / "github"), *github_args)
    info = requests.get(f"{github.url}/_sandbox/info", timeout=10).json()
    if real:
        openrouter_url = REAL_OPENROUTER
    else:
        openrouter = start("openrouter", "sandbox", "openrouter", "--port", "0", "--key", openrouter_key,
                           *openrouter_args)
        openrouter_url = f"{openrouter.url}/api/v1"
    evaluator = start("evaluator", "sandbox", "evaluator", "--port", "0")
    try:
        publish_self(info["api_url"], token, USER)
    except Exception as exc:
        for s in reversed(started):
            s.stop()
        raise WorldError(f"could not publish the project into the emulated GitHub: {exc}") from None
    receiver = start("receiver", "serve", "--host", "127.0.0.1", "--port", "0", extra_env={
        "SHARED_SECRET": shared_secret, "GITHUB_TOKEN": token, "DEPLOYER_REPO": f"{USER}/{DEPLOYER_REPO}",
        "GITHUB_API_URL": info["api_url"], "DEPLOYER_DATA_DIR": str(root / "receiver"),
    })
    # Build scripts keep their production URLs: their proxy (DEPLOYER_BUILD_PROXY) maps data.sec.gov to fixtures.
    fixtures = start("fixtures", "sandbox", "fixtures", "--port", "0", "--proxy-port", "0",
                     "--data", str(root / "fixtures"))
    fixture_env = requests.get(f"{fixtures.url}/_sandbox/info", timeout=10).json()["env"]
    actions = start(
        "actions", "sandbox", "actions", "--github", info["api_url"], "--token-env", "GITHUB_TOKEN",
        "--secret", "DEPLOYER_GITHUB_TOKEN", "--secret", "OPENROUTER_API_KEY", "--secret", "OPENROUTER_BASE_URL",
        "--data", str(root / "actions"),
        "--ignore-pushes-of", f"{USER}/{DEPLOYER_REPO}",  # publishing the project must not run its own CI here
        extra_env={"GITHUB_TOKEN": token, "DEPLOYER_GITHUB_TOKEN": token, "OPENROUTER_API_KEY": openrouter_key,
                   "OPENROUTER_BASE_URL": openrouter_url,
                   "DEPLOYER_VERIFY_LOCAL_ONLY": "true",  # `deployer run`'s verification browser stays on 127.0.0.1
                   **fixture_env},
    )
    return World(
        root=root, api_url=info["api_url"], server_url=info["server_url"], pages_hosts=info["pages_hosts"],
        openrouter_url=openrouter_url, evaluator_url=evaluator.url, receiver_url=receiver.url,
        actions_url=actions.url, user=USER, token=token, shared_secret=shared_secret, openrouter_key=openrouter_key,
        real_openrouter=real, services=started, fixtures_url=fixtures.url,
    )
