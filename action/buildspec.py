"""How a generated site declares a build step: a file `build.py` whose PEP 723 block has a `[tool.deployer]` table.

```
# /// script
# dependencies = ["openpyxl>=3.1"]
# [tool.deployer]
# outputs = ["data.json", "data.csv"]
# commit_script = true
# ///
```

PEP 723 (inline script metadata) is the standard way a single Python file names its dependencies; `uv` and `pipx`
read it, so the script runs the same way on a developer's machine. `[tool.*]` tables are PEP 723's place for tool
settings, so ours is `[tool.deployer]`: `outputs` (files the script writes, relative to the site root, committed
with the site; an output replaces a file of the same name, such as the one an earlier round committed) and
`commit_script` (default true: keep `build.py` in the repository; false when the brief says which files the
repository holds). A `build.py` without the `[tool.deployer]` table is an ordinary file of the site.

Pure: parsing and the limits only; running the script is `action/build.py`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass

from action.validate import path_problem

BUILD_SCRIPT = "build.py"
MAX_DEPENDENCIES = 10
MAX_OUTPUTS = 20
_REQUIREMENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9._,\s-]+\])?\s*([<>=!~]=?[^;@\s]+\s*,?\s*)*$")
# The reference regular expression of PEP 723.
_BLOCK_RE = re.compile(r"(?m)^# /// (?P<type>[a-zA-Z0-9-]+)$\s(?P<content>(^#(| .*)$\s)+)^# ///$")


class BuildSpecError(ValueError):
    """The build declaration is malformed; the message is phrased for the model to fix it."""


@dataclass(frozen=True)
class BuildSpec:
    script: str  # the script's text
    dependencies: tuple[str, ...]
    outputs: tuple[str, ...]
    commit_script: bool = True
    path: str = BUILD_SCRIPT


def script_metadata(script: str) -> dict[str, object] | None:
    """The `script` block of PEP 723 as TOML, or None when there is none; two blocks are an error (as in PEP 723)."""
    blocks = [m for m in _BLOCK_RE.finditer(script) if m.group("type") == "script"]
    if not blocks:
        return None
    if len(blocks) > 1:
        raise BuildSpecError("has more than one `# /// script` block; PEP 723 allows one")
    content = "".join(line[2:] if line.startswith("# ") else line[1:]
                      for line in blocks[0].group("content").splitlines(keepends=True))
    try:
        return tomllib.loads(content)
    except tomllib.TOMLDecodeError as exc:
        raise BuildSpecError(f"the `# /// script` block is not valid TOML ({exc})") from None


def find_build(files: Mapping[str, str]) -> BuildSpec | None:
    """The site's build declaration, or None when the site has no build step."""
    script = files.get(BUILD_SCRIPT)
    if script is None:
        return None
    meta = script_metadata(script) or {}
    tool = meta.get("tool")
    settings = tool.get("deployer") if isinstance(tool, dict) else None
    if settings is None:
        return None
    if not isinstance(settings, dict):
        raise BuildSpecError("[tool.deployer] must be a table")
    unknown = sorted(set(settings) - {"outputs", "commit_script"})
    if unknown:
        raise BuildSpecError(f"[tool.deployer] has unknown keys {unknown}; only `outputs` and `commit_script`")
    outputs = _strings(settings.get("outputs"), "[tool.deployer] outputs")
    if not outputs:
        raise BuildSpecError("[tool.deployer] outputs must list the files the script writes, e.g. [\"data.json\"]")
    if len(outputs) > MAX_OUTPUTS:
        raise BuildSpecError(f"[tool.deployer] outputs lists {len(outputs)} files, over the limit of {MAX_OUTPUTS}")
    for output in outputs:
        if (why := path_problem(output)) is not None:
            raise BuildSpecError(f"output {output!r}: {why}")
    commit_script = settings.get("commit_script", True)
    if not isinstance(commit_script, bool):
        raise BuildSpecError("[tool.deployer] commit_script must be true or false")
    dependencies = _strings(meta.get("dependencies", []), "dependencies")
    if len(dependencies) > MAX_DEPENDENCIES:
        raise BuildSpecError(f"declares {len(dependencies)} dependencies, over the limit of {MAX_DEPENDENCIES}")
    for requirement in dependencies:
        if not _REQUIREMENT_RE.match(requirement.strip()):
            raise BuildSpecError(f"dependency {requirement!r} is not a plain package requirement such as "
                                 "\"openpyxl>=3.1\" (URLs and paths are not allowed)")
    return BuildSpec(script, tuple(d.strip() for d in dependencies), tuple(outputs), commit_script)


def _strings(value: object, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BuildSpecError(f"{what} must be a list of strings")
    return list(value)
