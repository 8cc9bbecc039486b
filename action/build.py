"""Run a site's build script (see `action/buildspec.py`) before anything is committed, and collect its outputs.

The script runs once, in a fresh temporary directory that holds the attachments and the generated files, as its
own process group with a wall-time limit (the whole group is killed), an address-space limit (RLIMIT_AS) and a
file-size limit, and with an environment built from an allow-list (`action/buildenv.py`): no GitHub token, no
OpenRouter key. The network is open (production scripts fetch data; in the sandbox a proxy maps the hosts they
use to fixtures). Not isolated: the file system (the script runs as the runner's user, like any workflow step).

Packages: the runner's own packages (those of the action's environment) are importable; the script's declared
`dependencies` are installed into a fresh venv that sees the runner's packages after its own. With `uv` on PATH
the venv and the install are uv's (`uv venv`, `uv pip install --no-build`), else `venv` and pip
(`--only-binary :all:`): wheels only, so installing runs no package's build code. `uv run --script` would read
the same PEP 723 block but hide the runner's packages, which the prompt promises the script.

A failure (the script's exit status, the time limit, a missing or invalid output) raises `BuildFailed`, whose
problems (stderr's tail included, secrets removed) go back to the model as a repair request.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from action.buildcheck import check_outputs
from action.buildenv import installer_env, script_env
from action.buildspec import BuildSpec
from action.validate import path_problem, redact_secrets

STDERR_TAIL_CHARS = 3000


@dataclass(frozen=True)
class BuildLimits:
    timeout_s: float = 180.0
    memory_bytes: int = 2 * 1024**3
    file_bytes: int = 256 * 1024**2  # any one file the script writes
    install_timeout_s: float = 300.0
    venv_bytes: int = 600 * 1024**2


@dataclass(frozen=True)
class BuildResult:
    outputs: dict[str, str]  # declared output path -> text
    stdout_tail: str
    seconds: float


class BuildFailed(RuntimeError):
    """The build step failed; `problems` are phrased for the model (one or more lines each)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(p.splitlines()[0] for p in problems))


def run_build(
    spec: BuildSpec,
    files: Mapping[str, str],
    attachments: Mapping[str, bytes],
    *,
    env: Mapping[str, str] | None = None,
    limits: BuildLimits = BuildLimits(),
    secrets: Sequence[str] = (),
    log: Callable[[str], None] = lambda _message: None,
) -> BuildResult:
    env = dict(os.environ if env is None else env)
    with tempfile.TemporaryDirectory(prefix="deployer-build-") as tmp:
        root = Path(tmp)
        site, home = root / "site", root / "home"
        home.mkdir()
        _write_tree(site, {**{p: c.encode("utf-8") for p, c in files.items()}, **attachments})
        python = _interpreter(spec, root, env, limits, log)
        began = time.monotonic()
        code, timed_out, stdout, stderr = _run(
            [python, spec.path], site, script_env(env, str(home)), limits, root / "logs",
        )
        seconds = time.monotonic() - began
        tail = redact_secrets(_tail(stderr), secrets)
        if timed_out:
            raise BuildFailed([f"{spec.path}: was killed after the time limit of {limits.timeout_s:.0f}s; make it "
                               f"finish sooner (fetch less, avoid waiting)" + _quoted("stderr", tail)])
        if code != 0:
            why = f"signal {-code}" if code < 0 else f"exit status {code}"
            memory = " (it may have run out of memory: the limit is " \
                     f"{limits.memory_bytes // 1024**2} MiB)" if "MemoryError" in stderr or code < 0 else ""
            raise BuildFailed([f"{spec.path}: failed with {why}{memory}" + _quoted("stderr", tail)])
        outputs: dict[str, bytes] = {}
        missing = []
        for path in spec.outputs:
            target = site / path
            if target.is_file() and not target.is_symlink():
                outputs[path] = target.read_bytes()
            else:
                missing.append(path)
        problems = [f"{spec.path}: ran, but did not write the declared output {p}" for p in missing]
        problems += [f"{spec.path} output {p}" for p in check_outputs(outputs, attachments, secrets)]
        if problems:
            raise BuildFailed(problems)
        log(f"build: {spec.path} wrote {', '.join(f'{p} ({len(d)} bytes)' for p, d in outputs.items())} "
            f"in {seconds:.1f}s")
        return BuildResult({p: d.decode("utf-8") for p, d in outputs.items()},
                           redact_secrets(_tail(stdout), secrets), seconds)


