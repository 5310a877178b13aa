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
    first; shingles it did not contain are appended to the order, which keeps it one total order.
    """

    def __init__(self, corpus: Iterable[str], *, threshold: float = JACCARD_THRESHOLD) -> None:
        self._threshold = threshold
        frequency: Counter[str] = Counter()
        for text in set(corpus):
            frequency.update(shingles(text))
        ordered = sorted(frequency.items(), key=lambda item: (item[1], item[0]))
        self._rank = {shingle: rank for rank, (shingle, _) in enumerate(ordered)}
        self._exact: set[str] = set()
        self._kept: list[frozenset[str]] = []
        self._by_prefix_shingle: dict[str, list[int]] = defaultdict(list)

    def is_near_duplicate(self, comparable: str) -> bool:
        if not comparable:
            return False
        if comparable in self._exact:
            return True
        probe = shingles(comparable)
        size = len(probe)
        checked: set[int] = set()
        for shingle in self._prefix(probe):
            for kept_index in self._by_prefix_shingle.get(shingle, ()):
                if kept_index in checked:
                    continue
                checked.add(kept_index)
                kept = self._kept[kept_index]
                # Size filter: J <= min/max of the sizes, so very different sizes cannot match.
                if min(size, len(kept)) < self._threshold * max(size, len(kept)):
                    continue
                common = len(probe & kept)
                if common >= self._threshold * (size + len(kept) - common):
                    return True
        return False

    def add(self, comparable: str) -> None:
        if not comparable or comparable in self._exact:
            return
        self._exact.add(comparable)
        kept = shingles(comparable)
        self._kept.append(kept)
        for shingle in self._prefix(kept):
            self._by_prefix_shingle[shingle].append(len(self._kept) - 1)

    def _prefix(self, shingle_set: frozenset[str]) -> list[str]:
        rank = self._rank
        for shingle in shingle_set:
            if shingle not in rank:
                rank[shingle] = len(rank)
        ordered = sorted(shingle_set, key=rank.__getitem__)
        # The epsilon stops a float product a hair above a whole number from rounding up past it.
        needed = math.ceil(self._threshold * len(ordered) - 1e-9)
        return ordered[: len(ordered) - needed + 1]
