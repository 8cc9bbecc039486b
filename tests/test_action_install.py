"""The action's install (action.yml's first steps, action-install.sh) on a runner like GitHub's: no uv, and no network
but a package index. It installs exactly what uv.lock pins, keeps the venv in the Actions cache for the next run,
and says in one `::error` line why when it cannot. The index is local: wheels rebuilt from this test environment
(which uv synced from the same lock), served over HTTP on 127.0.0.1, with proxies that lead nowhere for the rest."""

from __future__ import annotations

import base64
import functools
import hashlib
import http.server
import io
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import Distribution, distribution
from pathlib import Path

import pytest
import yaml
from packaging.utils import canonicalize_name
from uvlock_support import ROOT, locked_closure

from sandbox.runner import RunOptions, RunResult, StepResult, load_workflow, run_workflow, workflow_dispatch
from sandbox.runner.event import Repository

pytestmark = pytest.mark.e2e

NOWHERE = "http://127.0.0.1:9"  # the discard port: nothing listens, so every other host is unreachable
PRODUCT_FILES = ("action.yml", "action-install.sh", "pyproject.toml", "README.md", "LICENSE", "deployer", "receiver",
                 "action")
SKIPPED_IN_WHEEL = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json", "uv_cache.json"}
WORKFLOW = """\
name: Install
on: workflow_dispatch
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - id: deploy
        uses: ./
        with:
          github-token: not-a-real-token
          openrouter-api-key: not-a-real-key
          brief: "{}"
      - if: always()
        run: |
          venv="$RUNNER_TEMP/llm-pages-deployer"
          "$venv/bin/python" -c 'import importlib.metadata as m, json
          print("installed=" + json.dumps({d.metadata["Name"]: d.version for d in m.distributions()}))'
          "$venv/bin/deployer" sandbox 2>&1 || echo "sandbox-exit=$?"
"""


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def rebuild_wheel(dist: Distribution, out: Path) -> Path:
    """The installed distribution as a wheel again: its files under site-packages, its dist-info, a new RECORD."""
    tags = [line.split(":", 1)[1].strip() for line in (dist.read_text("WHEEL") or "").splitlines()
            if line.startswith("Tag:")]
    parts = [sorted({tag.split("-")[i] for tag in tags}) for i in range(3)]
    name = str(canonicalize_name(dist.metadata["Name"])).replace("-", "_")
    info = f"{name}-{dist.version}.dist-info"
    wheel = out / f"{name}-{dist.version}-{'-'.join('.'.join(p) for p in parts)}.whl"
    records = []
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_STORED) as archive:
        for file in dist.files or []:
            arcname = file.as_posix()
            if arcname.startswith("..") or "__pycache__" in arcname or file.name in SKIPPED_IN_WHEEL:
                continue
            data = Path(str(dist.locate_file(file))).read_bytes()
            arcname = re.sub(r"^[^/]+\.dist-info/", f"{info}/", arcname)
            archive.writestr(arcname, data)
            records.append(f"{arcname},{_record_hash(data)},{len(data)}")
        archive.writestr(f"{info}/RECORD", "\n".join([*records, f"{info}/RECORD,,"]) + "\n")
    return wheel


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def requirements_for(wheels: dict[str, Path]) -> str:
    """action-requirements.txt with the same pins, each hash replaced by its rebuilt wheel's."""
    lines = []
    for line in (ROOT / "action-requirements.txt").read_text().splitlines():
        if line.lstrip().startswith("--hash="):
            continue
        lines.append(line)
        pin = re.match(r"([A-Za-z0-9._-]+)==", line)
        if pin:
            lines.append(f"    --hash=sha256:{sha256(wheels[canonicalize_name(pin[1])])}")
    return "\n".join(lines) + "\n"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class Index:
    root: Path
    wheels: dict[str, Path]

    def serve(self) -> Iterator[str]:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                 functools.partial(_Quiet, directory=str(self.root)))
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/simple/"
        finally:
            server.shutdown()
            server.server_close()


def write_index(root: Path, wheels: dict[str, Path]) -> Index:
    """A PEP 503 simple index: /simple/<name>/ links each file with its sha256."""
    for name, wheel in wheels.items():
        page = root / "simple" / name
        page.mkdir(parents=True, exist_ok=True)
        (page / "index.html").write_text(
            f'<a href="/files/{wheel.name}#sha256={sha256(wheel)}">{wheel.name}</a>\n')
    return Index(root, wheels)


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Index:
    root = tmp_path_factory.mktemp("index")
    files = root / "files"
    files.mkdir()
    wheels = {}
    for name, version in locked_closure(("build",)).items():
        dist = distribution(name)
        assert dist.version == version, f"this environment has {name} {dist.version}, uv.lock pins {version}"
        wheels[name] = rebuild_wheel(dist, files)
    return write_index(root, wheels)


