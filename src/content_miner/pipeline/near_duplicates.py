"""Finding near-duplicate posts without comparing every pair.

Rule: two posts are near-duplicates when their comparable texts (`post_text.comparable_text`)
are equal, or when the Jaccard similarity of their character 4-gram sets is at least 0.85. A
changed character alters up to four 4-grams, so about one edit per 50 characters still matches,
while "Release 1.64 is out" and "Release 1.65 is out" do not. Posts whose comparable text is
empty (a bare link, say) are never near-duplicates.

Candidates come from prefix filtering: if J(a, b) >= t then |a & b| >= ceil(t * |a|), so when
every set's shingles are sorted in one global order, the first |a| - ceil(t * |a|) + 1 of them
(its prefix) must share a shingle with b's prefix. Sorting rare shingles first keeps the index
lists short. This is exact (no pair above the threshold is missed), unlike MinHash sampling.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable

import numpy as np

SHINGLE_SIZE = 4
JACCARD_THRESHOLD = 0.85


def shingles(comparable: str, size: int = SHINGLE_SIZE) -> frozenset[str]:
    if len(comparable) <= size:
        return frozenset([comparable]) if comparable else frozenset()
    return frozenset(comparable[i : i + size] for i in range(len(comparable) - size + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


class NearDuplicateIndex:
    """The kept posts' texts; `is_near_duplicate` asks about a new one, `add` keeps it.

    `corpus` (the comparable texts that will be asked about) fixes the shingle order, rarest
    first, and each shingle is numbered by its place in that order; shingles it did not contain
    are numbered after it, which keeps one total order. Candidates are verified together with
    numpy: templated accounts (the same sentence with a changing number, say) give each post
    hundreds of candidates just under the threshold, too many to intersect one by one in Python.
    """

    def __init__(self, corpus: Iterable[str], *, threshold: float = JACCARD_THRESHOLD) -> None:
        self._threshold = threshold
        frequency: Counter[str] = Counter()
        for text in set(corpus):
            frequency.update(shingles(text))
        ordered = sorted(frequency.items(), key=lambda item: (item[1], item[0]))
        self._rank = {shingle: rank for rank, (shingle, _) in enumerate(ordered)}
        self._exact: set[str] = set()
        self._kept: list[np.ndarray] = []  # each kept text's shingle numbers, ascending
        self._sizes = np.zeros(64, dtype=np.int64)  # len(self._kept[i]), grown by doubling
        self._by_prefix_shingle: dict[int, list[int]] = defaultdict(list)
        self._probe_marks = np.zeros(len(self._rank) + 1, dtype=bool)
        self._last: tuple[str, np.ndarray] = ("", np.zeros(0, dtype=np.int64))
        self.verified = 0  # candidate pairs whose overlap was counted (for tests of the filters)

    def is_near_duplicate(self, comparable: str) -> bool:
        if not comparable:
            return False
        if comparable in self._exact:
            return True
        probe = self._numbers(comparable)
        size = len(probe)
        lists = [self._by_prefix_shingle[s] for s in self._prefix(probe) if s in self._by_prefix_shingle]
        if not lists:
            return False
        candidates = np.fromiter(set().union(*lists), dtype=np.int64)
        sizes = self._sizes[candidates]
        # Size filter: J <= min/max of the sizes, so very different sizes cannot match.
        close = np.minimum(sizes, size) >= self._threshold * np.maximum(sizes, size)
        candidates, sizes = candidates[close], sizes[close]
        if not len(candidates):
            return False
        self.verified += len(candidates)
        # Count each candidate's shingles that the probe has: mark the probe's, look theirs up.
        theirs = np.concatenate([self._kept[i] for i in candidates.tolist()])
        self._probe_marks[probe] = True
        hits = self._probe_marks[theirs]
        self._probe_marks[probe] = False
        starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        common = np.add.reduceat(hits, starts, dtype=np.int64)
        return bool(np.any(common >= self._threshold * (size + sizes - common)))

    def add(self, comparable: str) -> None:
        if not comparable or comparable in self._exact:
            return
        self._exact.add(comparable)
        kept = self._numbers(comparable)
        index = len(self._kept)
        self._kept.append(kept)
        if index == len(self._sizes):
            self._sizes = np.concatenate((self._sizes, np.zeros_like(self._sizes)))
        self._sizes[index] = len(kept)
        for shingle in self._prefix(kept):
            self._by_prefix_shingle[shingle].append(index)

    def _numbers(self, comparable: str) -> np.ndarray:
        """The text's shingles as their numbers in the global order, ascending. The last answer is
        kept: `add` usually follows `is_near_duplicate` with the same text."""
        if self._last[0] == comparable:
            return self._last[1]
        rank = self._rank
        numbers = []
        for shingle in shingles(comparable):
            number = rank.get(shingle)
            if number is None:
                number = rank[shingle] = len(rank)
            numbers.append(number)
        if len(rank) >= len(self._probe_marks):
            self._probe_marks = np.zeros(2 * len(rank), dtype=bool)
        result = np.sort(np.array(numbers, dtype=np.int64))
        self._last = (comparable, result)
        return result

    def _prefix(self, numbers: np.ndarray) -> list[int]:
        # The epsilon stops a float product a hair above a whole number from rounding up past it.
        needed = math.ceil(self._threshold * len(numbers) - 1e-9)
        return numbers[: len(numbers) - needed + 1].tolist()
