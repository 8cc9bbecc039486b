"""Pages artifacts: the gzipped tar `actions/upload-pages-artifact` makes, checked as GitHub checks it and stored
as a git tree of the repository (never on a branch) for the deployment that publishes it."""

from __future__ import annotations

import io
import tarfile

from sandbox.github.store import MODE_FILE, GitRepo

MAX_ARTIFACT_BYTES = 100 * 1024 * 1024


class ArtifactError(ValueError):
    pass


def artifact_files(data: bytes) -> dict[str, bytes]:
    """The files of a Pages artifact tar, as GitHub accepts it: regular files and directories only, no links
    ("must not contain any symbolic or hard links", actions/upload-pages-artifact), paths inside the archive, at
    most MAX_ARTIFACT_BYTES unpacked."""
    files: dict[str, bytes] = {}
    total = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            for member in archive:
                name = member.name.removeprefix("./").strip("/")
                if member.isdir() or not name:
                    continue
                if not member.isfile():
                    raise ArtifactError(f"{name} is a link or special file; the artifact must hold regular files only")
                if name.startswith("/") or ".." in name.split("/"):
                    raise ArtifactError(f"{name} is outside the archive")
                total += member.size
                if total > MAX_ARTIFACT_BYTES:
                    raise ArtifactError(f"the artifact is over {MAX_ARTIFACT_BYTES} bytes unpacked")
                extracted = archive.extractfile(member)
                files[name] = extracted.read() if extracted is not None else b""
    except tarfile.TarError as exc:
        raise ArtifactError(f"not a tar archive: {exc}") from None
    return files


def artifact_tree(git: GitRepo, data: bytes) -> str:
    """The artifact's files as a tree of `git`; ArtifactError says what GitHub would refuse."""
    files = artifact_files(data)
    return git.build_tree(None, [(path, (MODE_FILE, git.add_blob(content))) for path, content in files.items()])
