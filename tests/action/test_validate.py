"""Validation of generated files: unsafe paths, broken HTML and references, JS syntax, secrets, sizes."""

from __future__ import annotations

import shutil

import pytest

from action import validate as v
from action.validate import Problem, check_files, validate

PAGE = (
    "<!doctype html><html><head><title>T</title><link rel=stylesheet href=style.css>"
    "<script src=app.js></script></head><body><h1>T</h1><img src='data.png'>"
    "<a href='#top'>top</a><a href='https://example.com/x'>x</a><a href='mailto:a@b.c'>m</a>"
    "<img src='data:image/png;base64,AAAA'></body></html>"
)
SITE = {"index.html": PAGE, "style.css": "body{}", "app.js": "console.log(1);\n"}
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed")


def messages(problems: list[Problem]) -> list[str]:
    return [str(p) for p in problems]


def test_a_good_site_has_no_problems() -> None:
    assert check_files(SITE, attachments={"data.png"}) == []


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("../evil.js", "'..'"),
        ("js/../../x.js", "'..'"),
        ("/etc/passwd", "absolute"),
        ("C:/x.js", "absolute"),
        ("js\\app.js", "backslash"),
        (".git/config", ".git"),
        ("sub/.GIT/hooks/x", ".git"),
        (".github/workflows/deploy.yml", ".github/"),
        ("a//b.js", "empty or '.'"),
        ("./a.js", "empty or '.'"),
        ("", "empty"),
        ("a\x00.js", "control"),
    ],
)
def test_unsafe_paths_are_rejected(path: str, why: str) -> None:
    problems = check_files({**SITE, path: "x"}, attachments={"data.png"})
    assert [p.path for p in problems] == [path]
    assert why in problems[0].message


def test_workflows_only_with_the_flag_and_only_under_workflows() -> None:
    files = {**SITE, ".github/workflows/pages.yml": "on: push\n"}
    assert check_files(files, attachments={"data.png"}, allow_workflows=True) == []
    problems = check_files({**SITE, ".github/CODEOWNERS": "*"}, attachments={"data.png"}, allow_workflows=True)
    assert messages(problems) == [
        ".github/CODEOWNERS: only workflows under .github/workflows/ are allowed under .github/"
    ]


def test_index_html_must_exist_and_be_a_document() -> None:
    assert messages(check_files({"app.js": "1"})) == [
        "index.html: is missing; the site needs an index.html at its root"
    ]
    problems = messages(check_files({"index.html": "<h1>Hi</h1>"}))
    assert problems == [
        "index.html: has no <html> element; write a whole HTML document",
        "index.html: has no <body> element; write a whole HTML document",
    ]


def test_a_cut_off_document_is_reported() -> None:
    problems = messages(check_files({"index.html": "<html><body><script>let a = 1;"}))
    assert len(problems) == 1 and "unclosed <script>" in problems[0] and "cut off" in problems[0]


def test_missing_local_references_are_reported_and_others_ignored() -> None:
    page = (
        "<html><body><script src='missing.js'></script><link href='/abs.css' rel=stylesheet>"
        "<img src='img/logo%20x.png?v=1#f'><a href='sub/'>s</a><a href='../up.html'>u</a>"
        "<a href='{{ url }}'>t</a><a href='javascript:void(0)'>j</a><a href='//cdn.test/x.js'>c</a></body></html>"
    )
    files = {"index.html": page, "img/logo x.png": "x", "sub/index.html": "<p>x</p>"}
    problems = messages(check_files(files))
    assert problems == [
        'index.html: <script src="missing.js"> points to a file that is neither generated nor an attachment',
        'index.html: <link href="/abs.css"> is root-relative, which breaks on a project Pages site served under '
        "/<repo>/; use a relative path",
        'index.html: <a href="../up.html"> points outside the site',
    ]


def test_references_resolve_relative_to_the_page() -> None:
    files = {"index.html": "<html><body><a href='docs/a.html'>a</a></body></html>",
             "docs/a.html": "<p><a href='../index.html'>home</a> <img src='pic.png'></p>"}
    assert messages(check_files(files)) == [
        'docs/a.html: <img src="pic.png"> points to a file that is neither generated nor an attachment'
    ]


def test_a_generated_file_may_not_replace_an_attachment() -> None:
    problems = messages(check_files({**SITE, "data.png": "fake"}, attachments={"data.png"}))
    assert problems == ["data.png: has the name of an attachment, which is committed as-is; do not write it"]


