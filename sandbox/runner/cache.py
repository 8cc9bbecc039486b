"""The runner's Actions cache service, behind the `actions/cache/restore` and `actions/cache/save` stand-ins.

Kept on disk under one directory (the Actions service's data dir), so it outlives the runs, as GitHub's does.
How GitHub's behaves, and so this one:
- An entry is scoped to its repository, the ref that saved it, its key and its version; the version is the sha256 of
  the `path` lines as written, the compression method and a salt, so another path or compressor never matches
  (actions/cache README "Cache Version"; @actions/cache `getCacheVersion`).
- Restore looks for the key exactly, then for an entry whose key starts with it, then for each restore key as a
  prefix, the newest entry first, on the run's ref and then on the default branch ("Dependency caching reference",
  cache key matching). `cache-hit` is 'true' only for an exact match (compared ignoring case, as
  `isExactKeyMatch` does) and is not set at all on a miss (actions/cache#1466).
- Entries are immutable: saving a key that exists is "Unable to reserve cache with key ..., another job may be
  creating this cache." as an info line, and the step still succeeds; so are paths that match nothing (a warning).
- Keys: at most 512 characters, no commas, at most 10 with the restore keys (@actions/cache `checkKey`).
- The archive is a tar of the paths relative to the workspace (outside paths as `../`), extracted relative to the
  restoring job's workspace (@actions/cache `createTar`/`extractTar`), zstd-compressed when zstd is on PATH.
Not emulated: the 10 GB per repository limit and eviction after 7 days unused.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.runner.builtins import BuiltinCall, BuiltinResult

VERSION_SALT = "1.0"  # @actions/cache `versionSalt`
MAX_KEY_LENGTH = 512
MAX_KEYS = 10


class CacheValidationError(ValueError):
    """Bad keys or paths, in GitHub's words."""


@dataclass(frozen=True)
class Scope:
    """Where a run's cache lives and what it may read: its repository, its ref, and the default branch's."""

    repository: str
    ref: str
    default_ref: str
    event_name: str
    workspace: Path

    @classmethod
    def of(cls, call: BuiltinCall) -> Scope:
        event_path = call.env.get("GITHUB_EVENT_PATH", "")
        event: dict[str, Any] = json.loads(Path(event_path).read_text()) if event_path else {}
        default_branch = dict(event.get("repository") or {}).get("default_branch") or "main"
        return cls(call.repository, call.env.get("GITHUB_REF", ""), f"refs/heads/{default_branch}",
                   call.env.get("GITHUB_EVENT_NAME", ""), call.workspace)

    def unsupported(self) -> str | None:
        """`isValidEvent`: the cache is only for events tied to a ref."""
        if self.ref:
            return None
        return (f"[warning]Event Validation Error: The event type {self.event_name} is not supported because it's "
                "not tied to a branch or tag ref.")


def input_lines(value: str) -> list[str]:
    """A multi-line input as `getInputAsArray` reads it."""
    lines = (line.strip() for line in value.split("\n"))
    return [("!" + line[1:].lstrip()) if line.startswith("!") else line for line in lines if line]


def check_keys(keys: list[str]) -> None:
    if len(keys) > MAX_KEYS:
        raise CacheValidationError("Key Validation Error: Keys are limited to a maximum of 10.")
    for key in keys:
        if len(key) > MAX_KEY_LENGTH:
            raise CacheValidationError(f"Key Validation Error: {key} cannot be larger than 512 characters.")
        if "," in key:
            raise CacheValidationError(f"Key Validation Error: {key} cannot contain commas.")


def compression() -> str:
    return "zstd" if shutil.which("zstd") else "gzip"


def cache_version(paths: list[str], method: str) -> str:
    return hashlib.sha256("|".join([*paths, method, VERSION_SALT]).encode()).hexdigest()


def is_exact_match(key: str, found: str) -> bool:
    return found.casefold() == key.casefold()


def resolve_paths(paths: list[str], workspace: Path) -> list[str]:
    """The existing files and directories the patterns name, relative to the workspace (`../` when outside)."""
    included: list[str] = []
    excluded: set[str] = set()
    for pattern in paths:
        negate = pattern.startswith("!")
        expanded = os.path.expanduser(pattern[1:] if negate else pattern)
        absolute = expanded if os.path.isabs(expanded) else str(workspace / expanded)
        for match in sorted(glob.glob(absolute, recursive=True)):
            relative = os.path.relpath(match, workspace)
            if negate:
                excluded.add(relative)
            else:
                included.append(relative)
    return [p for p in dict.fromkeys(included) if p not in excluded]


class CacheStore:
    """Entries on disk: `<root>/<repository hash>/<entry hash>/{archive, entry.json}`; entry.json marks it final."""

    def __init__(self, root: Path):
        self.root = root

    def _repo_dir(self, repository: str) -> Path:
        return self.root / hashlib.sha256(repository.lower().encode()).hexdigest()[:16]

    def entries(self, repository: str) -> list[dict[str, Any]]:
        """Finished entries, newest first."""
        found = []
        for meta in self._repo_dir(repository).glob("*/entry.json"):
            entry = json.loads(meta.read_text())
            entry["dir"] = str(meta.parent)
            found.append(entry)
        return sorted(found, key=lambda e: float(e["created"]), reverse=True)

    def find(self, scope: Scope, keys: list[str], version: str) -> dict[str, Any] | None:
        entries = [e for e in self.entries(scope.repository) if e["version"] == version]
        for ref in dict.fromkeys([scope.ref, scope.default_ref]):
            on_ref = [e for e in entries if e["ref"] == ref]
            exact = next((e for e in on_ref if e["key"] == keys[0]), None)
            if exact is not None:
                return exact
            for prefix in keys:
                match = next((e for e in on_ref if str(e["key"]).startswith(prefix)), None)
                if match is not None:
                    return match
        return None

    def reserve(self, scope: Scope, key: str, version: str) -> Path | None:
        """A new entry's directory, or None when this key and version exist on this ref (entries are immutable)."""
        ident = hashlib.sha256(f"{scope.ref}\0{key}\0{version}".encode()).hexdigest()
        entry = self._repo_dir(scope.repository) / ident
        entry.parent.mkdir(parents=True, exist_ok=True)
        try:
            entry.mkdir()
        except FileExistsError:
            return None
        return entry

    @staticmethod
    def finalize(entry: Path, scope: Scope, key: str, version: str, archive: Path) -> None:
        meta = {"key": key, "version": version, "ref": scope.ref, "created": time.time(), "archive": archive.name}
        partial = entry / "entry.json.partial"
        partial.write_text(json.dumps(meta))
        partial.replace(entry / "entry.json")


