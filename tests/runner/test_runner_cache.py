"""The runner's `actions/cache/restore` and `actions/cache/save` keep files between runs the way GitHub's cache does:
exact key, then prefixes, newest first; scoped by version (the paths) and ref; immutable entries; validated keys."""

from __future__ import annotations

from pathlib import Path

from runner_support import REPO, manual, options

from sandbox.runner import RunResult, load_workflow, run_workflow, workflow_dispatch
from sandbox.runner.cache import CacheStore, Scope, cache_version

WORKFLOW = ".github/workflows/cache.yml"


def run_cache(repo: Path, store: Path, tmp_path: Path, ref: str = "main", **inputs: str) -> RunResult:
    """One run of cache.yml on its own runner (a fresh workspace and RUNNER_TEMP), sharing the cache `store`."""
    runner_root = tmp_path / f"runner-{len(list(tmp_path.glob('runner-*')))}"
    payload = (manual(repo, WORKFLOW, inputs) if ref == "main"
               else workflow_dispatch(REPO, load_workflow(repo, WORKFLOW), ref, inputs, "octo"))
    return run_workflow(repo, WORKFLOW, "workflow_dispatch", payload,
                        options=options(cache_dir=store, runner_root=runner_root))


def report(result: RunResult) -> str:
    """The line the workflow prints after restoring: cache-hit, matched and primary keys, the restored file."""
    return next(line for line in result.log if line.startswith("hit="))


def test_a_saved_cache_is_restored_by_the_next_run_on_an_exact_key(repo: Path, tmp_path: Path) -> None:
    store = tmp_path / "caches"
    first = run_cache(repo, store, tmp_path, key="deps-v1", content="first")

    assert first.conclusion == "success", first.log
    assert report(first) == "hit= matched= primary=deps-v1 content=none"  # a miss leaves cache-hit unset
    assert "Cache not found for input keys: deps-v1" in first.log
    assert "Cache saved with key: deps-v1" in first.log

    second = run_cache(repo, store, tmp_path, key="deps-v1", content="second")

    assert second.conclusion == "success", second.log
    assert report(second) == "hit=true matched=deps-v1 primary=deps-v1 content=first"
    assert "Cache restored from key: deps-v1" in second.log
    assert second.step("save").outcome == "skipped"


def test_restore_keys_match_by_prefix_newest_first_and_say_it_was_no_hit(repo: Path, tmp_path: Path) -> None:
    store = tmp_path / "caches"
    run_cache(repo, store, tmp_path, key="deps-aaa", content="older")
    run_cache(repo, store, tmp_path, key="deps-bbb", content="newer")

    partial = run_cache(repo, store, tmp_path, key="deps-ccc", **{"restore-keys": "nothing-\ndeps-"})

    assert report(partial) == "hit=false matched=deps-bbb primary=deps-ccc content=newer"
    assert "Cache saved with key: deps-ccc" in partial.log  # not an exact hit, so the workflow saves its own
    # the key itself is also tried as a prefix before the restore keys
    by_prefix = run_cache(repo, store, tmp_path, key="deps-c")
    assert report(by_prefix) == "hit=false matched=deps-ccc primary=deps-c content=built"


def test_another_path_is_another_version_and_misses(repo: Path, tmp_path: Path) -> None:
    store = tmp_path / "caches"
    run_cache(repo, store, tmp_path, key="deps-v1")

    other = run_cache(repo, store, tmp_path, key="deps-v1", path="deps/")

    assert report(other).startswith("hit= matched= ")
    assert cache_version(["deps"], "zstd") != cache_version(["deps/"], "zstd")


def test_entries_are_immutable_and_a_second_save_only_warns(repo: Path, tmp_path: Path) -> None:
    result = run_cache(repo, tmp_path / "caches", tmp_path, key="deps-v1")

    again = result.step("again")
    assert again.outcome == "success"
    assert [a.message for a in again.annotations] == ["Cache save failed."]
    assert ("Failed to save: Unable to reserve cache with key deps-v1, another job may be creating this cache."
            in result.log)


def test_a_branch_sees_its_own_and_the_default_branch_caches_only(repo: Path, tmp_path: Path) -> None:
    store = tmp_path / "caches"
    run_cache(repo, store, tmp_path, ref="feature", key="deps-v1", content="feature")

    on_main = run_cache(repo, store, tmp_path, key="deps-v1", content="main")
    assert report(on_main).startswith("hit= ")  # the feature branch's entry is invisible to main

    on_feature = run_cache(repo, store, tmp_path, ref="feature", key="deps-v1")
    assert report(on_feature) == "hit=true matched=deps-v1 primary=deps-v1 content=feature"  # its own first
    on_other = run_cache(repo, store, tmp_path, ref="other", key="deps-v1")
    assert report(on_other) == "hit=true matched=deps-v1 primary=deps-v1 content=main"  # then main's


def test_bad_keys_fail_the_restore_and_only_warn_on_save(repo: Path, tmp_path: Path) -> None:
    result = run_cache(repo, tmp_path / "caches", tmp_path, key="a,b")

    assert result.conclusion == "failure"
    assert [a.message for a in result.step("restore").annotations] == [
        "Key Validation Error: a,b cannot contain commas."]

    long_key = "k" * 513
    result = run_cache(repo, tmp_path / "caches", tmp_path, key=long_key, **{"restore-keys": "x"})
    assert [a.message for a in result.step("restore").annotations] == [
        f"Key Validation Error: {long_key} cannot be larger than 512 characters."]


def test_the_store_finds_the_newest_matching_entry(tmp_path: Path) -> None:
    store = CacheStore(tmp_path / "caches")
    scope = Scope("octo/site", "refs/heads/main", "refs/heads/main", "push", tmp_path)
    for key in ("a-1", "a-2"):
        entry = store.reserve(scope, key, "v")
        assert entry is not None
        (entry / "cache.tgz").write_bytes(b"")
        store.finalize(entry, scope, key, "v", entry / "cache.tgz")

    assert store.reserve(scope, "a-1", "v") is None
    assert store.find(scope, ["a-"], "v")["key"] == "a-2"  # type: ignore[index]
    assert store.find(scope, ["a-1", "a-"], "v")["key"] == "a-1"  # type: ignore[index]
    assert store.find(scope, ["a-"], "other-version") is None
    assert store.find(Scope("octo/other", "refs/heads/main", "refs/heads/main", "push", tmp_path), ["a-"], "v") is None
