"""Deterministic choices for the varied style: the same seed and request always give the same answer.

Each decision is named, so adding one never shifts the others (a hash of seed, request and name, not a stream of
random numbers).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


class Dice:
    def __init__(self, seed: int, *request: str):
        self._base = "\0".join([str(seed), *request])

    def number(self, name: str) -> float:
        """A number in [0, 1) for the decision `name`."""
        digest = hashlib.sha256(f"{self._base}\0{name}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    def chance(self, name: str, rate: float) -> bool:
        return self.number(name) < rate

    def pick(self, name: str, options: Sequence[T]) -> T:
        return options[int(self.number(name) * len(options))]
