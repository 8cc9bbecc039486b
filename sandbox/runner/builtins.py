"""Local stand-ins for marketplace actions a deploy workflow uses before our own action runs (and GitHub's Pages
actions, in `pages_actions.py`).

`actions/checkout` copies the run's repository into the workspace (a `git clone` at the run's commit when it is a
git repository). Setup actions (`actions/setup-python`, ...) install nothing: when the tool is already on PATH they
are skipped with a log line and give the outputs a caller reads; when it is missing the step fails saying so.
`actions/cache/restore` and `actions/cache/save` use the runner's cache service (`cache.py`).
"""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class BuiltinCall:
    uses: str
    inputs: Mapping[str, str]
    workspace: Path
    source: Path  # the repository directory the run was started from
    repository: str  # owner/name of the run
    sha: str
    env: Mapping[str, str]  # the step's environment (its PATH finds tools)
    token: str = field(default="", repr=False)  # github.token
    permissions: Mapping[str, str] = field(default_factory=dict)  # the job's GITHUB_TOKEN permissions
    artifacts: Path | None = None  # the run's artifact store, shared by its jobs
    caches: Path | None = None  # the Actions cache service's store, shared by every run of the service


@dataclass
class BuiltinResult:
    outputs: dict[str, str] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)
    error: str | None = None
    warnings: list[str] = field(default_factory=list)  # annotations that leave the step successful


@dataclass(frozen=True)
class Builtin:
    name: str
    run: Callable[[BuiltinCall], BuiltinResult]


def _git(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def checkout(call: BuiltinCall) -> BuiltinResult:
    wanted = call.inputs.get("repository") or call.repository
    if wanted.lower() != call.repository.lower():
        return BuiltinResult(error=f"{call.uses}: checking out another repository ({wanted}) is not supported yet")
    dest = (call.workspace / call.inputs.get("path", "")).resolve()
    if not dest.is_relative_to(call.workspace.resolve()):
        return BuiltinResult(error=f"{call.uses}: path {call.inputs.get('path')!r} is outside the workspace")
    ref = call.inputs.get("ref") or call.sha
    result = BuiltinResult(outputs={"ref": call.inputs.get("ref", ""), "commit": call.sha})
    if dest == call.source.resolve():
        result.log.append(f"{call.uses}: the workspace already holds {call.repository}; nothing to check out")
        return result
    dest.mkdir(parents=True, exist_ok=True)
    for child in dest.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    if (call.source / ".git").exists():
        cloned = _git("clone", "--quiet", "--no-hardlinks", str(call.source), str(dest))
        if cloned.returncode == 0 and set(ref) != {"0"}:
            cloned = _git("checkout", "--quiet", "--detach", ref, cwd=dest)
        if cloned.returncode != 0:
            return BuiltinResult(error=f"{call.uses}: git failed: {cloned.stderr.strip()}")
        commit = _git("rev-parse", "HEAD", cwd=dest).stdout.strip()
        result.outputs["commit"] = commit
        result.log.append(f"{call.uses}: cloned {call.repository} at {commit} into {dest}")
    else:
        shutil.copytree(call.source, dest, symlinks=True, dirs_exist_ok=True)
        result.log.append(f"{call.uses}: copied {call.repository} from {call.source} into {dest}")
    return result


@dataclass(frozen=True)
class _Tool:
    label: str
    executables: tuple[str, ...]
    version_argv: tuple[str, ...]
    version_input: str
    outputs: tuple[str, ...]  # output names: "<x>-version" gets the version, "<x>-path" the executable


_TOOLS = {
    "actions/setup-python": _Tool("python", ("python3", "python"), ("--version",), "python-version",
                                  ("python-version", "python-path")),
    "actions/setup-node": _Tool("node", ("node",), ("--version",), "node-version", ("node-version",)),
    "astral-sh/setup-uv": _Tool("uv", ("uv",), ("--version",), "version", ("uv-version", "uv-path")),
}


def _setup(repository: str) -> Callable[[BuiltinCall], BuiltinResult]:
    tool = _TOOLS[repository]

    def run(call: BuiltinCall) -> BuiltinResult:
        path = call.env.get("PATH", "")
        exe = next((found for name in tool.executables if (found := shutil.which(name, path=path))), None)
        if exe is None:
            return BuiltinResult(error=(
                f"{call.uses}: {tool.label} is not installed on this machine, and the local runner does not "
                "install tools; install it or put it on PATH"
            ))
        shown = subprocess.run([exe, *tool.version_argv], capture_output=True, text=True, timeout=30, check=False)
        match = re.search(r"\d+(?:\.\d+)+", shown.stdout + shown.stderr)
        version = match.group(0) if match else "unknown"
        requested = call.inputs.get(tool.version_input, "")
        note = f" (requested {requested})" if requested else ""
        outputs = {name: (exe if name.endswith("path") else version) for name in tool.outputs}
        log = [f"{call.uses}: skipped, {tool.label} {version} is already installed at {exe}{note}"]
        return BuiltinResult(outputs=outputs, log=log)

    return run


def _lazy(module: str, name: str) -> Callable[[BuiltinCall], BuiltinResult]:
    """A stand-in defined in a module that imports this one."""

    def run(call: BuiltinCall) -> BuiltinResult:
        return getattr(importlib.import_module(module), name)(call)  # type: ignore[no-any-return]

    return run


BUILTINS: dict[str, Builtin] = {
    "actions/checkout": Builtin("actions/checkout", checkout),
    **{repo: Builtin(repo, _setup(repo)) for repo in _TOOLS},
    **{f"actions/{name}": Builtin(f"actions/{name}", _lazy("sandbox.runner.pages_actions", name.replace("-", "_")))
       for name in ("configure-pages", "upload-pages-artifact", "deploy-pages")},
    **{f"actions/cache/{name}": Builtin(f"actions/cache/{name}", _lazy("sandbox.runner.cache", name))
       for name in ("restore", "save")},
}
