"""A package index on 127.0.0.1, for installing the action as a runner would without reaching PyPI.

The wheels are rebuilt from distributions installed here (which uv synced from uv.lock, so they are the locked
versions): each one's files under site-packages and its dist-info with a new RECORD. Their bytes differ from
PyPI's, so `repin` rewrites a hashed requirements file to their hashes, keeping every pin. The index is a PEP 503
simple index (`/simple/<name>/`, each link with its `#sha256=`), served by a thread until the `serve` block ends.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import http.server
import os
import re
import shutil
import sys
import threading
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import Distribution, distribution
from pathlib import Path

_NOT_IN_A_WHEEL = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json", "uv_cache.json"}


class PackageIndexError(RuntimeError):
    """This machine cannot give what was asked: a distribution at the locked version, a runner without uv."""


def canonicalize_name(name: str) -> str:
    """PEP 503's normalized project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rebuild_wheel(dist: Distribution, out: Path) -> Path:
    """The installed distribution as a wheel again (scripts outside site-packages are left to the installer)."""
    tags = [line.split(":", 1)[1].strip() for line in (dist.read_text("WHEEL") or "").splitlines()
            if line.startswith("Tag:")]
    parts = [sorted({tag.split("-")[i] for tag in tags}) for i in range(3)]
    name = str(canonicalize_name(dist.metadata["Name"])).replace("-", "_")
    info = f"{name}-{dist.version}.dist-info"
    wheel = out / f"{name}-{dist.version}-{'-'.join('.'.join(p) for p in parts)}.whl"
    records = []
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_STORED) as archive:
        for file in dist.files or []:
            arcname = file.as_posix()
            if arcname.startswith("..") or "__pycache__" in arcname or file.name in _NOT_IN_A_WHEEL:
                continue
            data = Path(str(dist.locate_file(file))).read_bytes()
            arcname = re.sub(r"^[^/]+\.dist-info/", f"{info}/", arcname)
            archive.writestr(arcname, data)
            records.append(f"{arcname},{_record_hash(data)},{len(data)}")
        archive.writestr(f"{info}/RECORD", "\n".join([*records, f"{info}/RECORD,,"]) + "\n")
    return wheel


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class PackageIndex:
    root: Path
    wheels: dict[str, Path]  # canonical name -> wheel file

    @contextmanager
    def serve(self) -> Iterator[str]:
        """The index's URL (`http://127.0.0.1:PORT/simple/`) while the block runs."""
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(self.root)))
        thread = threading.Thread(target=server.serve_forever, name="package-index", daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/simple/"
        finally:
            server.shutdown()
            server.server_close()


def write_index(root: Path, wheels: Mapping[str, Path]) -> PackageIndex:
    """Pages linking `wheels` (which may live elsewhere: they are linked into `root/files`)."""
    files = root / "files"
    files.mkdir(parents=True, exist_ok=True)
    for name, wheel in wheels.items():
        if wheel.parent != files:
            (files / wheel.name).unlink(missing_ok=True)
            (files / wheel.name).hardlink_to(wheel)
        page = root / "simple" / name
        page.mkdir(parents=True, exist_ok=True)
        (page / "index.html").write_text(f'<a href="/files/{wheel.name}#sha256={sha256(wheel)}">{wheel.name}</a>\n')
    return PackageIndex(root, {name: files / wheel.name for name, wheel in wheels.items()})


def index_of_installed(root: Path, versions: Mapping[str, str]) -> PackageIndex:
    """An index of these distributions as installed here; they must be installed at exactly these versions."""
    files = root / "files"
    files.mkdir(parents=True, exist_ok=True)
    wheels = {}
    for name, version in versions.items():
        dist = distribution(name)
        if dist.version != version:
            raise PackageIndexError(f"{name} {dist.version} is installed here, not {version}")
        wheels[str(canonicalize_name(name))] = rebuild_wheel(dist, files)
    return write_index(root, wheels)


def repin(requirements: str, wheels: Mapping[str, Path]) -> str:
    """A hashed requirements file with the same pins, each one's hashes replaced by its wheel's."""
    lines = []
    for line in requirements.splitlines():
        if line.lstrip().startswith("--hash="):
            continue
        lines.append(line)
        pin = re.match(r"([A-Za-z0-9._-]+)==", line)
        if pin:
            lines.append(f"    --hash=sha256:{sha256(wheels[canonicalize_name(pin[1])])}")
    return "\n".join(lines) + "\n"


NOWHERE = "http://127.0.0.1:9"  # the discard port: nothing listens, so a proxy there reaches no host


def runner_path(bin_dir: Path) -> str:
    """A PATH with python3 (this interpreter's base), bash and the system's tools, and no uv: GitHub's images."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    python = bin_dir / "python3"
    if not python.exists():
        python.symlink_to(os.path.realpath(sys.executable))
    path = os.pathsep.join([str(bin_dir), "/usr/bin", "/bin"])
    if shutil.which("uv", path=path):
        raise PackageIndexError(f"uv is installed system-wide ({shutil.which('uv', path=path)}): no runner without it")
    return path


def index_env(url: str) -> dict[str, str]:
    """pip's and uv's settings on a runner whose only network is the index at `url`: every other host goes through
    a proxy that answers nothing, and no configuration file of this machine adds another index."""
    return {"PIP_INDEX_URL": url, "PIP_CONFIG_FILE": os.devnull, "UV_DEFAULT_INDEX": url, "UV_NO_CONFIG": "1",
            **{name: NOWHERE for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")},
            "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}


def pinned_action(target: Path, files: Mapping[str, bytes], index: PackageIndex) -> Path:
    """The action's repository as a runner checks it out (`files`: path -> bytes), its action-requirements.txt
    pinned to `index`'s wheels."""
    for name, data in files.items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (target / "action-requirements.txt").write_text(repin(files["action-requirements.txt"].decode(), index.wheels))
    return target
