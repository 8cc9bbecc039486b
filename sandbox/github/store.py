"""Real git repositories for the emulator: one bare repository per `<data>/<owner>/<repo>.git`, via dulwich.

Objects are content-addressed and written before any ref moves; a ref moves with a compare-and-swap, so a crash or
a concurrent writer never leaves a branch pointing at a half-written commit. SHAs are exactly what git computes,
so `git clone` (served by `git http-backend`) sees the same history the API shows.
"""

from __future__ import annotations

import re
import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dulwich.errors import NotTreeError, RefFormatError
from dulwich.objects import Blob, Commit, ObjectID, ShaFile, Tree
from dulwich.refs import Ref, check_ref_format
from dulwich.repo import Repo

MODE_FILE = 0o100644
MODE_EXEC = 0o100755
MODE_TREE = 0o040000
MODE_LINK = 0o120000
MODE_SUBMODULE = 0o160000
MODES = {"100644": MODE_FILE, "100755": MODE_EXEC, "040000": MODE_TREE, "120000": MODE_LINK, "160000": MODE_SUBMODULE}
_HEX_SHA = re.compile(r"[0-9a-f]{40}")
TYPE_OF_MODE = {MODE_FILE: "blob", MODE_EXEC: "blob", MODE_LINK: "blob", MODE_TREE: "tree", MODE_SUBMODULE: "commit"}


def oid(sha: str | bytes) -> ObjectID:
    """dulwich's typed object id from a hex SHA."""
    return ObjectID(sha.encode() if isinstance(sha, str) else sha)


def ref_name(name: str) -> Ref:
    return Ref(name.encode())


def mode_str(mode: int) -> str:
    return f"{mode:06o}"


@dataclass(frozen=True)
class Identity:
    name: str
    email: str
    time: int
    tz: int = 0

    def raw(self) -> bytes:
        return f"{self.name} <{self.email}>".encode()


class BadPath(ValueError):
    pass


def split_path(path: str) -> list[str]:
    """A tree path as GitHub accepts it: relative, no empty, `.`, `..` or `.git` components."""
    parts = path.split("/")
    if not path or any(p in ("", ".", "..") or p.lower() == ".git" for p in parts) or "\0" in path:
        raise BadPath(path)
    return parts


Node = dict[str, "tuple[int, ObjectID] | Node"]


