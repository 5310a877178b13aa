"""Posting slots (UTC hour of the week), claimed only when the account's own history backs them.

A slot's effect is measured on *time-free residuals*: log engagement minus the account's moving
level (so growth is not credited to the hours the account posts at lately) minus the engagement
model's content and format prediction (so a slot full of replies is not blamed for being a slot
of replies). Each effect is a recency-weighted mean (`HALFLIFE_DAYS`), shrunk toward 0 by an
empirical-Bayes prior estimated across slots, and slots are ranked by a lower bound
(`effect - 1.645 posterior sd`), not by their mean: one lucky post cannot put a slot first.

Two rankers: "hour of week" (each of the 168 slots on its own, at least `MIN_EFFECTIVE_POSTS`
recency-weighted posts) and "hour + weekday" (a shrunk hour-of-day effect plus a shrunk weekday
effect, for slots with at least `MIN_SLOT_POSTS` posts).

Claim rule (the plan's own back-test): each ranker is re-run on older posts and its top slots are
scored on the newer ones, in two time-ordered folds (`FOLDS`) whose newer posts are pooled: the
AUC of posts in the picked slots against the rest. A ranker passes when that AUC beats the
(1 - 0.05 / rankers) quantile of the same AUC for `RANDOM_DRAWS` random picks of as many eligible
slots, with at least `MIN_VALIDATION_POSTS` newer posts inside. Slots are claimed only from a
passing ranker, and only those whose lower bound is above 0. Otherwise the plan says `NO_EFFECT`
in one line and lists no slots. On five real accounts no ranker passed (the old plan's best slots
were no better than random ones on later posts); on generated accounts with a planted hour the
rule claims exactly that hour.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import numpy as np
from scipy.stats import rankdata

from content_miner.pipeline.post_features import days_since, slot_of

WEEKDAY_NAMES: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
TOP: Final = 5
MIN_EFFECTIVE_POSTS: Final = 8.0
MIN_SLOT_POSTS: Final = 3
HALFLIFE_DAYS: Final = 365.0
Z: Final = 1.645  # one-sided 95 %: the lower bound of a 90 % interval
# Time-ordered folds of the claim check: rank on the posts before `start`, score on those up to `stop`;
# the newer posts of both folds are pooled (one fold of 20 % left too few posts in the slots to tell).
FOLDS: Final = ((0.6, 0.8), (0.8, 1.0))
RANDOM_DRAWS: Final = 1000
MIN_VALIDATION_POSTS: Final = 10
SEED: Final = 7
NO_EFFECT: Final = "posting time: no reliable effect in this account's history"
RANKER_NAMES: Final = {"cells": "hour of week", "hour+weekday": "hour + weekday"}


@dataclass(frozen=True)
class SlotEffect:
    slot: int  # 0 = Monday 00:00 UTC
    posts: int
    effective_posts: float  # recency-weighted
    effect: float  # shrunk mean time-free residual, log scale: exp(effect) is the lift
    lower: float  # effect - 1.645 posterior sd: what slots are ranked by

    @property
    def weekday(self) -> int:
        return self.slot // 24

    @property
    def hour(self) -> int:
        return self.slot % 24

    @property
    def label(self) -> str:
        return f"{WEEKDAY_NAMES[self.weekday]} {self.hour:02d}:00 UTC"

    @property
    def lift(self) -> float:
        return float(np.exp(self.effect))

    @property
    def lift_low(self) -> float:
        return float(np.exp(self.lower))


@dataclass(frozen=True)
class RankerCheck:
    ranker: str
    auc: float | None  # newer posts in the top slots (picked on older ones) vs the rest
    threshold: float | None  # the random picks' quantile it had to beat
    posts_inside: int
    passed: bool
    reason: str


@dataclass(frozen=True)
class SlotPlan:
    claimed: bool
    message: str  # one line for the plan: the claimed slots, or NO_EFFECT
    reason: str  # why (not) claimed
    best: tuple[SlotEffect, ...]  # the claimed slots, best first (empty when nothing is claimed)
    ranked: tuple[SlotEffect, ...]  # every eligible slot of the chosen ranker, best lower bound first
    ranker: str
    checks: tuple[RankerCheck, ...]


def _recency_weights(times: Sequence[datetime]) -> np.ndarray:
    age = days_since(times, times[0])
    return 0.5 ** ((age.max() - age) / HALFLIFE_DAYS)


def _shrunk_groups(groups: np.ndarray, values: np.ndarray, w: np.ndarray,
                   size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Empirical-Bayes shrunk weighted group means (toward 0), their posterior variance and n_eff."""
    sw = np.bincount(groups, w, size)
    sw2 = np.bincount(groups, w * w, size)
    n_eff = np.where(sw2 > 0, sw ** 2 / np.maximum(sw2, 1e-12), 0.0)
    mean = np.where(sw > 0, np.bincount(groups, w * values, size) / np.maximum(sw, 1e-12), 0.0)
    within = float(np.average((values - mean[groups]) ** 2, weights=w))
    ok = n_eff >= 2
    v = within / np.maximum(n_eff, 1e-9)
    prior = max(float(np.var(mean[ok]) - v[ok].mean()), 0.0) if ok.sum() > 1 else 0.0
    shrink = np.where(ok, prior / (prior + v), 0.0) if prior > 0 else np.zeros(size)
    post_var = np.where(ok, prior * v / (prior + v), 0.0) if prior > 0 else np.zeros(size)
    return shrink * mean, post_var, n_eff


