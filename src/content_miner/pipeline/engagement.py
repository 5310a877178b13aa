"""The one engagement formula every stage uses, and robust, shrunk lifts of groups of posts.

Engagement = likes + 2*reposts + 3*replies. A repost carries the post to a new audience and a
reply costs the reader real effort, so they weigh more than a like. Views are not counted: many
providers do not report them, and a formula must mean the same thing for every account.

Some sources have no reply counts (X archives, API v1.1 dumps). Counting their replies as 0 would
make every post look like it got none; instead the replies term is left out for the whole account
(`formula_for`), and the plan says so. Every figure compares posts within one account, so the
formula only has to be the same for all of an account's posts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from content_miner.pipeline.models import Post

ENGAGEMENT_FORMULA = "likes + 2*reposts + 3*replies"
FORMULA_WITHOUT_REPLIES = "likes + 2*reposts"
REPLIES_KNOWN_SHARE = 0.95  # below this share of posts with reply counts, the term is left out

# Pseudo-posts at the account mean added to every group (slot, topic) before its mean is taken.
# With 5, a slot needs about 5 posts before its own data outweighs the account-wide average,
# so one lucky post cannot make a slot or a topic win.
PRIOR_POSTS = 5.0


def engagement(post: Post, *, counts_replies: bool = True) -> float:
    replies = post.replies or 0 if counts_replies else 0
    return float(post.likes + 2 * post.reposts + 3 * replies)


@dataclass(frozen=True)
class EngagementFormula:
    """How one account's engagement is counted: with replies when its source records them."""

    counts_replies: bool = True

    @property
    def text(self) -> str:
        return ENGAGEMENT_FORMULA if self.counts_replies else FORMULA_WITHOUT_REPLIES

    def of(self, posts: Sequence[Post]) -> np.ndarray:
        return np.array([engagement(p, counts_replies=self.counts_replies) for p in posts], dtype=np.float64)


def formula_for(posts: Sequence[Post]) -> EngagementFormula:
    """Replies count when (nearly) every post has a reply count; a missing one is then taken as 0."""
    known = sum(p.replies is not None for p in posts)
    return EngagementFormula(counts_replies=bool(posts) and known >= REPLIES_KNOWN_SHARE * len(posts))


# Robust scale. Engagement is heavy-tailed (one viral post can hold half of an account's total),
# so group comparisons use log1p(engagement) with each value clipped at 3.5 robust standard
# deviations (Iglewicz and Hoaglin's outlier cut-off): one post moves a group's figure a bounded
# amount, however viral it was. A lift computed this way is a ratio of geometric means.
OUTLIER_Z = 3.5
_MAD_TO_SD = 1.4826


def robust_z(values: np.ndarray) -> np.ndarray:
    """(x - median) / (1.4826 * MAD); all zeros when the MAD is zero (no spread to measure)."""
    centre = float(np.median(values))
    mad = float(np.median(np.abs(values - centre))) * _MAD_TO_SD
    if mad <= 0:
        return np.zeros_like(values, dtype=np.float64)
    return (values - centre) / mad


def robust_log_engagement(values: np.ndarray) -> np.ndarray:
    """log1p(engagement), clipped to median +/- 3.5 robust standard deviations."""
    logs = np.log1p(np.asarray(values, dtype=np.float64))
    centre = float(np.median(logs))
    spread = float(np.median(np.abs(logs - centre))) * _MAD_TO_SD
    if spread <= 0:
        return logs
    return np.clip(logs, centre - OUTLIER_Z * spread, centre + OUTLIER_Z * spread)


def shrunk_log_lift(
    group_logs: np.ndarray,
    account_log_mean: float,
    *,
    prior_log_mean: float | None = None,
    prior_posts: float = PRIOR_POSTS,
) -> float:
    """exp(shrunk mean of the group's robust logs - account mean): 1.0 = an average group.

    The group's mean is pulled toward `prior_log_mean` (default: the account's) as if the group
    had `prior_posts` extra posts there.
    """
    prior = account_log_mean if prior_log_mean is None else prior_log_mean
    shrunk = (float(np.sum(group_logs)) + prior_posts * prior) / (len(group_logs) + prior_posts)
    return float(np.exp(shrunk - account_log_mean))
