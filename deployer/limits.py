"""How large each field of a brief may be: one value that the receiver and the action both read.

Real graders send a paragraph of brief, a handful of checks and one or two attachments of kilobytes (an image, a CSV,
see the sample briefs); the defaults leave wide room above that (several MB of images pass) and refuse only what no
grader sends. The receiver reads these names from its settings (`deployer serve --help`); the action reads the same
names from its environment, so a brief pasted by hand meets the same limits. The task's limit is not a setting: it is
GitHub's rule for a repository name (100 characters).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

MIB = 1024 * 1024
TASK_CHARS = 100  # GitHub: a repository name has at most 100 characters
NAME_CHARS_CAP = 255  # the longest file name most file systems (and git checkouts on them) accept


class LimitsError(ValueError):
    """A limit setting that is not a positive whole number; the message names the variable."""


@dataclass(frozen=True)
class BriefLimits:
    brief_chars: int = 20_000
    checks: int = 50
    check_chars: int = 10_000
    attachments: int = 20
    attachment_bytes: int = 10 * MIB  # decoded
    email_chars: int = 254  # RFC 5321: a forward path holds at most 256 octets with its angle brackets
    nonce_chars: int = 200
    url_chars: int = 2048
    name_chars: int = NAME_CHARS_CAP

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> BriefLimits:
        """The limits the environment sets (each BRIEF_MAX_* variable), the defaults for the others."""
        limits = cls()
        for setting in SETTINGS:
            raw = env.get(setting.env, "").strip()
            if raw:
                limits = replace(limits, **{setting.field: setting.parse(raw)})
        return limits


@dataclass(frozen=True)
class Setting:
    env: str
    field: str
    unit: str  # what one of the variable's units is, as --help says it
    scale: int = 1  # field value = variable value * scale
    cap: int | None = None

    @property
    def default(self) -> int:
        return int(getattr(BriefLimits(), self.field)) // self.scale

    def parse(self, raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise LimitsError(f"{self.env} must be a whole number, not {raw!r}") from None
        if value < 1:
            raise LimitsError(f"{self.env} must be at least 1, not {raw!r}")
        if self.cap is not None and value > self.cap:
            raise LimitsError(f"{self.env} must be at most {self.cap}, not {raw!r}")
        return value * self.scale

    def help_line(self) -> str:
        return f"  {self.env:<24} default {self.default} ({self.unit})"


SETTINGS = (
    Setting("BRIEF_MAX_CHARS", "brief_chars", "characters of the brief text"),
    Setting("BRIEF_MAX_CHECKS", "checks", "checks per brief"),
    Setting("BRIEF_MAX_CHECK_CHARS", "check_chars", "characters per check"),
    Setting("BRIEF_MAX_ATTACHMENTS", "attachments", "attachments per brief"),
    Setting("BRIEF_MAX_ATTACHMENT_MB", "attachment_bytes", "MiB per attachment, decoded", scale=MIB),
    Setting("BRIEF_MAX_EMAIL_CHARS", "email_chars", "characters of email"),
    Setting("BRIEF_MAX_NONCE_CHARS", "nonce_chars", "characters of nonce"),
    Setting("BRIEF_MAX_URL_CHARS", "url_chars", "characters of evaluation_url"),
    Setting("BRIEF_MAX_NAME_CHARS", "name_chars", f"characters per attachment name, at most {NAME_CHARS_CAP}",
            cap=NAME_CHARS_CAP),
)
