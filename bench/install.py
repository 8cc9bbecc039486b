"""6. The action's install on a runner, cold and warm, with pip and with uv: `uv run python -m bench.install`.

Each trial runs action.yml through the local runner in a repository holding this project, as GitHub runs
`uses: ./`, and times its install steps: from the start of the first ("Check Python and choose the installer") to
the start of "Deploy the brief", what GitHub's log shows for them (the deploy step itself stops at once: the brief
is empty). Four scenarios, each trial on a fresh runner directory and cache store:
- pip cold: no uv on PATH (GitHub's ubuntu images), nothing cached: a venv, pip installs the hashed pins, the venv
  is saved to the Actions cache;
- pip warm: the same runner again with that cache: the venv restored, only the product installed (the package
  index is gone by then, so nothing can be downloaded);
- uv cold: uv on PATH with an empty uv cache; uv warm: the same with uv's cache kept from the cold run (uv still
  asks the index whether its pages changed).
The index is `sandbox.pypi` on 127.0.0.1 (wheels rebuilt from this environment), so a cold figure here has no
download in it: on GitHub a cold run also fetches ~50 MB from PyPI. Baseline: pip cold, in the same run.
Targets (issue 16): <= 5 s with a warm cache, for pip (what GitHub's runners use) and for uv.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from bench.common import CannotMeasure, Target, fmt, load_average, main_guard, parser, ratio, table, verdict
from sandbox.action_install import DEPLOY_STEP, FIRST_STEP, machine, make_repo, run_install
from sandbox.pypi import NOWHERE, PackageIndex, PackageIndexError, index_of_installed

TARGET_S = 5.0
SCENARIOS = ("pip cold", "pip warm", "uv cold", "uv warm")


def locked_versions(root: Path) -> dict[str, str]:
    """{name: version} of action-requirements.txt, the pins the action installs."""
    text = (root / "action-requirements.txt").read_text()
    pins = [line.split(" ")[0].split("==") for line in text.splitlines() if "==" in line and not line[0].isspace()]
    return {name: version for name, version in pins}


def install_seconds(repo: Path, runner: Path, caches: Path, env: Mapping[str, str]) -> float:
    """One run; the seconds from the first install step's start to the deploy step's, as GitHub's log shows them."""
    seen: dict[str, float] = {}
    marks = {f"##[group]{FIRST_STEP}", f"##[group]{DEPLOY_STEP}"}

    def on_log(line: str) -> None:
        if line in marks:
            seen.setdefault(line, time.monotonic())

    result = run_install(repo, runner, caches, env, on_log)
    if len(seen) != 2:
        raise CannotMeasure("the install did not reach the deploy step:\n" + "\n".join(result.log[-30:]))
    return seen[f"##[group]{DEPLOY_STEP}"] - seen[f"##[group]{FIRST_STEP}"]


def trial(repo: Path, index: PackageIndex, work: Path) -> dict[str, float]:
    """One measurement of each scenario, on fresh runners and caches."""
    caches = work / "caches"
    with index.serve() as url:
        pip, uv = machine(work / "pip", url), machine(work / "uv", url, with_uv=True)
        figures = {"pip cold": install_seconds(repo, work / "pip-runner", caches, pip),
                   "uv cold": install_seconds(repo, work / "uv-runner", caches, uv)}
        # uv asks the index whether its cached pages are fresh (PyPI's say so for 10 minutes), so it stays up
        figures["uv warm"] = install_seconds(repo, work / "uv-runner", caches, uv)
    # pip's warm run must not need the index at all: the venv comes from the Actions cache
    no_index = machine(work / "pip", f"{NOWHERE}/simple/")
    figures["pip warm"] = install_seconds(repo, work / "pip-runner", caches, no_index)
    return figures


def run(args: argparse.Namespace) -> None:
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-install-"))
    trials = 1 if args.size == "smoke" else 3
    try:
        try:
            index = index_of_installed(root / "index", locked_versions(Path(__file__).resolve().parent.parent))
            repo = make_repo(root / "repo", index)
            results = [trial(repo, index, root / f"trial-{n}") for n in range(trials)]
        except PackageIndexError as exc:
            raise CannotMeasure(str(exc)) from None
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    median: Callable[[str], float] = lambda s: statistics.median(r[s] for r in results)  # noqa: E731
    cold = median("pip cold")
    rows = [[s, fmt(median(s), " s", 2), " / ".join(fmt(r[s], "", 2) for r in results), ratio(median(s), cold)]
            for s in SCENARIOS]
    print(f"install steps of action.yml through the local runner, {len(index.wheels)} packages, {trials} trial(s), "
          f"{load_average()}")
    print(table(["scenario", "median", "trials (s)", "vs pip cold"], rows))
    print(verdict("install", [
        Target("pip warm", median("pip warm") <= TARGET_S, f"pip warm {median('pip warm'):.2f} s <= {TARGET_S:.0f} s"),
        Target("uv warm", median("uv warm") <= TARGET_S, f"uv warm {median('uv warm'):.2f} s <= {TARGET_S:.0f} s"),
    ]))


def main(argv: list[str] | None = None) -> int:
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    return main_guard(run, args)


if __name__ == "__main__":
    raise SystemExit(main())