@pytest.mark.parametrize(
    ("secret", "label"),
    [
        ("ghp_" + "a1B2" * 9, "GitHub token"),
        ("gho_" + "Z" * 36, "GitHub token"),
        ("ghs_" + "9" * 36, "GitHub token"),
        ("github_pat_" + "11ABCDEFG0" * 8, "fine-grained"),
        ("sk-or-v1-" + "0123456789abcdef" * 4, "OpenRouter"),
        ("AKIAIOSFODNN7EXAMPLE", "AWS"),
        ("-----BEGIN RSA PRIVATE KEY-----", "private key"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----", "private key"),
    ],
)
def test_secret_like_strings_are_rejected_without_quoting_them(secret: str, label: str) -> None:
    files = {**SITE, "app.js": f"// config\nconst token = '{secret}';\n"}
    problems = check_files(files, attachments={"data.png"})
    assert len(problems) == 1
    assert problems[0].path == "app.js" and label in problems[0].message and "line 2" in problems[0].message
    assert secret not in problems[0].message


def test_exact_secret_values_are_rejected() -> None:
    files = {**SITE, "app.js": "const s = 'hunter2-correct-horse';"}
    problems = messages(check_files(files, attachments={"data.png"}, secrets=["hunter2-correct-horse", None, ""]))
    assert problems == ["app.js: contains the value of a secret given to the action; remove it"]


def test_ordinary_text_is_not_a_secret() -> None:
    text = "task-list, desk-or-v1 ghp_short AKIA lowercase akiaiosfodnn7example"
    assert v.find_secrets(text) == []


def test_size_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(v, "MAX_FILE_BYTES", 100)
    monkeypatch.setattr(v, "MAX_TOTAL_BYTES", 250)
    monkeypatch.setattr(v, "MAX_FILES", 3)
    page = "<html><body></body></html>"
    files = {"index.html": page, "a.txt": "é" * 60, "b.txt": "x" * 90, "c.txt": "y" * 99}
    assert messages(check_files(files)) == [
        "(site): 4 files is more than the limit of 3",
        "a.txt: is 120 bytes, over the limit of 100 per file",
        f"(site): the files total {len(page) + 120 + 90 + 99} bytes, over the limit of 250",
    ]


def test_inline_scripts_are_found_with_their_kind() -> None:
    page = (
        "<html><body><script>a()</script><script src=x.js></script><script type=module>import x from './x.js'"
        "</script><script type='application/json'>{}</script></body></html>"
    )
    assert v.inline_scripts(page) == [(1, False, "a()"), (3, True, "import x from './x.js'")]


@needs_node
def test_node_reports_syntax_errors_in_files_and_inline_scripts() -> None:
    files = {
        "index.html": "<html><body><script>let ok = 1;</script><script>let = ;</script></body></html>",
        "app.js": "function f( {\n",
        "mod.js": "import { a } from './b.js';\nexport const c = a;\n",
        "lib.mjs": "export default 1;\n",
        "broken-module.js": "import { a } from './b.js';\nexport const = a;\n",
    }
    problems = v.check_js(files, node=NODE)
    assert [p.path for p in problems] == ["app.js", "broken-module.js", "index.html"]
    assert "Cannot use import" not in problems[1].message and "SyntaxError" in problems[1].message
    assert problems[0].message.startswith("JavaScript does not parse: app.js:2")
    assert "SyntaxError" in problems[0].message and "deployer-js-" not in problems[0].message
    assert problems[2].message.startswith("inline <script> #2 does not parse: index.html <script> #2:1")


def test_without_node_js_is_not_checked() -> None:
    assert v.check_js({"app.js": "function f( {"}, node=None) == []


@needs_node
def test_validate_runs_all_checks_but_skips_js_of_unsafe_paths() -> None:
    files = {**SITE, "app.js": "let = ;", "../x.js": "let = ;"}
    problems = validate(files, attachments={"data.png"}, node=NODE)
    assert [p.path for p in problems] == ["../x.js", "app.js"]


def test_redact_secrets_removes_patterns_and_values() -> None:
    text = "a ghp_" + "x" * 36 + " b my-own-secret c -----BEGIN PRIVATE KEY----- d"
    assert v.redact_secrets(text, ["my-own-secret", None]) == (
        "a [secret removed] b [secret removed] c [secret removed] d"
    )
    assert v.find_secrets(v.redact_secrets(text, ["my-own-secret"]), ["my-own-secret"]) == []


def test_json_files_must_parse() -> None:
    problems = messages(check_files({**SITE, "data.json": "{'a': 1}", "ok.json": "[1]"}, attachments={"data.png"}))
    assert len(problems) == 1 and problems[0].startswith("data.json: is not valid JSON (Expecting property name")