def _write_tree(root: Path, files: Mapping[str, bytes]) -> None:
    for path, data in files.items():
        if path_problem(path, allow_workflows=True) is not None:
            continue  # validation reports it; never write outside the directory
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    root.mkdir(parents=True, exist_ok=True)


def _interpreter(spec: BuildSpec, root: Path, env: Mapping[str, str], limits: BuildLimits,
                 log: Callable[[str], None]) -> str:
    """The Python that runs the script: ours, or a venv with the declared dependencies over ours."""
    if not spec.dependencies:
        return sys.executable
    venv = root / "venv"
    python = venv / "bin" / "python"
    install_env = installer_env(env, str(root / "home"))
    uv = shutil.which("uv", path=env.get("PATH"))
    if uv:
        steps = [[uv, "venv", "--quiet", "--python", sys.executable, str(venv)],
                 [uv, "pip", "install", "--quiet", "--python", str(python), "--no-build", "--", *spec.dependencies]]
    else:
        steps = [[sys.executable, "-m", "venv", str(venv)],
                 [str(python), "-m", "pip", "install", "--quiet", "--only-binary", ":all:", "--",
                  *spec.dependencies]]
    log(f"build: installing {', '.join(spec.dependencies)} with {'uv' if uv else 'pip'}")
    for argv in steps:
        try:
            done = subprocess.run(argv, capture_output=True, text=True, env=install_env,
                                  timeout=limits.install_timeout_s, check=False)
        except subprocess.TimeoutExpired:
            raise BuildFailed([f"{spec.path}: installing its dependencies took longer than "
                               f"{limits.install_timeout_s:.0f}s"]) from None
        if done.returncode != 0:
            raise BuildFailed([f"{spec.path}: its dependencies could not be installed (only packages published as "
                               "wheels can be)" + _quoted("installer output", _tail(done.stderr or done.stdout))])
    size = sum(f.stat().st_size for f in venv.rglob("*") if f.is_file() and not f.is_symlink())
    if size > limits.venv_bytes:
        raise BuildFailed([f"{spec.path}: its dependencies take {size // 1024**2} MiB, over the limit of "
                           f"{limits.venv_bytes // 1024**2} MiB; declare fewer or smaller packages"])
    # The runner's packages come after the venv's own (a .pth line is appended to sys.path).
    site_packages = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    ours = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (site_packages / "_deployer_runner.pth").write_text("".join(f"{p}\n" for p in ours), encoding="utf-8")
    return str(python)


def _run(argv: list[str], cwd: Path, env: Mapping[str, str], limits: BuildLimits,
         logs: Path) -> tuple[int, bool, str, str]:
    """(exit status, killed for time, stdout, stderr); output goes to files, so a chatty script cannot fill memory."""
    logs.mkdir()
    memory, file_size = limits.memory_bytes, limits.file_bytes

    def limit() -> None:  # runs in the child, before exec
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    with open(logs / "stdout", "wb") as out, open(logs / "stderr", "wb") as err:
        proc = subprocess.Popen(argv, cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                start_new_session=True, preexec_fn=limit)
        timed_out = False
        try:
            proc.wait(timeout=limits.timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            # The whole group: a script's children die with it (also after a normal exit).
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return (proc.returncode, timed_out, _read_end(logs / "stdout"), _read_end(logs / "stderr"))


def _read_end(path: Path, limit: int = 64 * 1024) -> str:
    with open(path, "rb") as f:
        f.seek(max(0, path.stat().st_size - limit))
        return f.read().decode("utf-8", errors="replace")


def _tail(text: str) -> str:
    text = text.strip()
    return text if len(text) <= STDERR_TAIL_CHARS else "[...]\n" + text[-STDERR_TAIL_CHARS:]


def _quoted(what: str, text: str) -> str:
    return f"\n{what}:\n{text}" if text else f" (no {what})"
