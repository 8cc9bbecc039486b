"""receiver/openapi.yaml stays true: the same paths and methods as the app's routes, the statuses and error codes
the contract names. (Each answer's status and shape is checked against it by the fuzz test.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from deployer.limits import MIB, SETTINGS, TASK_CHARS, BriefLimits
from receiver.app import HTTP_CODES, build_app
from receiver.config import load_settings

SPEC = Path(__file__).resolve().parents[2] / "receiver" / "openapi.yaml"
METHODS = ("get", "post", "put", "patch", "delete")


def spec() -> dict[str, Any]:
    return dict(yaml.safe_load(SPEC.read_text()))


def test_paths_and_methods_are_the_apps_routes(tmp_path: Path) -> None:
    settings = load_settings({"SHARED_SECRET": "s", "GITHUB_TOKEN": "t", "DEPLOYER_REPO": "o/r",
                              "DEPLOYER_DATA_DIR": str(tmp_path)})
    app = build_app(settings)
    routes = {(r.method.lower(), r.resource.canonical) for r in app.router.routes()
              if r.resource is not None and r.method != "HEAD"}  # aiohttp adds HEAD to every GET
    documented = {(method, path) for path, item in spec()["paths"].items() for method in item if method in METHODS}
    assert documented == routes


def test_the_briefs_statuses_are_the_contracts() -> None:
    """DESIGN.md: 200 accepted/duplicate; 400, 403, 413, 429 with Retry-After, 503."""
    accept = spec()["paths"]["/api-endpoint"]["post"]["responses"]
    assert set(accept) == {"200", "400", "403", "413", "429", "503"}
    assert "Retry-After" in accept["429"]["headers"] and "Retry-After" in accept["503"]["headers"]


def test_every_error_code_the_app_can_answer_is_documented() -> None:
    codes = set(spec()["components"]["schemas"]["Error"]["properties"]["error"]["enum"])
    named_in_architecture = {"invalid_json", "invalid_brief", "forbidden", "too_large", "rate_limited", "unavailable",
                             "unauthorized", "not_found", "not_failed", "method_not_allowed", "internal",
                             "invalid_event", "too_many_events"}
    assert named_in_architecture | set(HTTP_CODES.values()) | {"http_error"} == codes


def test_the_briefs_limits_are_the_defaults_of_its_settings() -> None:
    brief = spec()["components"]["schemas"]["Brief"]
    fields = brief["properties"]
    limits = BriefLimits()
    assert fields["email"]["maxLength"] == limits.email_chars
    assert fields["nonce"]["maxLength"] == limits.nonce_chars
    assert fields["brief"]["maxLength"] == limits.brief_chars
    assert fields["evaluation_url"]["maxLength"] == limits.url_chars
    assert fields["task"]["maxLength"] == TASK_CHARS
    assert fields["checks"]["maxItems"] == limits.checks
    assert fields["checks"]["items"]["oneOf"][0]["maxLength"] == limits.check_chars
    assert fields["attachments"]["maxItems"] == limits.attachments
    assert fields["attachments"]["items"]["properties"]["name"]["maxLength"] == limits.name_chars
    assert all(setting.env in brief["description"] for setting in SETTINGS)
    assert f"default {limits.attachment_bytes // MIB} MiB" in brief["description"]
