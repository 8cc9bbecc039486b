"""What a branch build publishes: the source folder of a commit, as GitHub Pages' Jekyll leaves it.

Without a `.nojekyll` file, Jekyll leaves out every path with a segment starting with `_` or `.` (GitHub Docs,
"About GitHub Pages and Jekyll") and renders pages (`jekyll.py`); with `jekyll` off (the ideal world) only that
rule applies and Markdown is served as it is. The output is stored as a git tree, never on a branch.
"""

from __future__ import annotations

from sandbox.github import jekyll
from sandbox.github.state import Repository
from sandbox.github.store import MODE_TREE, GitRepo

BuildError = jekyll.BuildError


def hidden(path: str) -> bool:
    return any(part.startswith(("_", ".")) for part in path.split("/") if part)


def _files(git: GitRepo, tree: str) -> list[tuple[str, int, str]]:
    return [(path, mode, sha) for path, mode, sha in git.entries(tree, recursive=True) if mode != MODE_TREE]


def branch_site(repo: Repository, commit_sha: str, path: str, *, jekyll_on: bool,
                base_url: str = "") -> str | BuildError | None:
    """The tree to serve for `commit_sha` built from `path` ("/" or "/docs"); None when that folder is missing
    (the site serves 404s); a BuildError when Jekyll fails. `base_url` is the site's path (`site.baseurl`)."""
    git = repo.git
    commit = git.get_commit(commit_sha)
    if commit is None:
        return BuildError(f"The commit {commit_sha} does not exist.")
    found = git.lookup(commit.tree.decode(), path)
    if found is None or found[0] != MODE_TREE:
        return None
    root = found[1]
    if git.lookup(root, ".nojekyll") is not None:
        return root
    files = _files(git, root)
    if not jekyll_on:
        return git.build_tree(None, [(p, (mode, sha)) for p, mode, sha in files if not hidden(p)])

    def read(sha: str) -> bytes:
        blob = git.get_blob(sha)
        return blob.as_raw_string() if blob is not None else b""

    try:
        site = jekyll.build([(p, mode, sha) for p, mode, sha in files if not hidden(p)], read, base_url)
    except BuildError as exc:
        return exc
    return git.build_tree(None, [(p, (mode, sha if isinstance(sha, str) else git.add_blob(sha)))
                                 for p, mode, sha in site])
