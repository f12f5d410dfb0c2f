"""Disclosure protection of released counts (see the README, "How counts are protected").

Four mechanisms, applied to every number a node releases (the cohort and each row of
the attrition):

1. **Threshold.** A set of fewer than ``threshold`` persons (default 10) is released as
   "fewer than 10", never as a number, and zero looks the same.
2. **Set-keyed perturbation, then rounding.** Every person has a secret record key
   (a keyed hash of the person id, computed inside the engine). The sum of the keys of
   the counted persons, modulo a prime, is the set's cell key; it selects a
   perturbation in ``[-noise, +noise]`` that is added before rounding to ``base``
   (default 10). The same set of persons always gets the same perturbation, however
   the definition is phrased and however often it is asked (no averaging attack), and
   two sets that differ by even one person get unrelated perturbations.
3. **Snapping to an earlier release (the differencing defence).** Each released set
   leaves an anchor: a sketch of the set (per hash bucket, the number of its persons
   modulo 16). A new set within fewer than ``threshold`` persons of an anchor of the
   same data is released with that anchor's value. Asking "A" and then "A without a
   small group G" therefore gives the same number twice, whatever the size of G, and
   so does any chain of such pairs. Sets that differ by ``threshold`` or more persons
   are released afresh, which is allowed: they are large enough to be released alone.
4. **Limits and audit.** Each user has a daily number of queries; every query is
   audited with its exact values (for auditors) and what was released.

The interval released with a number covers the perturbation, the rounding and the
snapping, so intervals can be added up honestly across regions.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from trialnode.counts.compiler import BUCKETS, PRIME, Keys

SKETCH_MODULUS = 16


@dataclass(frozen=True)
class Policy:
    threshold: int = 10
    base: int = 10
    noise: int = 5
    mode: str = "rounded"  # or "interval"

    @property
    def margin_low(self) -> int:
        return self.noise + self.base // 2 + self.threshold - 1

    @property
    def margin_high(self) -> int:
        return self.noise + (self.base - 1) // 2 + self.threshold - 1


@dataclass(frozen=True)
class Released:
    """A protected count: ``value`` is None below the threshold."""

    value: int | None
    low: int
    high: int
    threshold: int

    @property
    def below_threshold(self) -> bool:
        return self.value is None

    def as_json(self) -> int | str:
        """The released value as a JSON number, or "<10" below the threshold."""
        return f"<{self.threshold}" if self.value is None else self.value

    def as_dict(self) -> dict[str, object]:
        return {
            "value": self.value,
            "text": str(self.as_json()),
            "low": self.low,
            "high": self.high,
            "below_threshold": self.below_threshold,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object], threshold: int) -> Released:
        value = data.get("value")
        low, high = data.get("low"), data.get("high")
        if value is not None and (type(value) is not int or value < 0):
            raise ValueError("value must be a non-negative integer or null")
        if type(low) is not int or type(high) is not int or not 0 <= low <= high:
            raise ValueError("low and high must be integers with 0 <= low <= high")
        return cls(value=value, low=low, high=high, threshold=threshold)


def keys_from_secret(secret: bytes) -> Keys:
    """The record-key constants, derived from the node's protection secret."""

    def constant(label: str) -> int:
        digest = hmac.new(secret, label.encode(), hashlib.sha256).digest()
        return 1 + int.from_bytes(digest[:8], "big") % (PRIME - 2)

    return Keys(*(constant(label) for label in ("a1", "b1", "c1", "a2", "b2", "c2")))


def perturbation(cell_key: int, noise: int) -> int:
    """An integer in [-noise, noise], uniform over cell keys."""
    if noise <= 0:
        return 0
    return (cell_key % PRIME) * (2 * noise + 1) // PRIME - noise


