"""The varied style: a draft written out the way real models write, in one of the shapes they are known for.

Pure; every choice comes from the Dice (seed and request), so a request always gets the same shape. Each shape
still carries exactly the intended files or edits for a parser as careful as aider's editblock coder (the shapes
and who reports them: issue 15; sandbox/openrouter/README.md shows one example of each):

- whole files: `<file path>` blocks with prose around them; a fence after `1. **app.js**`, after
  ``Here is `app.js`:``, after `#### app.js (logic)`; a fence whose info string names the file (```` ```html
  index.html ````); an orphan `</think>` with a draft block before it (the draft is not the file: it differs);
- edits: reasoning before the blocks; the file named only in prose before a fenced block; a new file as a named
  fence; a SEARCH (and its REPLACE) whose indentation drifted; a SEARCH with `...` elisions (aider's form: the
  REPLACE has them in the same places, the text between stays); a block sent twice (the second is already applied);
  one redundant block missing its `=======` among good ones;
- check translations and round plans: the JSON with prose around it, or in a ```` ```json ```` fence.
A shape that does not fit the draft (an elision needs unique context lines, a named new file needs a new file)
falls back to reasoning before plain blocks.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from sandbox.openrouter.blocks import Block, NewFile, apply_strictly, block_text, changes, file_block
from sandbox.openrouter.dice import Dice
from sandbox.openrouter.generator import Draft

FILE_SHAPES = ("file-tags", "numbered-bold", "here-is", "heading", "fence-info", "think-draft")
EDIT_SHAPES = ("reasoning", "fence-in-prose", "new-file-fence", "indent-drift", "elision", "already-applied",
               "missing-marker")
CHECK_SHAPES = ("prose-json", "fenced-json")
LANGUAGES = {"html": "html", "htm": "html", "css": "css", "js": "javascript", "mjs": "javascript", "json": "json",
             "md": "markdown", "py": "python", "yml": "yaml", "yaml": "yaml", "csv": "csv", "svg": "xml"}
PURPOSES = {"html": "markup", "css": "styles", "js": "logic", "json": "data", "csv": "data", "md": "docs"}

INTROS = (
    "Here's the complete site for this brief.",
    "Sure! Below are all the files for the site.",
    "I'll build this as a small static site: the page, its styles and a script that reads the data.",
)
OUTROS = (
    "Every figure is recomputed from the data when the page loads, so the page stays correct if the data changes.",
    "Let me know if you'd like any changes to the layout.",
    "The page works without a build step; open index.html to try it.",
)
EDIT_INTROS = (
    "Looking at the current files, only a few places need to change. I'll keep everything else as it is.",
    "To do this I need to touch the page and its script; the rest stays untouched.",
)
JSON_WORDS = {  # the words around a JSON answer: (before, after)
    "checks": ("Here are the checks translated to JavaScript", "Each expression is true when its check holds."),
    "plan": ("Here is my plan for this round", "The site will follow this plan."),
}
THINKING = ("The brief wants a single page. Let me sketch the markup first and check it against the checks.\n"
            "Rough draft of the page:")


@dataclass(frozen=True)
class Written:
    text: str
    shape: str


def write(draft: Draft, dice: Dice) -> Written:
    """The draft in a shape the dice pick (JSON structured outputs stay bare: the schema decides their form)."""
    if draft.kind in ("checks", "plan"):
        shape = dice.pick(f"{draft.kind}-shape", CHECK_SHAPES)
        intro, outro = JSON_WORDS[draft.kind]
        return Written(_json_in_prose(draft.text, shape, intro, outro), shape)
    if draft.kind == "json":
        return Written(draft.text, "json")
    if draft.kind == "edits":
        return _edits(draft, dice)
    shape = dice.pick("files-shape", FILE_SHAPES)
    return Written(_files(draft.files, shape, dice), shape)


def run_long(text: str, max_tokens: int) -> str:
    """The answer behind a verbose preamble, long enough that a cut at `max_tokens` falls in the first half of the
    answer itself (so the rest needs a continuation)."""
    target = max_tokens * 4 - len(text) // 2
    lines = ["Before writing the files, let me go over the brief and every check once more."]
    n = 0
    while sum(len(line) + 1 for line in lines) < target:
        n += 1
        lines.append(f"- Point {n}: the figure comes from the data at load time, and the markup keeps every id the "
                     "checks read.")
    return "\n".join(lines) + "\n\n" + text if target > 0 else text


def language(path: str) -> str:
    return LANGUAGES.get(path.rsplit(".", 1)[-1].lower(), "text")


def fenced(content: str, info: str) -> str:
    fence = "````" if "```" in content else "```"
    return f"{fence}{info}\n{content}{'' if content.endswith(chr(10)) else chr(10)}{fence}"


def _json_in_prose(text: str, shape: str, intro: str, outro: str) -> str:
    pretty = json.dumps(json.loads(text), indent=2)
    if shape == "fenced-json":
        return f"{intro}:\n\n{fenced(pretty, 'json')}\n"
    return f"{intro}:\n\n{pretty}\n\n{outro}\n"


def _files(files: dict[str, str], shape: str, dice: Dice) -> str:
    intro, outro = dice.pick("intro", INTROS), dice.pick("outro", OUTROS)
    if shape == "think-draft":
        inner = dice.pick("think-inner", FILE_SHAPES[:-1])
        draft = _rough_draft(files.get("index.html", ""))
        return (f"{THINKING}\n\n{fenced(draft, 'html index.html')}\n\nThat covers the layout; now the real files.\n"
                f"</think>\n\n{_files(files, inner, dice)}")
    writers: dict[str, Callable[[int, str, str], str]] = {
        "file-tags": lambda _n, path, content: file_block(path, content),
        "numbered-bold": lambda n, path, content: f"{n}. **{path}**\n\n{fenced(content, language(path))}",
        "here-is": lambda _n, path, content: f"Here is `{path}`:\n\n{fenced(content, language(path))}",
        "heading": lambda _n, path, content: (
            f"#### {path} ({PURPOSES.get(path.rsplit('.', 1)[-1], 'file')})\n\n{fenced(content, language(path))}"),
        "fence-info": lambda _n, path, content: fenced(content, f"{language(path)} {path}"),
    }
    body = "\n\n".join(writers[shape](n, path, content) for n, (path, content) in enumerate(files.items(), 1))
    return f"{intro}\n\n{body}\n\n{outro}\n"


def _rough_draft(page: str) -> str:
    """A first sketch of the page, which the real answer then replaces: never the file itself."""
    title = page.split("<title>", 1)[-1].split("</title>", 1)[0] if "<title>" in page else "App"
    return (f"<!doctype html>\n<html>\n<head><title>{title} (draft)</title></head>\n<body>\n"
            "  <h1>TODO: heading</h1>\n  <div id=\"app\">loading...</div>\n</body>\n</html>\n")


def _edits(draft: Draft, dice: Dice) -> Written:
    found = changes(draft.old, draft.files, draft.outlines)
    blocks = [c for c in found if isinstance(c, Block)]
    new = [c for c in found if isinstance(c, NewFile)]
    shape = dice.pick("edits-shape", EDIT_SHAPES)
    text = _edit_shape(shape, draft, blocks, new, dice) if blocks else None
    if text is None:
        shape, text = "reasoning", _edit_text(blocks, new, dice)
    return Written(text, shape)


def _edit_shape(shape: str, draft: Draft, blocks: list[Block], new: list[NewFile], dice: Dice) -> str | None:
    """The edits in `shape`, or None when that shape does not fit these edits."""
    if shape == "reasoning":
        return _edit_text(blocks, new, dice)
    if shape == "fence-in-prose":
        parts = [f"In `{b.path}`, change this part:\n\n{fenced(block_text(b).split(chr(10), 1)[1], language(b.path))}"
                 for b in blocks]
        return _edit_text([], new, dice, head=parts)
    if shape == "new-file-fence":
        if not new:
            return None
        named = [f"And the new file:\n\n{fenced(f.content, f'{language(f.path)} {f.path}')}" for f in new]
        return _edit_text(blocks, [], dice, tail=named)
    if shape == "indent-drift":
        drifted = [_dedent(b) for b in blocks]
        if all(d is None for d in drifted):
            return None
        at = next(i for i, d in enumerate(drifted) if d is not None)
        return _edit_text([*blocks[:at], _raw(drifted[at]), *blocks[at + 1:]], new, dice)
    if shape == "elision":
        return _elided(draft, blocks, new, dice)
    repeat = _redundant(draft, blocks)
    if repeat is None:
        return None
    if shape == "already-applied":
        return _edit_text([*blocks, repeat], new, dice)
    broken = block_text(repeat).replace("=======\n", "", 1)
    return _edit_text([blocks[0], _raw(broken), *blocks[1:]], new, dice)


@dataclass(frozen=True)
class _Raw:
    """Block text written as is (drifted, elided or broken on purpose)."""

    text: str


def _raw(text: str | None) -> _Raw:
    assert text is not None
    return _Raw(text)


def _edit_text(blocks: list[Block | _Raw], new: list[NewFile], dice: Dice, *, head: list[str] | None = None,
               tail: list[str] | None = None) -> str:
    parts = [dice.pick("edit-intro", EDIT_INTROS), *(head or [])]
    parts += [b.text if isinstance(b, _Raw) else block_text(b) for b in blocks]
    parts += [file_block(f.path, f.content) for f in new]
    parts += tail or []
    return "\n\n".join(p.rstrip("\n") for p in parts) + "\n"


def _dedent(block: Block) -> str | None:
    """The block with the indentation its SEARCH lines share taken off SEARCH and REPLACE alike (as a model that
    lost the indentation writes it); None when they share none."""
    lines = [line for line in (block.search + block.replace).splitlines() if line.strip()]
    indents = {len(line) - len(line.lstrip(" ")) for line in lines}
    width = min(indents, default=0)
    if width == 0:
        return None

    def strip(text: str) -> str:
        return "".join(line[width:] if line.strip() else line for line in text.splitlines(keepends=True))

    return block_text(Block(block.path, strip(block.search), strip(block.replace)))


def _elided(draft: Draft, blocks: list[Block], new: list[NewFile], dice: Dice) -> str | None:
    """One block whose unchanged leading context is elided with `...`: SEARCH `first line / ... / rest`, REPLACE
    `first line / ... / new rest`. Fits when both pieces occur exactly once in the file."""
    for i, block in enumerate(blocks):
        old, rep = block.search.splitlines(keepends=True), block.replace.splitlines(keepends=True)
        same = next((k for k, (a, b) in enumerate(zip(old, rep, strict=False)) if a != b), min(len(old), len(rep)))
        if same < 3:
            continue
        first, rest_old, rest_new = old[0], "".join(old[same - 1:]), "".join(rep[same - 1:])
        before = apply_strictly(draft.old, blocks[:i])  # the file as this block finds it
        text = before.get(block.path, "") if before else ""
        if text.count(first) != 1 or text.count(rest_old) != 1 or text.index(first) >= text.index(rest_old):
            continue
        elided = f"{block.path}\n<<<<<<< SEARCH\n{first}...\n{rest_old}=======\n{first}...\n{rest_new}>>>>>>> REPLACE\n"
        return _edit_text([*blocks[:i], _Raw(elided), *blocks[i + 1:]], new, dice)
    return None


def _redundant(draft: Draft, blocks: list[Block]) -> Block | None:
    """A block that, sent again after all of them, is already applied: its SEARCH is gone and its REPLACE there."""
    done = apply_strictly(draft.old, blocks)
    if done is None:
        return None
    for block in blocks:
        if block.replace and block.search not in done[block.path] and block.replace in done[block.path]:
            return block
    return None
