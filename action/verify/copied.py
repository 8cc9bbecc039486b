"""Copied constants: an element a check reads that shows what only the data could give, and shows it still when the
site is served other data (action/verify/perturb.py). Pure.

The rule, so that a title, a label or a row count is never flagged. Only checks that passed count (a failing check
is repaired as a failing check), and only the elements their JavaScript selects (`checks.selectors`). Such an
element is bound to the data when, in the normal run, its text shows
- a number equal, to the precision written, to a figure of a CSV/JSON attachment that the perturbation changes
  (`figures.py`: sums, means, extremes, group totals; whole numbers below 10 never count), or
- for a check opened with a `?url=`-style parameter naming an image attachment, a literal the check's JavaScript
  holds (a string of 2+ characters that is not one of its selectors or parameter names, or a number): the value
  the check expects from that image.
A bound element is a copied constant when, with the perturbed data (another image at another URL), it still shows
that same number or literal: the page typed it in instead of computing it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from action.verify.checks import PARAM_RE, SITE, Check, Reads, selectors
from action.verify.figures import Figure, figures, is_data, shown_numbers, shows

STRING_RE = re.compile(r"""(["'`])((?:\\.|(?!\1)[^\\])*)\1""")
JS_NUMBER_RE = re.compile(r"(?<![\w.$])-?\d+(?:\.\d+)?(?![\w.])")


@dataclass(frozen=True)
class Bound:
    """What one element showed that the data determines."""

    selector: str
    index: int  # which of the selector's matches
    shown: str  # as written in the element: "5109.25", or the literal
    source: str  # where it comes from: "data.csv: sum of sales"
    number: bool = True

    def still_in(self, text: str) -> bool:
        if not self.number:
            return self.shown in text
        value = float(self.shown.replace(",", ""))
        return any(n.value == value and n.text.count(".") == self.shown.count(".") for n in shown_numbers(text))


@dataclass(frozen=True)
class Copied:
    """A check whose elements show the same data-bound values whatever the data: typed in, not computed."""

    check: Check
    bound: tuple[Bound, ...]


def changing_figures(original: Mapping[str, bytes], perturbed: Mapping[str, bytes]) -> list[Figure]:
    """The figures of the original data attachments that the perturbed data changes."""
    found: list[Figure] = []
    for name, data in original.items():
        if not is_data(name) or name not in perturbed:
            continue
        after = figures(name, perturbed[name])
        found += [f for key, f in figures(name, data).items()
                  if key in after and abs(after[key].value - f.value) > 1e-9]
    return found


def reads_image(check: Check, renamed: Mapping[str, str]) -> bool:
    """Opened with a parameter whose value is one of the site's images (the perturbed run passes another)."""
    return any(value in {SITE + quote(name) for name in renamed} for _, value in check.params)


def literals(check: Check) -> list[str]:
    """The strings and numbers a check's JavaScript compares with: not its selectors nor parameter names."""
    js = check.js or ""
    skip = set(selectors(js)) | {name for name, _ in check.params}
    found = [m.group(2) for m in STRING_RE.finditer(js)]
    found = [s for s in found if len(s) >= 2 and "${" not in s and s not in skip and re.search(r"\w", s)
             and not PARAM_RE.search(s)]
    return list(dict.fromkeys(found + JS_NUMBER_RE.findall(STRING_RE.sub("", js))))


def bound_values(check: Check, read: Reads, data: Sequence[Figure], image: bool) -> list[Bound]:
    """The elements of a passing check that show what the data determines (see the module's rule)."""
    expected = literals(check) if image else []
    found: dict[tuple[str, int, str], Bound] = {}
    for selector, texts in read:
        for index, text in enumerate(texts):
            for shown in shown_numbers(text):
                figure = next((f for f in data if shows(shown, f.value)), None)
                if figure is not None:
                    found.setdefault((selector, index, shown.text), Bound(selector, index, shown.text, figure.key))
            for literal in expected:
                if _literal_shown(literal, text):
                    found.setdefault((selector, index, literal), Bound(
                        selector, index, literal, "the value the check expects for the image it opens the page with",
                        number=literal.lstrip("-")[:1].isdigit()))
    return list(found.values())


def still_shown(bound: Sequence[Bound], read: Reads) -> list[Bound]:
    """The bound values the perturbed run's elements still show."""
    texts = dict(read)
    return [b for b in bound if b.index < len(texts.get(b.selector, ())) and b.still_in(texts[b.selector][b.index])]


def _literal_shown(literal: str, text: str) -> bool:
    if literal.lstrip("-")[:1].isdigit():
        return any(shows(n, float(literal)) for n in shown_numbers(text))
    return literal in text