@pytest.fixture(scope="module")
def action_dir(tmp_path_factory: pytest.TempPathFactory, index: Index) -> Path:
    """The action as a runner checks it out (the product and the install files), pinned to the local wheels."""
    target = tmp_path_factory.mktemp("action") / "llm-pages-deployer"
    target.mkdir()
    for name in PRODUCT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / name)
    (target / "action-requirements.txt").write_text(requirements_for(index.wheels))
    return target


def runner_machine(tmp_path: Path, index_url: str) -> dict[str, str]:
    """A runner with Python 3.11+, bash and coreutils, no uv, and a network that reaches the index alone."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    python = bin_dir / "python3"
    if not python.exists():
        python.symlink_to(os.path.realpath(sys.executable))
    path = os.pathsep.join([str(bin_dir), "/usr/bin", "/bin"])
    assert shutil.which("uv", path=path) is None
    (tmp_path / "home").mkdir(exist_ok=True)
    return {
        "PATH": path, "HOME": str(tmp_path / "home"), "LANG": "C.UTF-8",
        "PIP_INDEX_URL": index_url, "PIP_CONFIG_FILE": os.devnull, "PIP_RETRIES": "0", "PIP_TIMEOUT": "5",
        **{name: NOWHERE for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")},
        "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
    }


def run_phases(tmp_path: Path, action: Path, env: dict[str, str], *phases: str) -> subprocess.CompletedProcess[str]:
    """action-install.sh's phases in a row, as the composite's run steps call them."""
    temp = tmp_path / "temp"
    temp.mkdir(exist_ok=True)
    step_env = {**env, "RUNNER_TEMP": str(temp), "GITHUB_ACTION_PATH": str(action), "RUNNER_OS": "Linux",
                "RUNNER_ARCH": "X64", "GITHUB_OUTPUT": str(tmp_path / "output")}
    script = " && ".join(f'bash "$GITHUB_ACTION_PATH/action-install.sh" {phase}' for phase in phases)
    return subprocess.run(["/bin/bash", "-e", "-c", script], env=step_env, capture_output=True, text=True,
                          timeout=600)


def error_lines(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in done.stdout.splitlines() if line.startswith("::error")]


def test_an_old_python_on_the_runner_is_named_in_one_error(tmp_path: Path) -> None:
    steps = yaml.safe_load((ROOT / "action.yml").read_text())["runs"]["steps"]
    assert "$GITHUB_ACTION_PATH/action-install.sh\" key" in steps[0]["run"]  # the action's files, not the caller's
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "python3"  # a runner image whose python3 is 3.10
    fake.write_text('#!/bin/sh\n[ "$1" = "--version" ] && { echo "Python 3.10.12"; exit 0; }\nexit 1\n')
    fake.chmod(0o755)
    env = {"PATH": os.pathsep.join([str(bin_dir), "/usr/bin", "/bin"])}

    done = run_phases(tmp_path, ROOT, env, "key")

    assert done.returncode == 1
    assert done.stdout.startswith("::error title=llm-pages-deployer::needs Python 3.11 or later on the runner, "
                                  "found Python 3.10.12.")
    assert not (tmp_path / "output").exists()  # stopped before choosing anything
    assert not list((tmp_path / "temp").iterdir())


def test_an_unreachable_index_is_one_error_line_and_installs_nothing(tmp_path: Path, action_dir: Path) -> None:
    env = runner_machine(tmp_path, f"{NOWHERE}/simple/")

    done = run_phases(tmp_path, action_dir, env, "key", "dependencies")

    assert done.returncode == 1
    errors = error_lines(done)
    assert len(errors) == 1, done.stdout
    assert errors[0].startswith("::error title=llm-pages-deployer::cannot install the dependencies uv.lock pins "
                                "(action-requirements.txt) with pip: ERROR: ")
    assert "aiohappyeyeballs==2.7.1" in errors[0] or "No matching distribution" in errors[0]
    assert not (tmp_path / "temp" / "llm-pages-deployer" / "bin" / "deployer").exists()


def test_a_wheel_that_is_not_the_locked_one_is_refused(tmp_path: Path, action_dir: Path, index: Index) -> None:
    tampered = dict(index.wheels)
    files = tmp_path / "index" / "files"
    files.mkdir(parents=True)
    for name, wheel in index.wheels.items():
        tampered[name] = files / wheel.name
        os.link(wheel, tampered[name])
    tampered["six"].unlink()
    data = io.BytesIO(index.wheels["six"].read_bytes())
    with zipfile.ZipFile(data, "a") as archive:
        archive.writestr("six_extra.py", "print('not what the lock pinned')\n")
    tampered["six"].write_bytes(data.getvalue())
    other = write_index(tmp_path / "index", tampered)

    for url in other.serve():
        done = run_phases(tmp_path, action_dir, runner_machine(tmp_path, url), "key", "dependencies")

    assert done.returncode == 1
    errors = error_lines(done)
    assert len(errors) == 1, done.stdout
    assert "DO NOT MATCH THE HASHES" in errors[0]
    site = next((tmp_path / "temp" / "llm-pages-deployer" / "lib").glob("python3*/site-packages"))
    assert not list(site.glob("six*"))  # nothing was installed from a set with one wrong file


def _inner(result: RunResult, step_id: str) -> StepResult:
    return next(step for step in result.step("deploy").steps if step.context_name == step_id)


def _installed(result: RunResult) -> dict[str, str]:
    line = next(line for line in result.log if line.startswith("installed="))
    return {canonicalize_name(k): v for k, v in json.loads(line.removeprefix("installed=")).items()}


def test_the_runner_installs_the_lock_without_uv_then_restores_it_from_the_cache(
    tmp_path: Path, action_dir: Path, index: Index,
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(action_dir, repo)
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "install.yml").write_text(WORKFLOW)
    git = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=repo, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "action"], cwd=repo, check=True)
    github = Repository("octo/llm-pages-deployer", api_url=NOWHERE, server_url=NOWHERE)
    payload = workflow_dispatch(github, load_workflow(repo, ".github/workflows/install.yml"), "main", {}, "octo")

    def run(machine: dict[str, str]) -> RunResult:
        # one runner directory for both runs, as every GitHub-hosted runner has the same RUNNER_TEMP
        options = RunOptions(env={**machine, "GITHUB_API_URL": NOWHERE, "GITHUB_SERVER_URL": NOWHERE},
                             runner_root=tmp_path / "runner", cache_dir=tmp_path / "caches", kill_grace=0.5)
        return run_workflow(repo, ".github/workflows/install.yml", "workflow_dispatch", payload, options=options)

    for url in index.serve():
        cold = run(runner_machine(tmp_path, url))

    key = _inner(cold, "install-key").outputs
    assert key["installer"] == "pip", cold.log
    assert re.fullmatch(r"llm-pages-deployer-deps-Linux-X64-cpython3\.\d+\.\d+-pip-[0-9a-f]{32}", key["key"])
    assert f"Cache not found for input keys: {key['key']}" in cold.log
    assert _inner(cold, "install-dependencies").outcome == "success"
    assert f"Cache saved with key: {key['key']}" in cold.log
    assert _inner(cold, "install-product").outcome == "success"
    # the action itself ran: it stopped at the (empty) brief, not at the install
    deploy = _inner(cold, "deploy")
    assert deploy.outcome == "failure"
    assert deploy.annotations[0].message.startswith("brief stage failed: email: is required")
    # exactly uv.lock's runtime dependencies and build backend, and the product; besides them only what `python3 -m
    # venv` bootstraps (pip, and setuptools before Python 3.12); no sandbox
    installed = _installed(cold)
    assert installed.pop("llm-pages-deployer") == "0.1.0"
    assert installed.pop("pip")
    if sys.version_info < (3, 12):
        assert installed.pop("setuptools")
    assert installed == locked_closure(("build",))
    assert any(line.startswith("deployer sandbox: sandbox, dulwich") for line in cold.log)
    assert "sandbox-exit=2" in cold.log

    warm = run(runner_machine(tmp_path, f"{NOWHERE}/simple/"))  # the index is gone: only the cache can serve

    assert _inner(warm, "install-cache").outputs["cache-hit"] == "true"
    assert f"Cache restored from key: {key['key']}" in warm.log
    assert _inner(warm, "install-dependencies").outcome == "skipped"
    assert _inner(warm, "install-save").outcome == "skipped"
    assert _inner(warm, "install-product").outcome == "success"
    assert _inner(warm, "deploy").outcome == "failure"
    assert _installed(warm) == _installed(cold)
