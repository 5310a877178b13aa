"""The back-test's result: `backtest.json` (this model, versioned) and the table it prints."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from content_miner.pipeline.draft_text import plural

BACKTEST_VERSION: Final = "1.0"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Estimate(_Frozen):
    """A figure on the future posts and its 90 % interval (bootstrap over whole weeks)."""

    value: float | None
    low: float | None = None
    high: float | None = None

    def text(self, digits: int = 2, percent: bool = False) -> str:
        if self.value is None:
            return "-"

        def shown(x: float) -> str:
            return f"{x * 100:.0f}%" if percent else f"{x:.{digits}f}"

        if self.low is None or self.high is None:
            return shown(self.value)
        return f"{shown(self.value)} [{shown(self.low)}, {shown(self.high)}]"


class ContentRanking(_Frozen):
    model: Estimate  # Spearman of the engagement model's prediction with future log engagement
    nearest_neighbours: Estimate  # the mean of the 20 most similar past posts
    topics: Estimate  # each future post's nearest topic's effect
    model_minus_neighbours: Estimate
    model_kind: str
    validation_spearman: dict[str, float]
    at_least_as_good: bool = False  # the model's Spearman >= the nearest-neighbour baseline's


class SlotCheck(_Frozen):
    slots: list[str]
    future_posts_inside: int
    auc: Estimate  # future posts in the slots vs the rest, raw log engagement
    random_low: float | None  # 2.5 % of random picks of as many eligible slots
    random_high: float | None  # 97.5 %
    beats_random: bool


class SlotChecks(_Frozen):
    claimed: bool
    message: str
    reason: str
    ranker: str
    claimed_slots: SlotCheck | None  # only when slots were claimed
    would_be_top: SlotCheck | None  # the five best lower bounds, claimed or not
    best_raw_mean: SlotCheck | None  # baseline: the five hours of the week with the best past mean
    supported: bool  # no claim, or a claim that beat random slots on future posts
    internal: list[dict[str, Any]]  # the plan's own check on its past, per ranker


class FormatCheck(_Frozen):
    flag: str
    name: str
    claimed: bool
    note: str
    past_ratio: float | None
    past_ratio_low: float | None
    past_ratio_high: float | None
    future_with: int
    future_without: int
    future_ratio: float | None  # geometric-mean engagement ratio, with / without, on future posts
    future_auc: float | None  # P(a future post with the format beats one without)
    sign_held: bool | None


class IntervalCheck(_Frozen):
    nominal: float
    frozen_at_split: Estimate  # share of future posts inside the 50 % interval, level as at the split
    refreshed_weekly: Estimate  # the level refreshed every Monday from newer posts (model not refitted)
    first_28_days: float | None
    first_28_days_posts: int
    on_target: bool  # refreshed_weekly within 40-60 %


class RecencyCheck(_Frozen):
    status: str
    trend: str
    weekly_change: float | None
    active_weeks: int
    window_weeks: int
    median_log_before: float | None  # log1p engagement, 26 weeks before the split
    median_log_after: float | None  # and after
    active_weeks_after: int
    posts_after: int


class TopicCheck(_Frozen):
    k: int
    predictive: bool
    validation_spearman: dict[str, float]
    labels: list[str]
    recommended: list[str]
    label_problems: list[str]
    recommended_auc: float | None


class BacktestReport(_Frozen):
    version: Literal["1.0"] = BACKTEST_VERSION
    platform: str
    username: str
    embedder: str
    engagement_formula: str
    posts: int
    past_posts: int
    future_posts: int
    holdout: float = Field(gt=0, lt=1)
    first_post_at: datetime
    split_at: datetime
    last_post_at: datetime
    content_ranking: ContentRanking
    slots: SlotChecks
    formats: list[FormatCheck]
    intervals: IntervalCheck
    recency: RecencyCheck
    topics: TopicCheck

    def table(self) -> str:
        """The checks as a Markdown table, one row per check (what `backtest` prints)."""
        r = self.content_ranking
        s = self.slots
        rows = [
            ("content ranking (model), Spearman", r.model.text(), f"NN-20 {r.nearest_neighbours.text()}",
             "yes" if r.at_least_as_good else "NO"),
            ("model - NN-20, Spearman", r.model_minus_neighbours.text(), f"model: {r.model_kind}", ""),
            ("topic ranking, Spearman", r.topics.text(), f"k = {self.topics.k}"
             f"{'' if self.topics.predictive else ', topics not predictive'}", ""),
        ]
        if s.claimed_slots is not None:
            c = s.claimed_slots
            rows.append((f"claimed slots ({', '.join(c.slots)}): AUC, {plural(c.future_posts_inside, 'post')}",
                         c.auc.text(),
                         f"random {_span(c.random_low, c.random_high)}", "yes" if c.beats_random else "NO"))
        else:
            rows.append(("posting slots", "no claim", s.message, "yes"))
            if s.would_be_top is not None:
                w = s.would_be_top
                rows.append((f"(not claimed) top-5 slots: AUC, {plural(w.future_posts_inside, 'post')}", w.auc.text(),
                             f"random {_span(w.random_low, w.random_high)}", ""))
        if s.best_raw_mean is not None:
            b = s.best_raw_mean
            rows.append((f"baseline: best raw-mean hours: AUC, {plural(b.future_posts_inside, 'post')}", b.auc.text(),
                         f"random {_span(b.random_low, b.random_high)}", ""))
        for f in self.formats:
            if f.flag == "is_reply" and f.future_auc is not None:
                rows.append(("original vs reply, AUC", f"{1 - f.future_auc:.2f}", plural(f.future_with, "reply"), ""))
        for f in self.formats:
            held = "-" if f.sign_held is None else ("held" if f.sign_held else "flipped")
            past = "-" if f.past_ratio is None else f"{f.past_ratio:.2f}x"
            future = "-" if f.future_ratio is None else f"{f.future_ratio:.2f}x"
            name = f"format: {f.name}{' (claimed)' if f.claimed else ''}"
            rows.append((name, f"{future} ({plural(f.future_with, 'post')})", f"past {past}, {f.note}",
                         held if f.claimed else ""))
        i = self.intervals
        rows.append(("inside the 50 % interval, level refreshed weekly", i.refreshed_weekly.text(percent=True),
                     f"frozen at split {i.frozen_at_split.text(percent=True)}", "yes" if i.on_target else "NO"))
        rec = self.recency
        change = "" if rec.weekly_change is None else f" ({rec.weekly_change:+.1%}/week)"
        after = "-" if rec.median_log_after is None else f"{rec.median_log_after:.2f}"
        before = "-" if rec.median_log_before is None else f"{rec.median_log_before:.2f}"
        rows.append(("recency at the split", f"{rec.status}, {rec.trend}{change}",
                     f"median log engagement {before} -> {after} in the next {rec.window_weeks} weeks "
                     f"({rec.active_weeks_after} active weeks)", ""))
        t = self.topics
        rows.append(("topic labels with debris", str(len(t.label_problems)), ", ".join(t.label_problems) or "none",
                     "yes" if not t.label_problems else "NO"))
        header = (f"Back-test of {self.platform}/{self.username}: {self.posts} posts, plan built on the first "
                  f"{self.past_posts} (to {self.split_at:%Y-%m-%d}), scored on the last {self.future_posts} "
                  f"(to {self.last_post_at:%Y-%m-%d}); engagement = {self.engagement_formula}; "
                  f"[90 % interval, weeks resampled]")
        lines = [header, "", "| check | future posts | baseline / detail | target met |", "| --- | --- | --- | --- |"]
        lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
        return "\n".join(lines)


def _span(low: float | None, high: float | None) -> str:
    return "-" if low is None or high is None else f"{low:.2f}-{high:.2f}"
