"""Other data of the same shape: what a grader serves to see whether a site computes its figures. Pure.

Text data (CSV, TSV, JSON) keeps its rows, columns, keys and text; every number x becomes 2x + 3 written with the
same number of decimals (integers stay integers), so every sum, mean, minimum and maximum changes (unless it was -3)
while the data still parses as before. An image becomes another image of the same size (stripes, a PNG: browsers
and OCR libraries read an image by its bytes, not its name), served under its own name and under a second name that
`?url=`-style parameters point to instead, as a grader passes another image's URL.
"""

from __future__ import annotations

import csv
import io
import json
import re
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from action.verify.figures import NUMBER_CELL_RE, delimiter, is_data, is_number

IMAGE_RE = re.compile(r"\.(?:png|jpe?g|gif|webp|bmp)$", re.I)
OTHER_IMAGES = "verify-other/"  # where the other images are served, beside the site's files
DEFAULT_SIZE = (200, 70)
MAX_SIDE = 2000


@dataclass(frozen=True)
class Perturbation:
    files: dict[str, bytes] = field(default_factory=dict)  # served over the site's files
    renamed: dict[str, str] = field(default_factory=dict)  # image name -> where the other image is served

    def __bool__(self) -> bool:
        return bool(self.files)

    def site(self, site: Mapping[str, bytes]) -> dict[str, bytes]:
        return {**site, **self.files}

    @property
    def changed(self) -> tuple[str, ...]:
        """The attachments served with other content."""
        return tuple(sorted(name for name in self.files if not name.startswith(OTHER_IMAGES)))


def perturb(attachments: Mapping[str, bytes]) -> Perturbation:
    """Other data for every attachment we can change without changing its shape (others are served as they are)."""
    files: dict[str, bytes] = {}
    renamed: dict[str, str] = {}
    for name, data in attachments.items():
        if is_data(name):
            other = other_data(name, data)
            if other is not None and other != data:
                files[name] = other
        elif IMAGE_RE.search(name):
            image = other_image(data)
            files[name] = files[OTHER_IMAGES + name] = image
            renamed[name] = OTHER_IMAGES + name
    return Perturbation(files, renamed)


def other_data(name: str, data: bytes) -> bytes | None:
    text = data.decode("utf-8-sig", errors="replace")
    try:
        if not name.lower().endswith(".json"):
            return other_csv(text).encode("utf-8")
        indent = 2 if "\n" in text.strip() else None
        return (json.dumps(other_json(json.loads(text)), indent=indent, ensure_ascii=False)
                + ("\n" if indent else "")).encode()
    except (ValueError, RecursionError, csv.Error):  # not data we can read: served as it is
        return None


def other_number(written: str) -> str:
    """2x + 3, written with the same number of decimals."""
    return str(Decimal(written.strip().lstrip("+")) * 2 + 3)  # exact: 97.00 -> 197.00, 3 -> 9


def other_csv(text: str) -> str:
    sep = delimiter(text)
    newline = "\r\n" if "\r\n" in text else "\n"
    rows = list(csv.reader(io.StringIO(text), delimiter=sep))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep, lineterminator=newline)
    for number, row in enumerate(rows):
        writer.writerow(row if number == 0 else [other_number(c) if NUMBER_CELL_RE.match(c) else c for c in row])
    return out.getvalue() if text.endswith(("\n", "\r")) else out.getvalue().rstrip("\r\n")


def other_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: other_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [other_json(v) for v in value]
    if isinstance(value, int) and is_number(value):
        return value * 2 + 3
    if isinstance(value, float) and is_number(value):
        written = repr(value)
        return round(value * 2 + 3, len(written.split(".", 1)[1]) if "." in written and "e" not in written else 6)
    return value


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG, GIF, JPEG or WebP header; None when unreadable."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return struct.unpack("<HH", data[6:10])
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        chunk = data[12:16]
        if chunk == b"VP8 ":
            width, height = struct.unpack("<HH", data[26:30])
            return width & 0x3FFF, height & 0x3FFF
        if chunk == b"VP8L":
            bits = int.from_bytes(data[21:25], "little")
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        if chunk == b"VP8X":
            return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    if data[:2] == b"\xff\xd8":
        return _jpeg_size(data)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    at = 2
    while at + 9 < len(data):
        if data[at] != 0xFF:
            return None
        marker, length = data[at + 1], int.from_bytes(data[at + 2:at + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[at + 5:at + 9])
            return width, height
        at += 2 + length
    return None


def other_image(data: bytes) -> bytes:
    """A PNG of the same size as `data` that looks nothing like it: diagonal stripes in two colours."""
    width, height = image_size(data) or DEFAULT_SIZE
    width, height = max(1, min(width, MAX_SIDE)), max(1, min(height, MAX_SIDE))
    line = b"".join(b"\x20\x60\xc0" if x // 8 % 2 else b"\xf0\xd0\x30" for x in range(width + 16))
    rows = b"".join(b"\x00" + line[y % 16 * 3:(y % 16 + width) * 3] for y in range(height))
    return png(width, height, rows)


def png(width: int, height: int, raw_rows: bytes) -> bytes:
    """An 8-bit RGB PNG from filtered rows (each row starts with its filter byte)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw_rows, 9)) + \
        chunk(b"IEND", b"")