def _tar(args: Iterable[str], method: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    program = "zstd -T0" if method == "zstd" else "gzip"
    return subprocess.run(["tar", "--posix", f"--use-compress-program={program}", *args], cwd=cwd,
                          capture_output=True, text=True, check=False, timeout=1800)


def _size(archive: Path) -> str:
    size = archive.stat().st_size
    return f"Cache Size: ~{round(size / 2**20)} MB ({size} B)"


def _open(call: BuiltinCall) -> tuple[Scope, CacheStore, str, list[str]] | BuiltinResult:
    """The run's scope, the store, the key and the paths; or why the cache does nothing (a log line, no failure)."""
    scope = Scope.of(call)
    problem = scope.unsupported() or (None if call.caches else f"{call.uses}: this runner has no cache service")
    if problem or call.caches is None:
        return BuiltinResult(log=[problem or ""])
    return scope, CacheStore(call.caches), call.inputs.get("key", ""), input_lines(call.inputs.get("path", ""))


def restore(call: BuiltinCall) -> BuiltinResult:
    """`actions/cache/restore`: outputs cache-hit, cache-primary-key, cache-matched-key."""
    opened = _open(call)
    if isinstance(opened, BuiltinResult):
        return opened
    scope, store, key, paths = opened
    missing = next((name for name, value in (("key", key), ("path", paths)) if not value), None)
    if missing:
        return BuiltinResult(error=f"Input required and not supplied: {missing}")
    result = BuiltinResult(outputs={"cache-primary-key": key})
    keys = [key, *input_lines(call.inputs.get("restore-keys", ""))]
    try:
        check_keys(keys)
    except CacheValidationError as exc:
        result.error = str(exc)
        return result
    method = compression()
    entry = store.find(scope, keys, cache_version(paths, method))
    if entry is None:
        if call.inputs.get("fail-on-cache-miss", "").lower() == "true":
            result.error = f"Failed to restore cache entry. Exiting as fail-on-cache-miss is set. Input key: {key}"
        else:
            result.log.append(f"Cache not found for input keys: {', '.join(keys)}")
        return result
    found = str(entry["key"])
    result.outputs.update({"cache-matched-key": found, "cache-hit": str(is_exact_match(key, found)).lower()})
    if call.inputs.get("lookup-only", "").lower() == "true":
        result.log.append(f"Cache found and can be restored from key: {found}")
        return result
    archive = Path(entry["dir"]) / str(entry["archive"])
    result.log.append(_size(archive))
    scope.workspace.mkdir(parents=True, exist_ok=True)
    done = _tar(["-xf", str(archive), "-P", "-C", str(scope.workspace)], method, scope.workspace)
    if done.returncode != 0:  # a failed download or extraction is a warning and a miss, never a failed step
        return BuiltinResult(outputs={"cache-primary-key": key}, warnings=[f"Failed to restore: {done.stderr.strip()}"])
    result.log += ["Cache restored successfully", f"Cache restored from key: {found}"]
    return result


def save(call: BuiltinCall) -> BuiltinResult:
    """`actions/cache/save`: never fails the step; a cache that could not be saved is a warning (`saveOnlyRun`)."""
    opened = _open(call)
    if isinstance(opened, BuiltinResult):
        return opened
    scope, store, key, paths = opened
    if not key:
        return BuiltinResult(log=["[warning]Key is not specified."])
    failed = BuiltinResult(warnings=["Cache save failed."])
    try:
        if not paths:
            raise CacheValidationError("Input required and not supplied: path")
        check_keys([key])
        files = resolve_paths(paths, scope.workspace)
        if not files:
            raise CacheValidationError("Path Validation Error: Path(s) specified in the action for caching do(es) "
                                       "not exist, hence no cache is being saved.")
    except CacheValidationError as exc:
        failed.log.append(f"[warning]{exc}")
        return failed
    method = compression()
    version = cache_version(paths, method)
    entry = store.reserve(scope, key, version)
    if entry is None:
        failed.log.append(f"Failed to save: Unable to reserve cache with key {key}, another job may be creating "
                          "this cache.")
        return failed
    archive = entry / ("cache.tzst" if method == "zstd" else "cache.tgz")
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as manifest:
        manifest.write("\n".join(files) + "\n")
    try:
        done = _tar(["-cf", str(archive), "-P", "-C", str(scope.workspace), "--files-from", manifest.name],
                    method, scope.workspace)
    finally:
        os.unlink(manifest.name)
    if done.returncode != 0:
        shutil.rmtree(entry, ignore_errors=True)
        failed.warnings.insert(0, f"Failed to save: {done.stderr.strip()}")
        return failed
    store.finalize(entry, scope, key, version, archive)
    return BuiltinResult(log=[_size(archive), f"Cache saved with key: {key}"])
