"""The built-in model's answer to a check-translation request (`<translate-checks>`, see action/verify/translate.py).

Pure. Each line of the block is `{"id", "check", "query"}`; the answer is `{"checks": [{"id", "js" | null,
"reason"?}]}`, as the request asks. It translates what the sample briefs' plain-English checks say, the way a
careful model would: a page that displays the value of a `?param=` it is opened with, solved or result text that
appears within some seconds, an exact title or heading. Anything else is declined with a reason.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl

TRANSLATE_RE = re.compile(r"<translate-checks>\n?(.*?)\n?</translate-checks>", re.S)
SECONDS_RE = re.compile(r"within\s+(\d+(?:\.\d+)?)\s*(?:s|sec|secs|seconds?)\b", re.I)
QUOTED_RE = re.compile(r"[\"“'`]([^\"”'`\n]{1,120})[\"”'`]")
SOLVED_IDS = '[id*="solution"], [id*="solved"], [id*="result"], [id*="answer"], [id*="output"]'


def is_translation_request(text: str) -> bool:
    return TRANSLATE_RE.search(text) is not None


def answer(text: str) -> str:
    match = TRANSLATE_RE.search(text)
    entries: list[dict[str, object]] = []
    for line in (match.group(1) if match else "").splitlines():
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(item, dict) or not isinstance(item.get("id"), int):
            continue
        js = translate(str(item.get("check", "")), str(item.get("query", "")))
        entries.append({"id": item["id"], "js": js} if js else
                       {"id": item["id"], "js": None, "reason": "not something the page itself shows"})
    return json.dumps({"checks": entries})


def translate(check: str, query: str) -> str | None:
    lower = check.lower()
    params = [name for name, _ in parse_qsl(query.lstrip("?"))]
    if params and re.search(r"\b(?:display|show|render|print)s?\b", lower) and re.search(r"\burl\b|\?\w+=", lower):
        name = json.dumps(params[0])
        return (f"(() => {{ const v = new URLSearchParams(location.search).get({name}); "
                "return !!v && document.body.innerText.includes(v); })()")
    if re.search(r"\b(?:solved|solution|result|answer)\b", lower):
        seconds = float(m.group(1)) if (m := SECONDS_RE.search(check)) else 15.0
        return ("(async () => { const end = Date.now() + " + str(int(seconds * 1000)) + "; "
                f"while (true) {{ const el = document.querySelector({json.dumps(SOLVED_IDS)}); "
                "const t = el ? el.textContent.trim() : ''; if (t && !/^solving/i.test(t)) return true; "
                "if (Date.now() > end) return false; await new Promise(r => setTimeout(r, 200)); } })()")
    quoted = QUOTED_RE.search(check)
    if quoted and "title" in lower:
        return f"document.title === {json.dumps(quoted.group(1))}"
    if quoted and re.search(r"\b(?:heading|h1)\b", lower):
        return f"[...document.querySelectorAll('h1')].some(h => h.textContent.trim() === {json.dumps(quoted.group(1))})"
    return None
