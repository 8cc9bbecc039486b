"""Bad input against a real `deployer serve`: schemathesis from receiver/openapi.yaml, hypothesis for raw bodies, and
the issue's named cases that tests/receiver and tests/test_brief.py do not already send.

Budget: DEPLOYER_FUZZ_EXAMPLES cases per fuzz test (default 300, a CI-sized run); DEPLOYER_FULL_FAULTS=1 makes it
10,000. Every answer must be documented (status, content type, body shape), none may be a 5xx, and the receiver
must be alive and healthy afterwards with no internal error in its log.

Already covered elsewhere (not repeated here): every field missing or of the wrong type, round 0 and "1", task
with `/` and `..`, attachment URL not `data:`, bad base64, names with `/` and `..`, non-JSON bodies, JSON arrays,
an array nested 100,000 deep (tests/receiver/test_receiver_endpoint.py); a declared Content-Length of 10^12 bytes,
far past 1 GB, answered 413 before any body (test_declared_content_length_over_the_limit_is_413_before_any_body).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from sandbox.procs import Service
from tests.faults.table import ROW_KEY
from tests.receiver.receiver_support import SECRET, closed_port_url, make_brief, start_receiver

SPEC = Path(__file__).resolve().parents[2] / "receiver" / "openapi.yaml"
FULL = os.environ.get("DEPLOYER_FULL_FAULTS", "").strip().lower() in ("1", "true", "yes")
EXAMPLES = 10_000 if FULL else int(os.environ.get("DEPLOYER_FUZZ_EXAMPLES", "300"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=not FULL,
                suppress_health_check=list(HealthCheck))

# pytest-timeout's 300 s fits the CI budget; the full run's 10,000 cases take many minutes.
LONG_ENOUGH = pytest.mark.timeout(max(300, EXAMPLES // 5))

schema = schemathesis.openapi.from_path(str(SPEC))
accept = schema["/api-endpoint"]["POST"]


@pytest.fixture(scope="module")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    root = tmp_path_factory.mktemp("fuzz")
    service = start_receiver(root / "logs", root / "data", closed_port_url(), MAX_BODY_MB="1")
    yield service
    assert service.stop() == 0, service.log()[-2000:]


def assert_healthy(receiver: Service) -> None:
    assert receiver.proc.poll() is None, "the receiver died"
    health = requests.get(f"{receiver.url}/health", timeout=10)
    assert health.status_code == 200 and health.json()["status"] == "healthy"
    log = receiver.log()
    assert "stage=internal_error" not in log and "Traceback" not in log


def with_secret(case: Any, real: bool) -> Any:
    """Half the cases carry the real secret, so they get past the 403 into the field rules and the outbox. A copy:
    the generated body must stay as drawn, or hypothesis cannot replay it."""
    if real and isinstance(case.body, dict):
        case.body = {**case.body, "secret": SECRET}
    return case


def record(request: pytest.FixtureRequest, scenario: str, seen: dict[int, int]) -> None:
    """A row of the fault table (tests/faults/table.py): how many cases, and that none was a 5xx."""
    outcome = f"{sum(seen.values())} cases ({seen.get(200, 0)} accepted), 0 5xx, healthy after"
    request.node.user_properties.append((ROW_KEY, json.dumps({
        "scenario": scenario, "outcome": outcome, "accepted": 0, "notified": 0, "lost": 0, "duplicated": 0})))


@LONG_ENOUGH
def test_fuzz_the_brief_endpoint_from_its_openapi_description(receiver: Service, request: pytest.FixtureRequest
                                                              ) -> None:
    seen: dict[int, int] = {}
    session = requests.Session()

    @FUZZ
    @given(case=st.one_of(accept.as_strategy(schemathesis.GenerationMode.POSITIVE),
                          accept.as_strategy(schemathesis.GenerationMode.NEGATIVE)), real=st.booleans())
    def fuzz(case: Any, real: bool) -> None:
        with_secret(case, real)
        response = case.call(base_url=receiver.url, session=session, timeout=30)
        seen[response.status_code] = seen.get(response.status_code, 0) + 1
        case.validate_response(response, checks=CHECKS)

    fuzz()
    print(f"schemathesis: {sum(seen.values())} cases, statuses {dict(sorted(seen.items()))}")
    assert not [s for s in seen if s >= 500]
    assert {200, 400, 403} <= set(seen)  # accepted, field rules and the secret were all reached
    assert_healthy(receiver)
    record(request, "fuzz POST /api-endpoint (schemathesis)", seen)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=20)
FIELDS = ("email", "secret", "task", "round", "nonce", "brief", "checks", "evaluation_url", "attachments")


@st.composite
def mangled_briefs(draw: st.DrawFn) -> bytes:
    """A valid brief with fields replaced by any JSON, removed, or the whole body as arbitrary bytes."""
    kind = draw(st.sampled_from(["fields", "bytes", "json"]))
    if kind == "bytes":
        return draw(st.binary(max_size=512))
    if kind == "json":
        return json.dumps(draw(JSON)).encode()
    brief: dict[str, Any] = make_brief(task="fuzz-task")
    for name in draw(st.lists(st.sampled_from(FIELDS), unique=True, max_size=4)):
        if draw(st.booleans()):
            brief.pop(name)
        else:
            brief[name] = draw(JSON)
    return json.dumps(brief).encode()


@LONG_ENOUGH
def test_fuzz_raw_bodies_with_hypothesis(receiver: Service, request: pytest.FixtureRequest) -> None:
    seen: dict[int, int] = {}
    session = requests.Session()

    @FUZZ
    @given(body=mangled_briefs())
    def fuzz(body: bytes) -> None:
        r = session.post(f"{receiver.url}/api-endpoint", data=body, timeout=30,
                         headers={"Content-Type": "application/json"})
        seen[r.status_code] = seen.get(r.status_code, 0) + 1
        assert r.status_code in (200, 400, 403), r.text
        payload = r.json()
        assert set(payload) == ({"status", "id"} if r.status_code == 200 else {"error", "detail"})
        if r.status_code != 200:
            assert payload["detail"]

    fuzz()
    print(f"hypothesis: {sum(seen.values())} bodies, statuses {dict(sorted(seen.items()))}")
    assert_healthy(receiver)
    record(request, "fuzz POST /api-endpoint (raw bodies)", seen)


# Each: the brief's changes, and the one field its 400 must name.
NAMED = [
    pytest.param({"round": -1}, "round", id="round -1"),
    pytest.param({"task": "t" * 300}, "task", id="task of 300 characters"),
    pytest.param({"task": "tâche-ü"}, "task", id="task in unicode"),
    pytest.param({"evaluation_url": "file:///etc/passwd"}, "evaluation_url", id="evaluation_url file:"),
    pytest.param({"evaluation_url": "javascript:alert(1)"}, "evaluation_url", id="evaluation_url javascript:"),
    pytest.param({"evaluation_url": "grader.example.com/notify"}, "evaluation_url", id="evaluation_url no scheme"),
    pytest.param({"evaluation_url": "data:text/plain,hi"}, "evaluation_url", id="evaluation_url data:"),
    pytest.param({"attachments": [{"name": ".github/workflows/x.yml", "url": "data:text/plain,on%3A%20push"}]},
                 "attachments[0].name", id="attachment under .github/"),
    pytest.param({"attachments": [{"name": "/etc/passwd", "url": "data:,x"}]}, "attachments[0].name",
                 id="attachment name absolute"),
    pytest.param({"attachments": [{"name": ".git", "url": "data:,x"}]}, "attachments[0].name",
                 id="attachment named .git"),
]


@pytest.mark.parametrize("change, field", NAMED)
def test_named_bad_fields_get_a_400_naming_them(receiver: Service, change: dict[str, Any], field: str) -> None:
    r = requests.post(f"{receiver.url}/api-endpoint", json=make_brief(**change), timeout=10)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_brief"
    assert [d["field"] for d in r.json()["detail"]] == [field] and r.json()["detail"][0]["message"]


@pytest.mark.parametrize("body", [b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
                                  json.dumps(make_brief())[:-1].encode() + b', "deep": ' + b"[" * 50_000
                                  + b"]" * 50_000 + b"}"],
                         ids=["object-depth-bomb", "depth-bomb-inside-a-valid-brief"])
def test_nested_depth_bombs_are_400_not_a_crash(receiver: Service, body: bytes) -> None:
    r = requests.post(f"{receiver.url}/api-endpoint", data=body, timeout=30,
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_json"
    assert "nested too deeply" in r.json()["detail"] or "recursion" in r.json()["detail"].lower()
    assert_healthy(receiver)
