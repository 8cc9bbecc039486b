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
    tree_parts,
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


def test_a_large_tree_goes_in_parts_and_only_text_too_large_alone_as_a_blob() -> None:
    # Quotes and newlines are escaped in the JSON body: 600 KB of them count as 1.2 MB.
    site = {"big.json": b'"\n' * 300_000, "data.csv": b"a" * 700_000, "index.html": b"<p>hi</p>", "x.png": b"\x89\x00",
            "z.csv": b"z" * 600_000}
    entries = tree_entries(site)
    by_path = {e.path: e for e in entries}
    assert by_path["big.json"].blob == site["big.json"]  # over the limit alone, as sent, though not on disk
    assert by_path["data.csv"].text is not None and by_path["z.csv"].text is not None
    assert by_path["x.png"].blob == b"\x89\x00"
    parts = tree_parts(entries)
    assert [[e.path for e in part] for part in parts] == [["big.json", "data.csv", "index.html", "x.png"], ["z.csv"]]
    assert all(tree_body_bytes(part) <= INLINE_TREE_BYTES for part in parts)
    assert tree_body_bytes(parts[0]) + tree_body_bytes(parts[1][:1]) > INLINE_TREE_BYTES  # cut only when needed


def test_small_sites_stay_inline_in_one_tree_call() -> None:
    site = {f"p{i}.html": b"<p>x</p>" * 1000 for i in range(50)}
    assert all(e.blob is None for e in tree_entries(site)) and len(tree_parts(tree_entries(site))) == 1
    parts = tree_parts(tree_entries(site), limit=100_000)
    assert len(parts) == 5 and all(tree_body_bytes(p) <= 100_000 for p in parts)
    assert [e.path for p in parts for e in p] == sorted(site)


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
