"""`deployer sandbox fixtures`: data.sec.gov played locally, reached by build scripts through the sandbox proxy
with the URLs they use in production."""

from __future__ import annotations

import json
import os

import pytest
import requests

from action.build import BuildFailed, BuildLimits, run_build
from action.buildspec import find_build

CONCEPT = "/api/xbrl/companyconcept/CIK0000320193/dei/EntityCommonStockSharesOutstanding.json"
UA = {"User-Agent": "Sandbox Tests admin@example.com"}


@pytest.fixture
def fixtures(services):  # type: ignore[no-untyped-def]
    svc = services.start("fixtures", "sandbox", "fixtures", "--port", "0", "--proxy-port", "0")
    return svc.url, requests.get(f"{svc.url}/_sandbox/info", timeout=10).json()


def test_sec_paths_shapes_and_user_agent_rule(fixtures) -> None:  # type: ignore[no-untyped-def]
    url, _ = fixtures
    refused = requests.get(url + CONCEPT, headers={"User-Agent": "python-requests/2.32"}, timeout=10)
    assert refused.status_code == 403 and "Undeclared Automated Tool" in refused.text
    body = requests.get(url + CONCEPT, headers=UA, timeout=10).json()
    assert (body["cik"], body["taxonomy"], body["tag"], body["entityName"]) == (
        320193, "dei", "EntityCommonStockSharesOutstanding", "Apple Inc.")
    shares = body["units"]["shares"]
    assert {"end", "val", "accn", "fy", "fp", "form", "filed"} <= set(shares[0])
    assert all(isinstance(f["val"], int) for f in shares)
    assert len({f["val"] for f in shares}) < len(shares)  # figures repeat across filings: ties
    assert requests.get(url + CONCEPT, headers=UA, timeout=10).json() == body  # deterministic
    assert requests.get(url + CONCEPT.replace("dei/Entity", "dei/Nope"), headers=UA, timeout=10).status_code == 404
    assert requests.get(url + "/api/xbrl/companyconcept/CIK123/dei/X.json", headers=UA, timeout=10).status_code == 404
    names = requests.get(url + "/submissions/CIK0000789019.json", headers=UA, timeout=10).json()
    assert names["name"] == "MICROSOFT CORP"
    log = requests.get(f"{url}/_sandbox/requests", timeout=10).json()
    assert [e["status"] for e in log] == [403, 200, 200, 404, 404, 200]


BUILD = """
import json, sys, urllib.error, urllib.request

url = "https://data.sec.gov/api/xbrl/companyconcept/CIK0000320193/dei/EntityCommonStockSharesOutstanding.json"
headers = {"User-Agent": sys.argv[1] if len(sys.argv) > 1 else "%s"}
concept = json.load(urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30))
facts = [f for f in concept["units"]["shares"] if isinstance(f["val"], (int, float)) and f["fy"] > 2020]
best = max(facts, key=lambda f: f["val"])
least = min(facts, key=lambda f: f["val"])
json.dump({"entityName": concept["entityName"], "max": {"val": best["val"], "fy": best["fy"]},
           "min": {"val": least["val"], "fy": least["fy"]}}, open("data.json", "w"))
"""


def build_files(user_agent: str) -> dict[str, str]:
    header = '# /// script\n# [tool.deployer]\n# outputs = ["data.json"]\n# ///\n'
    return {"build.py": header + BUILD % user_agent}


def test_a_build_script_fetches_https_data_sec_gov_through_the_proxy(fixtures) -> None:  # type: ignore[no-untyped-def]
    url, info = fixtures
    env = {**os.environ, **info["env"]}
    files = build_files("Sandbox Tests admin@example.com")
    result = run_build(find_build(files), files, {}, env=env, limits=BuildLimits(timeout_s=60))  # type: ignore[arg-type]
    log = requests.get(f"{url}/_sandbox/requests", timeout=10).json()
    assert log == [{"method": "GET", "path": CONCEPT, "user_agent": "Sandbox Tests admin@example.com", "status": 200}]
    data = json.loads(result.outputs["data.json"])
    facts = [f for f in requests.get(url + CONCEPT, headers=UA, timeout=10).json()["units"]["shares"] if f["fy"] > 2020]
    assert data["entityName"] == "Apple Inc."
    assert data["max"]["val"] == max(f["val"] for f in facts) >= data["min"]["val"] == min(f["val"] for f in facts)


def test_without_a_descriptive_user_agent_the_script_fails_as_on_sec(fixtures) -> None:  # type: ignore[no-untyped-def]
    _, info = fixtures
    files = build_files("Python-urllib/3.11")
    with pytest.raises(BuildFailed) as failed:
        run_build(find_build(files), files, {}, env={**os.environ, **info["env"]},  # type: ignore[arg-type]
                  limits=BuildLimits(timeout_s=60))
    assert "HTTP Error 403: Forbidden" in failed.value.problems[0]


def test_the_proxy_refuses_hosts_it_does_not_play(fixtures) -> None:  # type: ignore[no-untyped-def]
    _, info = fixtures
    proxies = {"https": info["proxy_url"], "http": info["proxy_url"]}
    with pytest.raises(requests.exceptions.ProxyError, match="403"):
        requests.get("https://example.com/", proxies=proxies, timeout=10)
    plain = requests.get("http://example.com/", proxies=proxies, timeout=10)
    assert plain.status_code == 403 and "the sandbox has no Internet: example.com" in plain.text
    via_http = requests.get("http://data.sec.gov" + CONCEPT, proxies=proxies, headers=UA, timeout=10)
    assert via_http.json()["entityName"] == "Apple Inc."


def test_the_build_proxy_setting_reaches_only_the_script_env() -> None:
    from action.buildenv import installer_env, script_env

    env = {"PATH": "/bin", "DEPLOYER_BUILD_PROXY": "http://127.0.0.1:9", "DEPLOYER_BUILD_CA_BUNDLE": "/x/bundle.pem"}
    seen = script_env(env, "/tmp/h")
    assert seen["HTTPS_PROXY"] == seen["http_proxy"] == "http://127.0.0.1:9"
    assert seen["NO_PROXY"] == "127.0.0.1,localhost"
    assert seen["SSL_CERT_FILE"] == seen["REQUESTS_CA_BUNDLE"] == "/x/bundle.pem"
    assert not any(k.startswith("DEPLOYER_") for k in seen)
    assert "HTTPS_PROXY" not in installer_env(env, "/tmp/h")
