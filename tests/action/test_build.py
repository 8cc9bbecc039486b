"""The build step: a model-written script runs once before the commit, without secrets, within limits."""

from __future__ import annotations

import csv
import io
import json
import os
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest

from action.build import BuildFailed, BuildLimits, run_build
from action.buildspec import BuildSpecError, find_build

FAST = BuildLimits(timeout_s=60.0)


def script(body: str, outputs: list[str], *, deps: list[str] | None = None, commit: bool | None = None) -> str:
    header = ["# /// script"]
    if deps is not None:
        header.append(f"# dependencies = {json.dumps(deps)}")
    header += ["# [tool.deployer]", f"# outputs = {json.dumps(outputs)}"]
    if commit is not None:
        header.append(f"# commit_script = {'true' if commit else 'false'}")
    return "\n".join([*header, "# ///", body.strip(), ""])


def sec_fixture() -> dict[str, object]:
    """SEC companyconcept shape: units.shares is a list of facts; some `val`s are not numbers, two tie."""
    facts = [
        {"end": "2019-06-30", "val": 999999999, "fy": 2019, "fp": "Q2", "form": "10-Q", "filed": "2019-07-30"},
        {"end": "2021-03-31", "val": 4000, "fy": 2021, "fp": "Q1", "form": "10-Q", "filed": "2021-04-30"},
        {"end": "2021-06-30", "val": 9000, "fy": 2021, "fp": "Q2", "form": "10-Q", "filed": "2021-07-30"},
        {"end": "2022-06-30", "val": 9000, "fy": 2022, "fp": "Q2", "form": "10-Q", "filed": "2022-07-29"},
        {"end": "2022-09-30", "val": "n/a", "fy": 2022, "fp": "Q3", "form": "10-Q", "filed": "2022-10-28"},
        {"end": "2023-03-31", "val": None, "fy": 2023, "fp": "Q1", "form": "10-Q", "filed": "2023-04-28"},
        {"end": "2023-06-30", "val": 1500, "fy": 2023, "fp": "Q2", "form": "10-Q", "filed": "2023-07-28"},
        {"end": "2024-06-30", "val": 1500, "fy": 2024, "fp": "Q2", "form": "10-Q", "filed": "2024-07-26"},
    ]
    return {"cik": 320193, "taxonomy": "dei", "tag": "EntityCommonStockSharesOutstanding",
            "label": "Entity Common Stock, Shares Outstanding", "description": "...",
            "entityName": "Example Corp", "units": {"shares": facts}}


SEC_SCRIPT = """
import json

concept = json.load(open("sec.json"))
facts = [f for f in concept["units"]["shares"]
         if isinstance(f.get("val"), (int, float)) and not isinstance(f["val"], bool) and f["fy"] > 2020]
# Ties: the latest fiscal year wins, so the figure shown is the most recent one at that value.
best = max(facts, key=lambda f: (f["val"], f["fy"]))
least = min(facts, key=lambda f: (f["val"], -f["fy"]))
data = {"entityName": concept["entityName"], "max": {"val": best["val"], "fy": best["fy"]},
        "min": {"val": least["val"], "fy": least["fy"]}}
json.dump(data, open("data.json", "w"))
print("wrote data.json")
"""


def test_data_json_from_an_sec_shaped_fixture() -> None:
    files = {"index.html": "<!doctype html><html><body></body></html>\n",
             "build.py": script(SEC_SCRIPT, ["data.json"])}
    spec = find_build(files)
    assert spec is not None and spec.outputs == ("data.json",) and spec.commit_script is True
    result = run_build(spec, files, {"sec.json": json.dumps(sec_fixture()).encode()}, limits=FAST)
    data = json.loads(result.outputs["data.json"])
    assert data == {"entityName": "Example Corp", "max": {"val": 9000, "fy": 2022}, "min": {"val": 1500, "fy": 2024}}
    assert data["max"]["val"] >= data["min"]["val"]
    assert "wrote data.json" in result.stdout_tail


def make_xlsx() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in (["region", "units", "price", "note"], ["north", 12, 3.5, None], ["south", 7, 10, "a, b"],
                ["east", 0, 2.25, 'say "hi"']):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


XLSX_SCRIPT = """
import csv
import openpyxl

sheet = openpyxl.load_workbook("data.xlsx", data_only=True).active
with open("data.csv", "w", newline="") as f:
    writer = csv.writer(f)
    for row in sheet.iter_rows(values_only=True):
        writer.writerow(["" if v is None else v for v in row])
"""


def test_xlsx_converted_to_csv_equals_the_sheet_cell_by_cell() -> None:
    xlsx = make_xlsx()
    files = {"build.py": script(XLSX_SCRIPT, ["data.csv"], commit=False)}
    spec = find_build(files)
    assert spec is not None and spec.commit_script is False
    result = run_build(spec, files, {"data.xlsx": xlsx}, limits=FAST)
    rows = list(csv.reader(io.StringIO(result.outputs["data.csv"])))
    assert rows == [["region", "units", "price", "note"], ["north", "12", "3.5", ""], ["south", "7", "10", "a, b"],
                    ["east", "0", "2.25", 'say "hi"']]


