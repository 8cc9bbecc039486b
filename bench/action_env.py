"""`deployer run` as GitHub's runner starts it, against the emulator, the OpenRouter stand-in and the evaluator.

For the benchmarks that measure the action alone (API calls, tokens): no receiver, no Actions service, no install
step. The environment is the one the action reads (`deployer run --help`); verification is off unless asked, since
it never talks to GitHub and only adds browser time.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from bench.common import SAMPLES, CannotMeasure, Emulator, start, start_emulator
from sandbox.procs import Service, deployer_argv


@dataclass
class ActionWorld:
    emulator: Emulator
    openrouter: Service
    evaluator: Service
    key: str
    work: Path

    @property
    def services(self) -> list[Service]:
        return [self.evaluator, self.openrouter, self.emulator.service]

    def stop(self) -> None:
        for service in self.services:
            service.stop()

    def brief(self, name: str) -> dict[str, Any]:
        brief = json.loads((SAMPLES / name).read_text())
        brief["evaluation_url"] = f"{self.evaluator.url}/notify"
        return brief

    def run(self, brief: dict[str, Any], *, verify: bool = False, timeout: float = 300) -> dict[str, str]:
        """One round, as a repository_dispatch event; the action's outputs. CannotMeasure if it fails."""
        self.work.mkdir(parents=True, exist_ok=True)
        n = len(list(self.work.glob("event-*.json")))
        event = self.work / f"event-{n}.json"
        public = {k: v for k, v in brief.items() if k != "secret"}
        event.write_text(json.dumps({"action": "deploy-brief",
                                     "client_payload": {"id": f"bench-{n}", "accepted_at": "", "brief": public}}))
        output = self.work / f"output-{n}"
        output.touch()
        env = {
            "PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(self.work)), "GITHUB_ACTIONS": "true",
            "GITHUB_API_URL": self.emulator.api_url, "GITHUB_EVENT_NAME": "repository_dispatch",
            "GITHUB_EVENT_PATH": str(event), "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(self.work / f"summary-{n}.md"),
            "DEPLOYER_GITHUB_TOKEN": self.emulator.token, "DEPLOYER_OPENROUTER_API_KEY": self.key,
            "DEPLOYER_OPENROUTER_BASE_URL": f"{self.openrouter.url}/api/v1",
            "DEPLOYER_MODEL": "sandbox/primary", "DEPLOYER_FALLBACK_MODELS": "sandbox/fallback",
            "DEPLOYER_VERIFY": "true" if verify else "false", "DEPLOYER_VERIFY_LOCAL_ONLY": "true",
        }
        done = subprocess.run(deployer_argv("run"), env=env, capture_output=True, text=True, timeout=timeout,
                              check=False)
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-8:])
            raise CannotMeasure(f"deployer run failed for {brief['task']} round {brief['round']}:\n{tail}")
        return dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)

    def requests_log(self, clear: bool = False) -> list[dict[str, Any]]:
        url = f"{self.emulator.service.url}/_sandbox/requests"
        calls = requests.get(url, timeout=30).json()
        if clear:
            requests.delete(url, timeout=30)
        return calls


def start_action_world(root: Path, *, build_delay: float = 1.0) -> ActionWorld:
    logs = root / "logs"
    emulator = start_emulator(logs, root / "github", build_delay=build_delay)
    started: list[Service] = [emulator.service]
    try:
        key = "sk-or-v1-" + secrets.token_hex(16)
        openrouter = start("openrouter", deployer_argv("sandbox", "openrouter", "--port", "0", "--key", key,
                                                             # overhead is measured, not the model: answers
                                                             # that never need a repair or a continuation
                                                             "--style", "clean", "--credits", "1000"), logs)
        started.append(openrouter)
        evaluator = start("evaluator", deployer_argv("sandbox", "evaluator", "--port", "0"), logs)
    except CannotMeasure:
        for service in started:
            service.stop()
        raise
    return ActionWorld(emulator, openrouter, evaluator, key, root / "runner")

