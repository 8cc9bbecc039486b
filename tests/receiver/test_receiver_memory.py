"""A big brief through a real `deployer serve`: memory bounded by a small multiple of the body, and given back.

Figures (not speed) read from /proc: VmHWM is the process's peak resident memory, reset by writing 5 to
/proc/PID/clear_refs. bench/receiver_load.py measures the same at 24 MiB; this test keeps the bound from regressing.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest
import requests
from receiver_support import make_brief, post, receiver_env, wait_for
from test_receiver_dispatch import REPO, create_repo, dispatches, settled

MIB = 1024 * 1024


def _mib(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"/proc/{pid}/status has no {field}")


def _reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux's /proc")
@pytest.mark.parametrize("sync", ["normal", "full"])
def test_a_big_brief_costs_under_three_times_its_body_and_is_given_back(services: Any, github: Any, tmp_path: Path,
                                                                        sync: str) -> None:
    create_repo(github)
    target = github
    svc = services.start("receiver", "serve", env=receiver_env(tmp_path / "data", target.url, DEPLOYER_REPO=REPO,
                                                               OUTBOX_SYNC=sync))
    pid = svc.proc.pid
    warm = post(svc.url, make_brief(task="warm-up")).json()["id"]  # imports and first-request work come first
    wait_for(lambda: settled(svc.url, warm), what="the warm-up dispatch")
    images = [os.urandom(6 * MIB) for _ in range(2)]  # two 8 MiB data: URIs, each under the 10 MiB default limit
    brief = make_brief(task="big-task", brief="Use both images — and nothing else 😀.", attachments=[
        {"name": f"image-{i}.png", "url": "data:image/png;base64," + base64.b64encode(raw).decode()}
        for i, raw in enumerate(images)])
    body = json.dumps(brief).encode()
    body_mib = len(body) / MIB

    for _ in range(2):  # the second brief too: memory freed by the first must not pile up under the second
        before = _mib(pid, "VmRSS")
        _reset_peak(pid)
        brief["nonce"] += "x"
        body = json.dumps(brief).encode()
        answer = requests.post(f"{svc.url}/api-endpoint", data=body, timeout=120,
                               headers={"Content-Type": "application/json"})
        assert answer.status_code == 200, answer.text
        done = wait_for(lambda a=answer: settled(svc.url, a.json()["id"]), what="the big brief's dispatch")
        assert done["mode"] == "reference"
        growth = _mib(pid, "VmHWM") - before
        assert growth <= 3 * body_mib, f"peak RSS grew {growth:.1f} MiB for a {body_mib:.1f} MiB body"

    served_before = _mib(pid, "VmRSS")
    _reset_peak(pid)
    ref = next(d["client_payload"] for d in dispatches(target) if d["client_payload"]["id"] == answer.json()["id"])
    got = requests.get(ref["brief_url"], headers={"Authorization": f"Bearer {ref['brief_token']}"}, timeout=120)
    assert got.status_code == 200 and got.json() == {k: v for k, v in brief.items() if k != "secret"}
    growth = _mib(pid, "VmHWM") - served_before
    assert growth <= body_mib / 2, f"serving a {body_mib:.1f} MiB brief grew peak RSS by {growth:.1f} MiB"
    assert _mib(pid, "VmRSS") - before <= body_mib / 2, "the big briefs' memory was not given back"