def test_a_csv_that_differs_from_the_sheet_is_refused() -> None:
    wrong = XLSX_SCRIPT.replace('writer.writerow(["" if v is None else v for v in row])',
                                'writer.writerow(["" if v is None else (99 if v == 7 else v) for v in row])')
    files = {"build.py": script(wrong, ["data.csv"])}
    with pytest.raises(BuildFailed) as failed:
        run_build(find_build(files), files, {"data.xlsx": make_xlsx()}, limits=FAST)  # type: ignore[arg-type]
    assert failed.value.problems == [
        "build.py output data.csv: differs from data.xlsx: row 3, column 2: the spreadsheet has 7, the CSV '99'"]


def test_a_failing_script_reports_the_tail_of_its_stderr() -> None:
    files = {"build.py": script('import json\nprint("starting")\njson.load(open("missing.json"))\n', ["data.json"])}
    with pytest.raises(BuildFailed) as failed:
        run_build(find_build(files), files, {}, limits=FAST)  # type: ignore[arg-type]
    [problem] = failed.value.problems
    assert problem.startswith("build.py: failed with exit status 1\nstderr:\n")
    assert "FileNotFoundError" in problem and "missing.json" in problem


def test_a_script_that_writes_no_declared_output_or_invalid_json_is_refused() -> None:
    files = {"build.py": script('open("data.json", "w").write("{not json")\n', ["data.json", "other.csv"])}
    with pytest.raises(BuildFailed) as failed:
        run_build(find_build(files), files, {}, limits=FAST)  # type: ignore[arg-type]
    assert failed.value.problems[0] == "build.py: ran, but did not write the declared output other.csv"
    assert failed.value.problems[1].startswith("build.py output data.json: is not valid JSON")


def test_the_script_finds_no_secret_in_its_environment(tmp_path: Path) -> None:
    env = {**os.environ, "GITHUB_TOKEN": "ghp_" + "a" * 36, "DEPLOYER_GITHUB_TOKEN": "t1", "OPENROUTER_API_KEY": "k1",
           "DEPLOYER_OPENROUTER_API_KEY": "k2", "INPUT_GITHUB-TOKEN": "t2", "AWS_SECRET_ACCESS_KEY": "s",
           "HTTPS_PROXY": "http://127.0.0.1:9", "LANG": "C.UTF-8"}
    body = """
import json, os
json.dump({"env": dict(os.environ), "cwd": os.getcwd(), "home": os.path.expanduser("~")}, open("env.json", "w"))
"""
    files = {"build.py": script(body, ["env.json"])}
    result = run_build(find_build(files), files, {}, env=env, limits=FAST)  # type: ignore[arg-type]
    seen = json.loads(result.outputs["env.json"])
    names = set(seen["env"])
    assert not names & {"GITHUB_TOKEN", "DEPLOYER_GITHUB_TOKEN", "OPENROUTER_API_KEY", "DEPLOYER_OPENROUTER_API_KEY",
                        "INPUT_GITHUB-TOKEN", "AWS_SECRET_ACCESS_KEY"}
    assert not any(v in ("t1", "t2", "k1", "k2", "s") or v.startswith("ghp_") for v in seen["env"].values())
    assert seen["env"]["HTTPS_PROXY"] == "http://127.0.0.1:9" and seen["env"]["LANG"] == "C.UTF-8"
    assert seen["home"] == seen["env"]["HOME"] != os.path.expanduser("~")
    assert Path(seen["home"]).parent == Path(seen["cwd"]).parent  # both inside the build's temporary directory
    assert not Path(seen["cwd"]).exists()  # removed afterwards


def test_a_script_past_the_time_limit_is_killed_with_its_children(tmp_path: Path) -> None:
    marker = tmp_path / "child.pid"
    body = f"""
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
open({str(marker)!r}, "w").write(str(child.pid))
time.sleep(120)
"""
    files = {"build.py": script(body, ["data.json"])}
    with pytest.raises(BuildFailed) as failed:
        run_build(find_build(files), files, {}, limits=BuildLimits(timeout_s=3.0))  # type: ignore[arg-type]
    assert failed.value.problems[0].startswith("build.py: was killed after the time limit of 3s")
    stat = Path(f"/proc/{int(marker.read_text())}/stat")
    # Gone, or dead and unreaped. A killed process may still be tearing down (state D or R) for a moment under load;
    # one that was not killed sleeps (S) for its two minutes.
    ended = time.monotonic() + 10
    while stat.exists() and (state := stat.read_text().rsplit(")", 1)[1].split()[0]) != "Z":
        assert state != "S" or time.monotonic() < ended, "the script's child outlived the time limit"
        time.sleep(0.1)


