"""Helpers to run `deployer run` as GitHub's runner would: a process with the runner's environment files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sandbox.world import World, start_world
from tests.conftest import REALISTIC, Evaluator, GitHub, OpenRouter

SAMPLES = Path(__file__).resolve().parents[2] / "sandbox" / "briefs"


def sample(name: str, evaluation_url: str) -> dict[str, Any]:
    brief = json.loads((SAMPLES / name).read_text())
    brief["evaluation_url"] = evaluation_url
    return brief


@dataclass
class ActionRun:
    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str

    @property
    def errors(self) -> list[str]:
        """The `::error` annotations the run printed."""
        return [line for line in self.stdout.splitlines() if line.startswith("::error")]

    @property
    def shown(self) -> str:
        """The log as the runner displays it: `::add-mask::` lines are consumed, never shown."""
        return "\n".join(line for line in self.stdout.splitlines() if not line.startswith("::add-mask::"))


def parse_outputs(text: str) -> dict[str, str]:
    """$GITHUB_OUTPUT as the runner reads it: `k=v` lines and `k<<DELIM` heredocs."""
    outputs: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            value: list[str] = []
            for inner in lines:
                if inner == delimiter:
                    break
                value.append(inner)
            outputs[name] = "\n".join(value)
        elif "=" in line:
            name, value_text = line.split("=", 1)
            outputs[name] = value_text
    return outputs


@dataclass
class Deployer:
    """`deployer run` wired to the sandbox's GitHub, OpenRouter and evaluator."""

    github: GitHub
    openrouter: OpenRouter
    evaluator: Evaluator
    workdir: Path

    def run(self, event_name: str, event: dict[str, Any], *, brief_input: str = "",
            extra_env: dict[str, str] | None = None, timeout: float = 180) -> ActionRun:
        self.workdir.mkdir(parents=True, exist_ok=True)
        runs = len(list(self.workdir.glob("event-*.json")))
        event_path = self.workdir / f"event-{runs}.json"
        event_path.write_text(json.dumps(event))
        output, summary = self.workdir / f"output-{runs}", self.workdir / f"summary-{runs}.md"
        output.touch()
        summary.touch()
        env = {
            "PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"),
            "GITHUB_ACTIONS": "true", "CI": "true",
            "GITHUB_API_URL": self.github.url, "GITHUB_EVENT_NAME": event_name, "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary),
            "DEPLOYER_GITHUB_TOKEN": self.github.token, "DEPLOYER_OPENROUTER_API_KEY": self.openrouter.key,
            "DEPLOYER_OPENROUTER_BASE_URL": self.openrouter.base_url,
            "DEPLOYER_MODEL": "sandbox/primary", "DEPLOYER_FALLBACK_MODELS": "sandbox/fallback",
            "DEPLOYER_BRIEF": brief_input,
            "DEPLOYER_VERIFY_LOCAL_ONLY": "true",  # the verification browser stays on 127.0.0.1
            **(extra_env or {}),
        }
        done = subprocess.run([sys.executable, "-m", "deployer", "run"], env=env, capture_output=True, text=True,
                              timeout=timeout)
        return ActionRun(done.returncode, done.stdout, done.stderr, parse_outputs(output.read_text()),
                         summary.read_text())


@pytest.fixture
def deployer(github: GitHub, openrouter: OpenRouter, evaluator: Evaluator, tmp_path: Path) -> Deployer:
    return Deployer(github, openrouter, evaluator, tmp_path / "runner")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The whole sandbox as processes (sandbox/world.py), one per test module; every part must stop cleanly."""
    w = start_world(tmp_path_factory.mktemp("world"), build_delay=0.5, github_args=REALISTIC)
    yield w
    statuses = w.stop()
    assert set(statuses.values()) == {0}, statuses
