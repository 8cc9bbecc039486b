"""Planning a commit: text inline, binary as blobs, trailers that find a round's commit again."""

from action.plan import (
    INLINE_TREE_BYTES,
    as_text,
    commit_message,
    is_round_commit,
    plan_commit,
    repo_description,
    trailers,
    tree_body_bytes,
    tree_entries,
)
from deployer.brief import parse_brief


def make_brief(**over: object):
    data = {
        "email": "a@example.com", "task": "demo-1", "round": 2, "nonce": "n-123", "brief": "Build a thing.\nNow.",
        "evaluation_url": "http://127.0.0.1:1/notify",
    }
    data.update(over)
    return parse_brief(data, require_secret=False)


def test_text_inline_binary_as_blob_in_path_order() -> None:
    plan = plan_commit(make_brief(), {"b.png": b"\x89PNG\x00\x01", "a.html": "é<p>".encode(), "z.bin": b"\xff\xfe"})
    assert [e.path for e in plan.entries] == ["a.html", "b.png", "z.bin"]
    assert plan.entries[0].text == "é<p>" and plan.entries[0].blob is None
    assert [e.path for e in plan.blob_entries] == ["b.png", "z.bin"]


def test_large_text_goes_as_blobs_until_the_tree_body_fits() -> None:
    # Quotes and newlines are escaped in the JSON body: 300 KB of them count as 600 KB.
    site = {"big.json": b'"\n' * 300_000, "data.csv": b"a" * 700_000, "index.html": b"<p>hi</p>", "x.png": b"\x89\x00"}
    entries = {e.path: e for e in tree_entries(site)}
    assert entries["big.json"].blob == site["big.json"]  # the largest as sent, though not on disk
    assert entries["data.csv"].text is not None and entries["index.html"].text == "<p>hi</p>"
    assert entries["x.png"].blob == b"\x89\x00"
    assert tree_body_bytes(entries.values()) <= INLINE_TREE_BYTES


def test_small_sites_stay_inline_in_one_tree_call() -> None:
    site = {f"p{i}.html": b"<p>x</p>" * 1000 for i in range(50)}
    assert all(e.blob is None for e in tree_entries(site))
    assert [e.path for e in tree_entries(site, inline_limit=100_000) if e.blob is not None] != []


def test_as_text_keeps_bytes_exact_or_refuses() -> None:
    assert as_text(b"line\r\nline\n") == "line\r\nline\n"
    assert as_text(b"a\x00b") is None
    assert as_text(b"\xc3") is None


def test_trailers_round_trip_and_identify_the_round() -> None:
    brief = make_brief()
    message = commit_message(brief)
    assert trailers(message) == {"Deployer-Task": "demo-1", "Deployer-Round": "2", "Deployer-Nonce": "n-123"}
    assert is_round_commit(message, brief)
    assert not is_round_commit(message, make_brief(nonce="other"))
    assert not is_round_commit(message, make_brief(round=3))
    assert not is_round_commit("Initial commit", brief)


def test_message_summarises_the_brief_on_one_line() -> None:
    message = commit_message(make_brief(brief="x " * 400))
    body = message.split("\n\n")[1]
    assert "\n" not in body and len(body) <= 500


def test_description_has_no_control_characters() -> None:
    text = repo_description(make_brief(brief="Tabs\tand\nnew lines\x07 and a long tail " + "y" * 400))
    assert text.isprintable() and len(text) <= 300 and text.startswith("Tabs and new lines")
