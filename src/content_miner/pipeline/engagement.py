"""The one engagement formula every stage uses, and robust, shrunk lifts of groups of posts.

Engagement = likes + 2*reposts + 3*replies. A repost carries the post to a new audience and a
reply costs the reader real effort, so they weigh more than a like. Views are not counted: many
providers do not report them, and a formula must mean the same thing for every account.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from content_miner.pipeline.models import Post

ENGAGEMENT_FORMULA = "likes + 2*reposts + 3*replies"

# Pseudo-posts at the account mean added to every group (slot, topic) before its mean is taken.
# With 5, a slot needs about 5 posts before its own data outweighs the account-wide average,
# so one lucky post cannot make a slot or a topic win.
PRIOR_POSTS = 5.0


def engagement(post: Post) -> float:
    return float(post.likes + 2 * post.reposts + 3 * post.replies)


def engagement_of(posts: Sequence[Post]) -> np.ndarray:
    return np.array([engagement(p) for p in posts], dtype=np.float64)


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