class GitRepo:
    """One bare repository. Every method is synchronous and short: handlers call it inline."""

    def __init__(self, path: Path):
        self.path = path
        self.repo = Repo(str(path))
        self.store = self.repo.object_store

    @classmethod
    def create(cls, path: Path, default_branch: str) -> GitRepo:
        path.parent.mkdir(parents=True, exist_ok=True)
        Repo.init_bare(str(path), mkdir=True, default_branch=default_branch.encode()).close()
        # `git http-backend` serves only repositories it may export.
        (path / "git-daemon-export-ok").touch()
        return cls(path)

    def close(self) -> None:
        self.repo.close()

    def destroy(self) -> None:
        self.close()
        shutil.rmtree(self.path, ignore_errors=True)

    # objects -------------------------------------------------------------------------------------------------
    def get(self, sha: str) -> ShaFile | None:
        if not _HEX_SHA.fullmatch(sha):
            return None
        try:
            return self.store[oid(sha)]
        except KeyError:
            return None

    def get_blob(self, sha: str) -> Blob | None:
        obj = self.get(sha)
        return obj if isinstance(obj, Blob) else None

    def get_commit(self, sha: str) -> Commit | None:
        obj = self.get(sha)
        return obj if isinstance(obj, Commit) else None

    def get_tree(self, sha: str) -> Tree | None:
        obj = self.get(sha)
        return obj if isinstance(obj, Tree) else None

    def add_blob(self, data: bytes) -> str:
        blob = Blob.from_string(data)
        self.store.add_object(blob)
        return blob.id.decode()

    def build_tree(self, base_tree: str | None, changes: list[tuple[str, tuple[int, str] | None]]) -> str:
        """Apply `changes` (path -> (mode, sha), or None to delete) on top of `base_tree`; return the new tree SHA."""
        root: Node = self._expand(oid(base_tree)) if base_tree else {}
        for path, value in changes:
            parts = split_path(path)
            node = root
            for part in parts[:-1]:
                child = node.get(part)
                if isinstance(child, tuple) and child[0] == MODE_TREE:
                    child = self._expand(child[1])
                elif not isinstance(child, dict):
                    if value is None:
                        break
                    child = {}
                node[part] = child
                node = child
            else:
                if value is None:
                    node.pop(parts[-1], None)
                else:
                    node[parts[-1]] = (value[0], oid(value[1]))
        return self._write(root).decode()

    def _expand(self, sha: ObjectID) -> Node:
        tree = self.store[sha]
        if not isinstance(tree, Tree):
            raise NotTreeError(sha)
        return {e.path.decode(): (e.mode, e.sha) for e in tree.items()}

    def _write(self, node: Node) -> ObjectID:
        tree = Tree()
        for name, value in node.items():
            if isinstance(value, dict):
                if not value:
                    continue  # git has no empty directories
                tree.add(name.encode(), MODE_TREE, self._write(value))
            else:
                tree.add(name.encode(), value[0], value[1])
        self.store.add_object(tree)
        return tree.id

    def add_commit(self, tree: str, parents: list[str], message: str, author: Identity, committer: Identity) -> str:
        commit = Commit()
        commit.tree = oid(tree)
        commit.parents = [oid(p) for p in parents]
        commit.author = author.raw()
        commit.author_time = author.time
        commit.author_timezone = author.tz
        commit.committer = committer.raw()
        commit.commit_time = committer.time
        commit.commit_timezone = committer.tz
        commit.encoding = b"UTF-8"
        commit.message = message.encode()
        self.store.add_object(commit)
        return commit.id.decode()

    # refs ----------------------------------------------------------------------------------------------------
    def ref(self, name: str) -> str | None:
        value = self.repo.refs.get_peeled(ref_name(name)) or self.repo.refs.as_dict().get(ref_name(name))
        return value.decode() if value else None

    def refs(self) -> dict[str, str]:
        return {k.decode(): v.decode() for k, v in self.repo.refs.as_dict().items() if k != b"HEAD"}

    def is_empty(self) -> bool:
        return not any(name.startswith("refs/heads/") for name in self.refs())

    def create_ref(self, name: str, sha: str) -> bool:
        """False when the name is taken, or clashes with an existing ref's directory (`a` vs `a/b`)."""
        try:
            return self.repo.refs.add_if_new(ref_name(name), oid(sha))
        except (OSError, RefFormatError):
            return False

    def move_ref(self, name: str, old: str | None, new: str) -> bool:
        """Compare-and-swap: False when the ref is no longer `old` (someone else moved it)."""
        return self.repo.refs.set_if_equals(ref_name(name), oid(old) if old else None, oid(new))

    def set_head(self, branch: str) -> None:
        self.repo.refs.set_symbolic_ref(ref_name("HEAD"), ref_name(f"refs/heads/{branch}"))

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        want = ancestor.encode()
        seen: set[bytes] = set()
        todo = [oid(descendant)]
        while todo:
            sha = todo.pop()
            if sha == want:
                return True
            if sha in seen:
                continue
            seen.add(sha)
            obj = self.store[sha]
            if isinstance(obj, Commit):
                todo.extend(obj.parents)
        return False

    def walk(self, head: str, path: str | None = None) -> Iterator[Commit]:
        """Commits reachable from `head`, newest first (git log order); with `path`, only those touching it."""
        paths = [path.strip("/").encode()] if path and path.strip("/") else None
        for entry in self.repo.get_walker(include=[oid(head)], paths=paths):
            yield entry.commit

    # reading trees -------------------------------------------------------------------------------------------
    def lookup(self, tree_sha: str, path: str) -> tuple[int, str] | None:
        """(mode, sha) of `path` inside a tree; the tree itself for the empty path."""
        mode, sha = MODE_TREE, oid(tree_sha)
        for part in (p for p in path.strip("/").split("/") if p):
            tree = self.store[sha]
            if not isinstance(tree, Tree):
                return None
            try:
                mode, sha = tree[part.encode()]
            except KeyError:
                return None
        return mode, sha.decode()

    def entries(self, tree_sha: str, recursive: bool = False, prefix: str = "") -> Iterator[tuple[str, int, str]]:
        tree = self.store[oid(tree_sha)]
        assert isinstance(tree, Tree)
        for e in tree.iteritems():
            path = prefix + e.path.decode()
            yield path, e.mode, e.sha.decode()
            if recursive and stat.S_ISDIR(e.mode):
                yield from self.entries(e.sha.decode(), True, path + "/")

    def tree_of(self, commit_sha: str | None) -> str | None:
        commit = self.get_commit(commit_sha) if commit_sha else None
        return commit.tree.decode() if commit is not None else None

    def changed_under(self, old_tree: str | None, new_tree: str | None, prefix: str) -> str | None:
        """The first path under `prefix` that differs between two trees (None when none does)."""
        def subtree(tree_sha: str | None) -> dict[str, str]:
            found = self.lookup(tree_sha, prefix) if tree_sha and self.get_tree(tree_sha) is not None else None
            if found is None or found[0] != MODE_TREE:
                return {}
            return {path: sha for path, mode, sha in self.entries(found[1], recursive=True) if mode != MODE_TREE}

        before, after = subtree(old_tree), subtree(new_tree)
        if before == after:
            return None
        return next(f"{prefix}/{p}" for p in sorted(before.keys() | after.keys()) if before.get(p) != after.get(p))

    def size_of(self, sha: str) -> int:
        obj = self.store[oid(sha)]
        return obj.raw_length() if isinstance(obj, Blob) else 0


def valid_ref_name(ref: str) -> bool:
    """GitHub's rule for create-ref: starts with `refs/`, at least two slashes, and a name git accepts."""
    return ref.startswith("refs/") and ref.count("/") >= 2 and check_ref_format(ref_name(ref))