def test_memory_past_the_limit_fails_and_says_so() -> None:
    files = {"build.py": script('blob = bytearray(1024 ** 3)\nopen("x.json", "w").write("1")\n', ["x.json"])}
    with pytest.raises(BuildFailed) as failed:
        run_build(find_build(files), files, {},  # type: ignore[arg-type]
                  limits=BuildLimits(timeout_s=60.0, memory_bytes=512 * 1024**2))
    assert "MemoryError" in failed.value.problems[0] and "the limit is 512 MiB" in failed.value.problems[0]


def test_an_output_may_not_overwrite_an_attachment() -> None:
    files = {"build.py": script('open("data.csv", "w").write("a,b\\n")\n', ["data.csv"])}
    with pytest.raises(BuildFailed) as failed:
        run_build(find_build(files), files, {"data.csv": b"x,y\n"}, limits=FAST)  # type: ignore[arg-type]
    assert failed.value.problems == ["build.py output data.csv: is an attachment, committed as-is; the script must "
                                     "not overwrite it"]


@pytest.mark.parametrize(("text", "message"), [
    (script("pass", []), "outputs must list the files"),
    (script("pass", ["../x.json"]), "output '../x.json': the path contains '..'"),
    (script("pass", ["x.json"], deps=["pkg @ https://example.com/pkg.whl"]), "is not a plain package requirement"),
    (script("pass", ["x.json"], deps=[f"p{n}" for n in range(11)]), "over the limit of 10"),
    ("# /// script\n# [tool.deployer]\n# outputs = [\n# ///\n", "not valid TOML"),
    ("# /// script\n# [tool.deployer]\n# output = ['x']\n# ///\n", "unknown keys ['output']"),
])
def test_bad_build_declarations_are_named(text: str, message: str) -> None:
    with pytest.raises(BuildSpecError, match=None) as failed:
        find_build({"build.py": text})
    assert message in str(failed.value)


def test_a_build_py_without_our_table_is_an_ordinary_file() -> None:
    assert find_build({"build.py": "# /// script\n# dependencies = []\n# ///\nprint(1)\n"}) is None
    assert find_build({"build.py": "print(1)\n"}) is None
    assert find_build({"index.html": "x"}) is None


def make_wheel(directory: Path) -> None:
    """A one-module wheel, so installing a declared dependency is tested offline (find-links, no index)."""
    files = {"deployertestpkg/__init__.py": "VALUE = 7\n",
             "deployertestpkg-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: deployertestpkg\nVersion: 1.0\n",
             "deployertestpkg-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\n"
                                                    "Tag: py3-none-any\n"}
    record = "deployertestpkg-1.0.dist-info/RECORD"
    files[record] = "".join(f"{name},,\n" for name in [*files, record])
    with zipfile.ZipFile(directory / "deployertestpkg-1.0-py3-none-any.whl", "w") as wheel:
        for name, text in files.items():
            wheel.writestr(name, text)


def test_declared_dependencies_go_into_a_venv_that_still_sees_the_runner_packages(tmp_path: Path) -> None:
    make_wheel(tmp_path)
    env = {**os.environ, "UV_FIND_LINKS": str(tmp_path), "UV_NO_INDEX": "1", "UV_OFFLINE": "1",
           "PIP_FIND_LINKS": str(tmp_path), "PIP_NO_INDEX": "1"}
    body = """
import json, sys
import deployertestpkg, openpyxl
json.dump({"value": deployertestpkg.VALUE, "python": sys.executable, "openpyxl": bool(openpyxl.__version__)},
          open("out.json", "w"))
"""
    files = {"build.py": script(body, ["out.json"], deps=["deployertestpkg==1.0"])}
    result = run_build(find_build(files), files, {}, env=env, limits=FAST)  # type: ignore[arg-type]
    out = json.loads(result.outputs["out.json"])
    assert out["value"] == 7 and out["openpyxl"] is True
    assert "/venv/bin/python" in out["python"]


def test_a_dependency_that_cannot_be_installed_is_reported(tmp_path: Path) -> None:
    env = {**os.environ, "UV_FIND_LINKS": str(tmp_path), "UV_NO_INDEX": "1", "UV_OFFLINE": "1",
           "PIP_FIND_LINKS": str(tmp_path), "PIP_NO_INDEX": "1"}
    files = {"build.py": script("pass", ["x.json"], deps=["no-such-package-anywhere"])}
    with pytest.raises(BuildFailed) as failed:
        run_build(find_build(files), files, {}, env=env, limits=FAST)  # type: ignore[arg-type]
    assert failed.value.problems[0].startswith("build.py: its dependencies could not be installed")
    assert "no-such-package-anywhere" in failed.value.problems[0]
