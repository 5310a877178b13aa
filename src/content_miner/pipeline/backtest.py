"""The plan's back-test: build it on an account's past, score it on the account's future posts.

`run_backtest` splits the posts by time (the newest `holdout` share is the future), runs the same
Stage 4 analysis and Stage 5 topic model as the pipeline on the past, and scores every claim on
the future posts against a baseline, with 90 % intervals from a bootstrap over whole weeks (posts
of one week share a news cycle):

- **content ranking**: Spearman of the engagement model's prediction with the future posts' log
  engagement, against the mean of the 20 most similar past posts (NN-20) and the topic ranking;
- **posting slots**: AUC of future posts in the claimed slots against the rest (raw log
  engagement), against the 2.5-97.5 % range of random picks of as many eligible slots, and the
  five best raw-mean hours of the week; when no slot is claimed, what the top five would have scored;
- **formats**: each format's effect on future posts (ratio, AUC, whether the past's sign held),
  including originals vs replies;
- **expected ranges**: the share of future posts inside the model's 50 % interval, with the level
  frozen at the split and refreshed weekly (as a plan regenerated every week would be);
- **recency**: the status and trend at the split against what the next 26 weeks did;
- **topics**: the chosen number, whether topics predict, label problems, and the AUC of future
  posts in recommended topics.

Seeded and deterministic. No tracker calls: this is a tool, not a pipeline run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import numpy as np

from content_miner.pipeline.backtest_report import (
    BacktestReport,
    ContentRanking,
    Estimate,
    FormatCheck,
    IntervalCheck,
    RecencyCheck,
    SlotCheck,
    SlotChecks,
    TopicCheck,
)
from content_miner.pipeline.engagement_model import LEVEL_POSTS, spearman
from content_miner.pipeline.format_advice import FORMAT_NAMES, compared, many_replies
from content_miner.pipeline.generation import topic_model
from content_miner.pipeline.models import Post
from content_miner.pipeline.post_features import flag, slot_of, week_ids
from content_miner.pipeline.slots import TOP, auc, random_slot_aucs
from content_miner.pipeline.time_series import EngagementAnalysis, analyse
from content_miner.pipeline.topics import LITTLE_TEXT, NO_SHARED_WORDS, STOP_WORDS, TopicModel, words

DEFAULT_HOLDOUT: Final = 0.2
MIN_PAST_POSTS: Final = 30
MIN_FUTURE_POSTS: Final = 10
DRAWS: Final = 1000
SEED: Final = 3
NEIGHBOURS: Final = 20
RECENCY_WEEKS: Final = 26
RAW_MEAN_MIN_POSTS: Final = 3


class BacktestError(ValueError):
    """The posts cannot be back-tested (too few on one side of the split); one line."""


@dataclass(frozen=True)
class _Split:
    past: list[Post]
    future: list[Post]
    past_vectors: np.ndarray
    future_vectors: np.ndarray
    y_past: np.ndarray  # log1p engagement
    y_future: np.ndarray
    future_values: np.ndarray  # engagement
    weeks: np.ndarray  # bootstrap blocks of the future posts


def run_backtest(posts: Sequence[Post], embeddings: np.ndarray, *, platform: str, username: str,
                 holdout: float = DEFAULT_HOLDOUT, embedder: str = "") -> BacktestReport:
    """Back-test the plan on `posts` (oldest first) and their embeddings (row-aligned)."""
    if not 0 < holdout < 1:
        raise BacktestError(f"holdout must be between 0 and 1, got {holdout}")
    if len(posts) != len(embeddings):
        raise BacktestError(f"{len(embeddings)} embeddings for {len(posts)} posts")
    cut = int(len(posts) * (1 - holdout))
    if cut < MIN_PAST_POSTS or len(posts) - cut < MIN_FUTURE_POSTS:
        raise BacktestError(
            f"{len(posts)} posts: a back-test needs at least {MIN_PAST_POSTS} before the split and "
            f"{MIN_FUTURE_POSTS} after it"
        )
    past, future = list(posts[:cut]), list(posts[cut:])
    split_at = future[0].created_at
    analysis = analyse(past, past[-1].created_at, embeddings=embeddings[:cut])
    formula = analysis.engagement_formula
    values = formula.of(posts)
    y = np.log1p(values)
    data = _Split(past, future, np.asarray(embeddings[:cut], dtype=np.float64),
                  np.asarray(embeddings[cut:], dtype=np.float64), y[:cut], y[cut:], values[cut:],
                  week_ids([p.created_at for p in future]))
    prediction = analysis.model.predict(future, data.future_vectors)
    topics = topic_model(past, data.past_vectors, analysis, username)
    topic_scores = topics.effects(data.future_vectors)
    neighbours = nearest_neighbour_baseline(data.past_vectors, data.y_past, data.future_vectors)

    ranking = ContentRanking(
        model=_spearman_estimate(prediction.log_mean, data),
        nearest_neighbours=_spearman_estimate(neighbours, data),
        topics=_spearman_estimate(topic_scores, data),
        model_minus_neighbours=_estimate(
            spearman(prediction.log_mean, data.y_future) - spearman(neighbours, data.y_future),
            lambda i: spearman(prediction.log_mean[i], data.y_future[i]) - spearman(neighbours[i], data.y_future[i]),
            data.weeks),
        model_kind=analysis.model.kind,
        validation_spearman=analysis.model.validation_spearman,
    )
    model_rho, neighbours_rho = ranking.model.value, ranking.nearest_neighbours.value
    better = model_rho is not None and neighbours_rho is not None and model_rho >= neighbours_rho
    ranking = ranking.model_copy(update={"at_least_as_good": better})
    report = BacktestReport(
        platform=platform, username=username, embedder=embedder, engagement_formula=formula.text,
        posts=len(posts), past_posts=cut, future_posts=len(future), holdout=holdout,
        first_post_at=posts[0].created_at, split_at=split_at, last_post_at=posts[-1].created_at,
        content_ranking=ranking,
        slots=_slot_checks(analysis, data),
        formats=_format_checks(analysis, data),
        intervals=_interval_checks(analysis, data, [p.created_at for p in posts], y, cut, prediction.low,
                                   prediction.high),
        recency=_recency_check(analysis, data),
        topics=_topic_check(topics, data),
    )
    return report


def nearest_neighbour_baseline(past: np.ndarray, y_past: np.ndarray, future: np.ndarray,
                               k: int = NEIGHBOURS) -> np.ndarray:
    """Mean log engagement of the `k` past posts most similar (cosine) to each future post."""
    out = np.zeros(len(future))
    kk = min(k, len(past))
    for start in range(0, len(future), 1024):
        sims = future[start:start + 1024] @ past.T
        top = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
        out[start:start + 1024] = y_past[top].mean(axis=1)
    return out


def week_bootstrap(stat: Callable[[np.ndarray], float | None], weeks: np.ndarray, draws: int = DRAWS,
                   seed: int = SEED) -> tuple[float | None, float | None]:
    """90 % interval of `stat(indices)` when whole weeks of posts are resampled."""
    unique, inverse = np.unique(weeks, return_inverse=True)
    members = [np.flatnonzero(inverse == u) for u in range(len(unique))]
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(draws):
        index = np.concatenate([members[i] for i in rng.integers(0, len(unique), len(unique))])
        value = stat(index)
        if value is not None and np.isfinite(value):
            values.append(value)
    if len(values) < draws // 2:
        return None, None
    low, high = np.quantile(values, [0.05, 0.95])
    return round(float(low), 4), round(float(high), 4)


def _estimate(value: float | None, stat: Callable[[np.ndarray], float | None], weeks: np.ndarray) -> Estimate:
    if value is None:
        return Estimate(value=None)
    low, high = week_bootstrap(stat, weeks)
    return Estimate(value=round(float(value), 4), low=low, high=high)


def _spearman_estimate(score: np.ndarray, data: _Split) -> Estimate:
    return _estimate(spearman(score, data.y_future), lambda i: spearman(score[i], data.y_future[i]), data.weeks)


def _slot_check(chosen: Sequence[int], eligible: Sequence[int], data: _Split) -> SlotCheck:
    slots = np.array([slot_of(p.created_at) for p in data.future], dtype=np.int64)
    inside = np.isin(slots, list(chosen))
    value = auc(inside, data.y_future)
    randoms = random_slot_aucs(slots, data.y_future, eligible, k=len(chosen) or TOP)
    low = float(np.quantile(randoms, 0.025)) if len(randoms) else None
    high = float(np.quantile(randoms, 0.975)) if len(randoms) else None
    estimate = _estimate(value, lambda i: auc(inside[i], data.y_future[i]), data.weeks)
    return SlotCheck(
        slots=[_slot_label(s) for s in chosen], future_posts_inside=int(inside.sum()), auc=estimate,
        random_low=None if low is None else round(low, 4), random_high=None if high is None else round(high, 4),
        beats_random=bool(value is not None and high is not None and value > high),
    )


def _slot_label(slot: int) -> str:
    return f"{('Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun')[slot // 24]} {slot % 24:02d}:00"


def _slot_checks(analysis: EngagementAnalysis, data: _Split) -> SlotChecks:
    plan = analysis.slots
    eligible = [e.slot for e in plan.ranked]
    claimed = _slot_check([e.slot for e in plan.best], eligible, data) if plan.claimed else None
    would_be = _slot_check([e.slot for e in plan.ranked[:TOP]], eligible, data) if plan.ranked else None
    past_slots = np.array([slot_of(p.created_at) for p in data.past], dtype=np.int64)
    counts = np.bincount(past_slots, minlength=168)
    means = np.where(counts >= RAW_MEAN_MIN_POSTS,
                     np.bincount(past_slots, np.expm1(data.y_past), 168) / np.maximum(counts, 1), -1.0)
    best_raw = [int(s) for s in np.argsort(-means, kind="stable")[:TOP] if means[s] >= 0]
    raw = (_slot_check(best_raw, [int(s) for s in np.flatnonzero(counts >= RAW_MEAN_MIN_POSTS)], data)
           if best_raw else None)
    return SlotChecks(
        claimed=plan.claimed, message=plan.message, reason=plan.reason, ranker=plan.ranker,
        claimed_slots=claimed, would_be_top=would_be, best_raw_mean=raw,
        supported=claimed.beats_random if claimed is not None else True,
        internal=[{"ranker": c.ranker, "auc": c.auc, "threshold": c.threshold, "posts_inside": c.posts_inside,
                   "passed": c.passed, "reason": c.reason} for c in plan.checks],
    )


def _format_checks(analysis: EngagementAnalysis, data: _Split) -> list[FormatCheck]:
    out = []
    among_originals = many_replies(data.past)
    for effect in analysis.formats:
        keep = compared(data.future, effect.flag, among_originals)
        flags = np.array([flag(p, effect.flag) for p in data.future], dtype=bool)[keep]
        y_future = data.y_future[keep]
        held: float | None = None
        if flags.sum() >= 5 and (~flags).sum() >= 5:
            held = float(y_future[flags].mean() - y_future[~flags].mean())
        future_auc = auc(flags, y_future)
        out.append(FormatCheck(
            flag=effect.flag, name=FORMAT_NAMES[effect.flag][0], claimed=effect.claimed, note=effect.note,
            past_ratio=_ratio(effect.effect), past_ratio_low=_ratio(effect.low), past_ratio_high=_ratio(effect.high),
            future_with=int(flags.sum()), future_without=int((~flags).sum()), future_ratio=_ratio(held),
            future_auc=None if future_auc is None else round(future_auc, 4),
            sign_held=None if held is None or effect.effect is None else bool(np.sign(held) == np.sign(effect.effect)),
        ))
    return out


def _ratio(log_value: float | None) -> float | None:
    return None if log_value is None else round(float(np.exp(log_value)), 4)


def weekly_levels(times: Sequence[datetime], y: np.ndarray, start: int) -> tuple[np.ndarray, np.ndarray]:
    """Per post from `start`: the level known at Monday 00:00 UTC of its week (the median of the
    LEVEL_POSTS posts before it), and the days since then: a plan regenerated every Monday."""
    stamps = np.array([t.timestamp() for t in times])
    levels, horizons = [], []
    for i in range(start, len(times)):
        t = times[i]
        monday = (t - timedelta(days=t.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
        j = max(int(np.searchsorted(stamps, monday.timestamp())), 1)
        levels.append(float(np.median(y[max(0, j - LEVEL_POSTS):j])))
        horizons.append((t - monday).total_seconds() / 86400)
    return np.array(levels), np.array(horizons)


def _interval_checks(analysis: EngagementAnalysis, data: _Split, times: Sequence[datetime], y: np.ndarray, cut: int,
                     low: np.ndarray, high: np.ndarray) -> IntervalCheck:
    actual = data.future_values
    inside = (actual >= low) & (actual <= high)
    levels, horizons = weekly_levels(times, y, cut)
    weekly = analysis.model.predict(data.future, data.future_vectors, level=levels, horizon_days=horizons)
    inside_weekly = (actual >= weekly.low) & (actual <= weekly.high)
    first_month = np.array([(p.created_at - data.past[-1].created_at).days < 28 for p in data.future])
    return IntervalCheck(
        nominal=0.5,
        frozen_at_split=_estimate(float(inside.mean()), lambda i: float(inside[i].mean()), data.weeks),
        refreshed_weekly=_estimate(float(inside_weekly.mean()), lambda i: float(inside_weekly[i].mean()), data.weeks),
        first_28_days=None if not first_month.any() else round(float(inside[first_month].mean()), 4),
        first_28_days_posts=int(first_month.sum()),
        on_target=bool(0.4 <= float(inside_weekly.mean()) <= 0.6),
    )


def _recency_check(analysis: EngagementAnalysis, data: _Split) -> RecencyCheck:
    split = data.past[-1].created_at
    window = timedelta(weeks=RECENCY_WEEKS)
    before = data.y_past[[split - p.created_at <= window for p in data.past]]
    after_mask = [p.created_at - split <= window for p in data.future]
    after = data.y_future[after_mask]
    weeks_after = {int(w) for w, keep in zip(data.weeks, after_mask, strict=True) if keep}
    activity = analysis.activity
    return RecencyCheck(
        status=activity.status, trend=activity.trend, weekly_change=activity.weekly_change,
        active_weeks=activity.active_weeks, window_weeks=activity.window_weeks,
        median_log_before=None if not len(before) else round(float(np.median(before)), 4),
        median_log_after=None if not len(after) else round(float(np.median(after)), 4),
        active_weeks_after=len(weeks_after), posts_after=int(len(after)),
    )


def label_problems(labels: Sequence[str]) -> list[str]:
    """Label words that cleaning should have removed: URL pieces, contraction pieces, stop words."""
    bad = []
    for label in labels:
        if label in (LITTLE_TEXT, NO_SHARED_WORDS):
            continue
        for word in label.replace(",", " ").split():
            if word.startswith("@"):
                continue
            if word in ("https", "http", "co", "pic", "twitter", "com", "don", "ll", "ve", "amp", "t") \
                    or word in STOP_WORDS or not words(word):
                bad.append(word)
    return bad


def _topic_check(topics: TopicModel, data: _Split) -> TopicCheck:
    positions = topics.assign(data.future_vectors)
    recommended = np.array([topics.topics[int(p)].recommended for p in positions], dtype=bool)
    value = auc(recommended, data.y_future)
    return TopicCheck(
        k=topics.k, predictive=topics.predictive,
        validation_spearman={str(k): v for k, v in topics.validation_spearman.items()},
        labels=[t.label for t in topics.topics],
        recommended=[t.label for t in topics.topics if t.recommended],
        label_problems=label_problems([t.label for t in topics.topics]),
        recommended_auc=None if value is None else round(value, 4),
    )