def cell_effects(times: Sequence[datetime], residuals: np.ndarray) -> list[SlotEffect]:
    """Each hour-of-week slot with at least MIN_EFFECTIVE_POSTS weighted posts, best lower bound first."""
    if len(times) < 2:
        return []
    slots = np.array([slot_of(t) for t in times])
    w = _recency_weights(times)
    centred = residuals - np.average(residuals, weights=w)
    effect, post_var, n_eff = _shrunk_groups(slots, centred, w, 168)
    counts = np.bincount(slots, minlength=168)
    eligible = np.flatnonzero(n_eff >= MIN_EFFECTIVE_POSTS)
    if len(eligible) < 2:
        return []
    out = [SlotEffect(int(s), int(counts[s]), float(n_eff[s]), float(effect[s]),
                      float(effect[s] - Z * np.sqrt(post_var[s]))) for s in eligible]
    return _ranked(out)


def additive_effects(times: Sequence[datetime], residuals: np.ndarray) -> list[SlotEffect]:
    """Hour-of-day plus weekday effects (each shrunk), for slots with at least MIN_SLOT_POSTS posts."""
    if len(times) < 2:
        return []
    slots = np.array([slot_of(t) for t in times])
    w = _recency_weights(times)
    centred = residuals - np.average(residuals, weights=w)
    hour_effect, hour_var, hour_n = _shrunk_groups(slots % 24, centred, w, 24)
    day_effect, day_var, _ = _shrunk_groups(slots // 24, centred - hour_effect[slots % 24], w, 7)
    counts = np.bincount(slots, minlength=168)
    out = []
    for s in np.flatnonzero(counts >= MIN_SLOT_POSTS):
        if hour_n[s % 24] < MIN_EFFECTIVE_POSTS:
            continue
        effect = float(hour_effect[s % 24] + day_effect[s // 24])
        sd = float(np.sqrt(hour_var[s % 24] + day_var[s // 24]))
        out.append(SlotEffect(int(s), int(counts[s]), float(hour_n[s % 24]), effect, effect - Z * sd))
    return _ranked(out)


def _ranked(effects: list[SlotEffect]) -> list[SlotEffect]:
    # Ties (equal lower bound) go to the better-supported slot, then the earlier one: deterministic.
    return sorted(effects, key=lambda e: (-round(e.lower, 9), -e.posts, e.slot))


RANKERS: Final[dict[str, Callable[[Sequence[datetime], np.ndarray], list[SlotEffect]]]] = {
    "cells": cell_effects, "hour+weekday": additive_effects,
}


def auc(inside: np.ndarray, values: np.ndarray) -> float | None:
    """P(a random post inside beats a random post outside), ties counted half; None if a side is empty."""
    inside = np.asarray(inside, dtype=bool)
    n_in, n_out = int(inside.sum()), int((~inside).sum())
    if not n_in or not n_out:
        return None
    ranks = rankdata(values)
    return float((ranks[inside].sum() - n_in * (n_in + 1) / 2) / (n_in * n_out))


def random_slot_aucs(slots: np.ndarray, values: np.ndarray, eligible: Sequence[int], k: int,
                     draws: int = RANDOM_DRAWS, seed: int = SEED) -> np.ndarray:
    """AUCs of `draws` random picks of `k` eligible slots (picks with no post inside are skipped): the
    pooled check with one fold."""
    return random_slot_aucs_pooled([(slots, eligible, k)], values, draws, seed)


def _check(times: Sequence[datetime], residuals: np.ndarray, ranker: str, quantile: float) -> RankerCheck:
    """Re-rank on older posts, score the top slots on the newer ones, for each fold; pooled."""
    n = len(times)
    inside_parts, value_parts, randoms_parts, any_top = [], [], [], False
    for start, stop in FOLDS:
        cut, end = int(n * start), int(n * stop)
        older = RANKERS[ranker](times[:cut], residuals[:cut]) if cut >= 2 else []
        top = [e.slot for e in older[:TOP] if e.lower > 0]
        if not top or len(older) <= len(top) or end - cut < 2:
            continue
        any_top = True
        newer_slots = np.array([slot_of(t) for t in times[cut:end]], dtype=np.int64)
        inside_parts.append(np.isin(newer_slots, top))
        value_parts.append(residuals[cut:end])
        randoms_parts.append((newer_slots, [e.slot for e in older], len(top)))
    if not any_top:
        return RankerCheck(ranker, None, None, 0, False, "no slot's lower bound is above the account's average")
    inside = np.concatenate(inside_parts)
    values = np.concatenate(value_parts)
    value = auc(inside, values)
    randoms = random_slot_aucs_pooled(randoms_parts, values)
    threshold = float(np.quantile(randoms, quantile)) if len(randoms) else None
    if value is None or threshold is None:
        return RankerCheck(ranker, value, threshold, int(inside.sum()), False, "no newer posts in the slots")
    if int(inside.sum()) < MIN_VALIDATION_POSTS:
        return RankerCheck(ranker, value, threshold, int(inside.sum()), False,
                           f"only {int(inside.sum())} newer posts in the slots picked on older ones")
    passed = value > threshold
    reason = ("slots picked on older posts beat random ones on newer posts" if passed
              else "slots picked on older posts did not beat random ones on newer posts")
    return RankerCheck(ranker, value, threshold, int(inside.sum()), passed, reason)


def random_slot_aucs_pooled(parts: Sequence[tuple[np.ndarray, Sequence[int], int]], values: np.ndarray,
                            draws: int = RANDOM_DRAWS, seed: int = SEED) -> np.ndarray:
    """Like `random_slot_aucs` over several folds at once: each draw picks as many random eligible
    slots in every fold as that fold's check picked, and the AUC is taken over the pooled posts."""
    rng = np.random.default_rng(seed)
    masks = []
    for slots, eligible, k in parts:
        pool = np.array(sorted(set(eligible)), dtype=np.int64)
        member = np.zeros((draws, 168), dtype=bool)
        for row in range(draws):
            member[row, rng.choice(pool, size=min(k, len(pool)), replace=False)] = True
        masks.append(member[:, slots])
    inside = np.concatenate(masks, axis=1)
    n_in = inside.sum(axis=1)
    n_out = inside.shape[1] - n_in
    ranks = rankdata(values)
    rank_sums = inside.astype(np.float64) @ ranks
    ok = (n_in > 0) & (n_out > 0)
    return (rank_sums[ok] - n_in[ok] * (n_in[ok] + 1) / 2) / (n_in[ok] * n_out[ok])


def clipped(residuals: np.ndarray) -> np.ndarray:
    """Residuals clipped to the median +/- 3.5 robust standard deviations: one viral post moves a
    slot's figure a bounded amount, however viral it was."""
    if not len(residuals):
        return residuals
    centre = float(np.median(residuals))
    spread = 1.4826 * float(np.median(np.abs(residuals - centre)))
    return residuals if spread <= 0 else np.clip(residuals, centre - 3.5 * spread, centre + 3.5 * spread)


def plan_slots(times: Sequence[datetime], residuals: np.ndarray,
               rankers: Sequence[str] = tuple(RANKERS)) -> SlotPlan:
    """Slots to claim from posts (oldest first) and their time-free residual engagement."""
    residuals = clipped(np.asarray(residuals, dtype=np.float64))
    quantile = 1 - 0.05 / len(rankers)
    checks = tuple(_check(times, residuals, r, quantile) for r in rankers)
    passing = [c for c in checks if c.passed]
    if passing:
        chosen = max(passing, key=lambda c: float(c.auc or 0) - float(c.threshold or 0)).ranker
        ranked = tuple(RANKERS[chosen](times, residuals))
    else:  # nothing is claimed; the figures shown come from the first ranker that has eligible slots
        chosen, ranked = rankers[0], ()
        for ranker in rankers:
            ranked = tuple(RANKERS[ranker](times, residuals))
            if ranked:
                chosen = ranker
                break
    best = tuple(e for e in ranked[:TOP] if e.lower > 0)
    if passing and best:
        message = f"best posting times ({RANKER_NAMES[chosen]}): " + ", ".join(e.label for e in best)
        return SlotPlan(True, message, next(c for c in checks if c.ranker == chosen).reason, best, ranked,
                        chosen, checks)
    reason = ("; ".join(f"{RANKER_NAMES[c.ranker]}: {c.reason}" for c in checks) if not passing
              else "no slot's lower bound is above the account's average")
    return SlotPlan(False, NO_EFFECT, reason, (), ranked, chosen, checks)