def release_fresh(n: int, cell_key: int, policy: Policy) -> Released:
    """The value released for a set of ``n`` persons never released before."""
    if n < policy.threshold:
        return Released(None, 0, policy.threshold - 1, policy.threshold)
    noisy = n + perturbation(cell_key, policy.noise)
    value = max(policy.threshold, ((noisy + policy.base // 2) // policy.base) * policy.base)
    return with_interval(value, policy)


def with_interval(value: int, policy: Policy) -> Released:
    low = max(policy.threshold, value - policy.margin_low)
    return Released(value, low, value + policy.margin_high, policy.threshold)


def below(policy: Policy) -> Released:
    return Released(None, 0, policy.threshold - 1, policy.threshold)


def digest(sketch: Sequence[int]) -> bytes:
    """The stored form of a set's sketch: per bucket, its count modulo 16."""
    if len(sketch) != BUCKETS:
        raise ValueError(f"a sketch has {BUCKETS} buckets")
    return bytes(int(count) % SKETCH_MODULUS for count in sketch)


def distance(a: bytes, b: bytes) -> int:
    """A lower bound of the number of persons in which two sets differ."""
    half = SKETCH_MODULUS // 2
    total = 0
    for x, y in zip(a, b, strict=True):
        d = (x - y) % SKETCH_MODULUS
        total += d if d < half else SKETCH_MODULUS - d
    return total


def nearest(candidate: bytes, anchors: Iterable[tuple[int, bytes]], limit: int) -> int | None:
    """The id of the first anchor within ``limit`` persons of the candidate."""
    import numpy as np

    rows = list(anchors)
    if not rows:
        return None
    if len(rows) > 32:
        ids = [row[0] for row in rows]
        matrix = np.frombuffer(b"".join(row[1] for row in rows), dtype=np.uint8).reshape(
            len(rows), BUCKETS
        )
        mine = np.frombuffer(candidate, dtype=np.uint8)
        diff = (matrix.astype(np.int16) - mine.astype(np.int16)) % SKETCH_MODULUS
        folded = np.minimum(diff, SKETCH_MODULUS - diff).sum(axis=1)
        hits = np.nonzero(folded < limit)[0]
        return ids[int(hits[0])] if len(hits) else None
    for anchor_id, sketch in rows:
        if distance(candidate, sketch) < limit:
            return anchor_id
    return None


class AnchorStore(Protocol):
    """Where a node keeps the sketches of what it has released, per data version."""

    def candidates(self, data_version: str) -> Iterable[tuple[int, bytes]]: ...

    def value_of(self, anchor_id: int) -> int: ...

    def add(self, data_version: str, sketch: bytes, value: int) -> None: ...


class MemoryAnchors:
    """An anchor store in memory (benchmarks and the command line without a database)."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, bytes, int]] = []

    def candidates(self, data_version: str) -> list[tuple[int, bytes]]:
        return [(i, s) for i, (v, s, _value) in enumerate(self.rows) if v == data_version]

    def value_of(self, anchor_id: int) -> int:
        return self.rows[anchor_id][2]

    def add(self, data_version: str, sketch: bytes, value: int) -> None:
        self.rows.append((data_version, sketch, value))


def protect(
    n: int,
    cell_key: int,
    sketch: Sequence[int],
    *,
    data_version: str,
    policy: Policy,
    anchors: AnchorStore,
) -> Released:
    """The released value of one set of persons, snapping to an earlier release."""
    if n < policy.threshold:
        return below(policy)
    compact = digest(sketch)
    anchor = nearest(compact, anchors.candidates(data_version), policy.threshold)
    if anchor is not None:
        return with_interval(anchors.value_of(anchor), policy)
    released = release_fresh(n, cell_key, policy)
    assert released.value is not None
    anchors.add(data_version, compact, released.value)
    return released


def add_up(values: Iterable[Released]) -> tuple[int, int]:
    """Intervals add up as intervals: (sum of lows, sum of highs)."""
    low = high = 0
    for value in values:
        low += value.low
        high += value.high
    return low, high
