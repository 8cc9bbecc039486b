"""Workflow commands, outputs and the redacting log, checked against the formats GitHub's runner parses."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from action import gha


def test_escapes_follow_actions_core() -> None:
    assert gha.escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert gha.escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_error_command_escapes_title_and_message() -> None:
    line = gha.command("error", "stage failed:\nline 2", title="generate: model, x")
    assert line == "::error title=generate%3A model%2C x::stage failed:%0Aline 2"
    assert gha.command("endgroup") == "::endgroup::"


def test_single_line_output_and_heredoc_for_multiline(tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {"GITHUB_OUTPUT": str(out)}
    assert gha.set_output("repo-url", "https://example.test/a", env)
    assert gha.set_output("notes", "one\ntwo", env)
    lines = out.read_text().splitlines()
    assert lines[0] == "repo-url=https://example.test/a"
    name, _, delimiter = lines[1].partition("<<")
    assert name == "notes" and delimiter.startswith("ghadelimiter_") and len(delimiter) > 20
    assert lines[2:] == ["one", "two", delimiter]


def test_output_outside_a_runner_writes_nothing() -> None:
    assert gha.set_output("x", "y", {}) is False
    assert gha.append_summary("# hi", {}) is False


@pytest.mark.parametrize("name", ["", "a=b", "a\nb", "a<<b"])
def test_bad_output_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="output name"):
        gha.output_entry(name, "v")


def test_delimiter_inside_the_value_is_refused() -> None:
    with pytest.raises(ValueError, match="delimiter"):
        gha.output_entry("x", "a\nEOF\nb", delimiter="EOF")


def test_summary_is_appended(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    env = {"GITHUB_STEP_SUMMARY": str(path)}
    gha.append_summary("# Deploy", env)
    gha.append_summary("| a | b |\n", env)
    assert path.read_text() == "# Deploy\n| a | b |\n"


def test_log_masks_then_redacts_every_line() -> None:
    buf = io.StringIO()
    log = gha.Log(buf)
    log.mask("sk-or-v1-abcdef")
    log.mask("ghp_" + "x" * 36)
    log.mask("")
    log.info("key sk-or-v1-abcdef\nand token ghp_" + "x" * 36 + " end")
    log.error("auth failed with sk-or-v1-abcdef", title="llm sk-or-v1-abcdef")
    lines = buf.getvalue().splitlines()
    assert lines[0] == "::add-mask::sk-or-v1-abcdef"
    assert lines[1] == "::add-mask::ghp_" + "x" * 36
    assert lines[2:] == [
        "key ***",
        "and token *** end",
        "::error title=llm ***::auth failed with ***",
    ]


def test_multiline_secret_is_masked_line_by_line() -> None:
    buf = io.StringIO()
    log = gha.Log(buf)
    log.mask("-----BEGIN KEY-----\nAAAA\n-----END KEY-----")
    masks = [line for line in buf.getvalue().splitlines() if line.startswith("::add-mask::")]
    assert "::add-mask::AAAA" in masks
    assert "::add-mask::-----BEGIN KEY-----%0AAAAA%0A-----END KEY-----" in masks
    log.info("x AAAA y")
    assert buf.getvalue().splitlines()[-1] == "x *** y"


def test_longer_secret_is_redacted_whole() -> None:
    buf = io.StringIO()
    log = gha.Log(buf)
    log.mask("abc")
    log.mask("abcdef")
    log.info("abcdef abc")
    assert buf.getvalue().splitlines()[-1] == "*** ***"


def test_group_closes_even_when_the_body_fails() -> None:
    buf = io.StringIO()
    log = gha.Log(buf)
    with pytest.raises(RuntimeError), log.group("Generate"):
        log.info("inside")
        raise RuntimeError("boom")
    assert buf.getvalue().splitlines() == ["::group::Generate", "inside", "::endgroup::"]
