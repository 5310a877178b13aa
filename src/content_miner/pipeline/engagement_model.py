"""The account's engagement model: predicted engagement of any post, with a 50 % interval.

Fitted on the account's own history only (`fit_engagement_model`), used to rank drafts, to take
content and format out before posting slots are compared, and by `Miners/main.py predict`.

- **Target.** log1p(engagement) minus the account's *level*: the median of the previous
  `LEVEL_POSTS` posts (causal). Growth or decline in reach is not learned as content; a
  prediction adds back the latest level.
- **Features.** Format and text shape (`post_features`: reply, thread, quote, media, link,
  length, hashtags, mentions, ...), UTC hour-of-day harmonics and weekday, and content: the mean
  level-free engagement of the `K` most similar earlier posts (cosine on a `PCA_DIMS`-d PCA of
  the embeddings, causal: a post only sees older ones, within the last `WINDOW`), plus the first
  `PCA_FEATURES` PCA components.
- **Candidates.** Ridge, ridge weighted toward recent posts (365-day half-life) and kNN alone,
  compared by Spearman on the last `VALIDATION` share of the history (time order); the first in
  that order within `TIE` of the best is refitted on all of it. Ridge is first: on five real
  accounts it won or tied every time and beat the 20-nearest-neighbours baseline on later posts;
  on an account whose history predicts little, the candidates' scores differ by noise, and ridge
  (format, time and content) held up better than kNN (content only) on its later posts.
- **Interval.** The central 50 % of (validation residuals around a fresh level) + (the account's
  past level changes over the same horizon, last two years): bounds are whole numbers chosen so
  the predictive mass is nearest 50 % (accounts with 0-3 engagements per post need that).

Everything is numpy; the fit runs with BLAS limited to one thread (on a loaded 2-core host the
default threads made it 1.9-6.7 s instead of ~1.4 s for 10,000 posts). The fitted model is saved
as a plain `.npz` (no pickle) for `predict`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Final

import numpy as np
from threadpoolctl import threadpool_limits

from content_miner.pipeline.models import Post
from content_miner.pipeline.npz_files import read_npz, write_npz
from content_miner.pipeline.post_features import (
    FORMAT_FEATURES,
    TIME_FEATURES,
    days_since,
    format_matrix,
    time_matrix,
)

MODEL_FORMAT: Final = 1  # the .npz layout; a file of another version is refitted, never misread
LEVEL_POSTS: Final = 50
K: Final = 20
WINDOW: Final = 4000
PCA_DIMS: Final = 64
PCA_FEATURES: Final = 16
VALIDATION: Final = 0.2
TIE: Final = 0.01
RIDGE_ALPHA: Final = 3.0
RECENT_HALFLIFE_DAYS: Final = 365.0
MIN_MODEL_POSTS: Final = 30  # below this there is nothing to validate on: the level alone predicts
MAX_NOISE_SAMPLES: Final = 2000
DRIFT_LOOKBACK_DAYS: Final = 730.0
DRIFT_HORIZONS: Final = (1.0, 7.0, 14.0, 28.0, 56.0, 91.0, 182.0, 365.0, 730.0, 1460.0)
COVERAGE: Final = 0.5
SEED: Final = 0
ALL_GROUPS: Final = frozenset({"format", "time", "content"})
KINDS: Final = ("ridge", "ridge-recent", "knn")  # preferred first


class ModelFileError(ValueError):
    """A saved model that cannot be used (missing, another format, damaged)."""


@dataclass(frozen=True)
class EngagementPrediction:
    log_mean: np.ndarray  # predicted log1p(engagement): what drafts are ranked by
    low: np.ndarray  # the 50 % interval, whole engagement counts
    high: np.ndarray
    median: np.ndarray  # the predictive distribution's median, a whole count (inside [low, high])


@dataclass(frozen=True)
class EngagementModel:
    kind: str  # "level", "knn", "ridge" or "ridge-recent"
    groups: frozenset[str]  # feature groups used: "format", "time", "content"
    level: float  # median log1p engagement of the last LEVEL_POSTS posts
    end: datetime  # time of the newest post fitted
    posts: int
    validation_spearman: dict[str, float]
    noise: np.ndarray  # validation residuals around a fresh level
    drift: tuple[np.ndarray, ...]  # per DRIFT_HORIZONS entry: past level changes over that horizon
    pca_mean: np.ndarray  # (d,) embedding mean; empty without content features
    pca_components: np.ndarray  # (p, d)
    ref_vectors: np.ndarray  # (m, p) unit vectors of the newest posts, for the kNN feature
    ref_residuals: np.ndarray  # (m,) their level-free log engagement
    coef: np.ndarray  # ridge coefficients on standardised features (empty for knn / level)
    intercept: float
    x_mean: np.ndarray
    x_scale: np.ndarray
    time_columns: tuple[int, int]  # [start, stop) of the time features in the design
    training_residuals: np.ndarray = field(default_factory=lambda: np.zeros(0))  # y - level - fit
    time_free_residuals: np.ndarray = field(default_factory=lambda: np.zeros(0))  # + the time part

    # -- prediction ----------------------------------------------------------------------------
    def predict(self, posts: Sequence[Post], embeddings: np.ndarray | None, *, level: np.ndarray | float | None = None,
                horizon_days: np.ndarray | None = None, coverage: float = COVERAGE) -> EngagementPrediction:
        """Prediction and central `coverage` interval for `posts` (any posts: drafts, new posts).

        `level` overrides the level at the end of the history (e.g. refreshed from newer posts);
        `horizon_days` is how far past that level each post is (default: from the newest fitted post).
        """
        n = len(posts)
        log_mean = self.log_mean(posts, embeddings, level=level)
        if horizon_days is None:
            horizon_days = np.array([(p.created_at - self.end).total_seconds() / 86400 for p in posts])
        low, high, median = np.zeros(n), np.zeros(n), np.zeros(n)
        buckets = np.clip(np.searchsorted(np.array(DRIFT_HORIZONS), np.maximum(horizon_days, 0.0)), 0,
                          len(DRIFT_HORIZONS) - 1)
        grid = np.linspace(0.005, 0.995, 199)
        lo_q, hi_q = 0.5 - coverage / 2, 0.5 + coverage / 2
        for bucket in np.unique(buckets):
            spread = np.quantile(np.add.outer(self.noise, self.drift[int(bucket)]).ravel(), grid)
            for row in np.flatnonzero(buckets == bucket):
                samples = log_mean[row] + spread
                low[row], high[row] = _whole_number_interval(samples, lo_q, hi_q)
                middle = float(np.rint(np.expm1(max(float(np.median(samples)), 0.0))))
                median[row] = min(max(middle, low[row]), high[row])
        return EngagementPrediction(log_mean, low, high, median)

    def log_mean(self, posts: Sequence[Post], embeddings: np.ndarray | None, *,
                 level: np.ndarray | float | None = None) -> np.ndarray:
        """The predicted log engagement of `posts` alone, without its interval (enough to rank them)."""
        base = self.level if level is None else np.asarray(level, dtype=np.float64)
        return base + self._residual_part(posts, embeddings, include_time=True)

    def _residual_part(self, posts: Sequence[Post], embeddings: np.ndarray | None, *, include_time: bool) -> np.ndarray:
        if self.kind == "level" or not posts:
            return np.zeros(len(posts))
        vectors, knn = self._content(embeddings, len(posts))
        if self.kind == "knn":
            return knn
        x = _design(posts, knn, vectors, self.groups)
        z = (x - self.x_mean) / self.x_scale
        if not include_time:
            start, stop = self.time_columns
            z[:, start:stop] = 0.0
        return z @ self.coef + self.intercept

    def _content(self, embeddings: np.ndarray | None, n: int) -> tuple[np.ndarray, np.ndarray]:
        if "content" not in self.groups:
            return np.zeros((n, 0)), np.zeros(n)
        if embeddings is None or len(embeddings) != n:
            raise ValueError("this model needs one embedding per post")
        vectors = _unit((np.asarray(embeddings, dtype=np.float64) - self.pca_mean) @ self.pca_components.T)
        return vectors, _knn_mean(vectors, self.ref_vectors, self.ref_residuals)

    # -- persistence -----------------------------------------------------------------------------
    def save(self, path: Path, *, fingerprint: str = "", embedder: str = "") -> None:
        """Write the model atomically as an .npz without pickled objects."""
        meta = {
            "format": MODEL_FORMAT, "kind": self.kind, "groups": sorted(self.groups), "level": self.level,
            "end": self.end.isoformat(), "posts": self.posts, "validation_spearman": self.validation_spearman,
            "intercept": self.intercept, "time_columns": list(self.time_columns), "fingerprint": fingerprint,
            "embedder": embedder,
        }
        drift_lengths = np.array([len(d) for d in self.drift], dtype=np.int64)
        write_npz(path, meta, {
            "noise": self.noise, "drift": np.concatenate(self.drift), "drift_lengths": drift_lengths,
            "pca_mean": self.pca_mean, "pca_components": self.pca_components,
            "ref_vectors": self.ref_vectors.astype(np.float32), "ref_residuals": self.ref_residuals,
            "coef": self.coef, "x_mean": self.x_mean, "x_scale": self.x_scale,
            "training_residuals": self.training_residuals, "time_free_residuals": self.time_free_residuals})


@dataclass(frozen=True)
class SavedModel:
    model: EngagementModel
    fingerprint: str
    embedder: str


def load_model(path: Path) -> SavedModel:
    """A model written by `EngagementModel.save`; ModelFileError with a one-line reason."""
    try:
        meta, data = read_npz(path)
        if meta.get("format") != MODEL_FORMAT:
            raise ModelFileError(f"{path.name} has model format {meta.get('format')!r}, expected {MODEL_FORMAT}")
        lengths = data["drift_lengths"]
        drift = tuple(np.split(data["drift"], np.cumsum(lengths)[:-1]))
        model = EngagementModel(
            kind=str(meta["kind"]), groups=frozenset(meta["groups"]), level=float(meta["level"]),
            end=datetime.fromisoformat(meta["end"]), posts=int(meta["posts"]),
            validation_spearman={str(k): float(v) for k, v in meta["validation_spearman"].items()},
            noise=data["noise"], drift=drift, pca_mean=data["pca_mean"], pca_components=data["pca_components"],
            ref_vectors=data["ref_vectors"].astype(np.float64), ref_residuals=data["ref_residuals"],
            coef=data["coef"], intercept=float(meta["intercept"]), x_mean=data["x_mean"],
            x_scale=data["x_scale"], time_columns=(int(meta["time_columns"][0]), int(meta["time_columns"][1])),
            training_residuals=data["training_residuals"], time_free_residuals=data["time_free_residuals"],
        )
        return SavedModel(model, str(meta.get("fingerprint", "")), str(meta.get("embedder", "")))
    except FileNotFoundError:
        raise ModelFileError(f"no saved model at {path}") from None
    except ModelFileError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelFileError(f"{path.name} cannot be read: {type(exc).__name__}") from None


# -- fitting ---------------------------------------------------------------------------------------
def causal_level(y: np.ndarray, window: int = LEVEL_POSTS) -> np.ndarray:
    """Median of the previous `window` values; the first post's level is its own value."""
    n = len(y)
    out = np.empty(n)
    if n == 0:
        return out
    out[0] = y[0]
    for i in range(1, min(n, window + 1)):
        out[i] = np.median(y[:i])
    if n > window:
        out[window:] = np.median(np.lib.stride_tricks.sliding_window_view(y, window)[: n - window], axis=1)
    return out


def fit_engagement_model(posts: Sequence[Post], embeddings: np.ndarray | None, engagement: np.ndarray,
                         *, groups: frozenset[str] = ALL_GROUPS) -> EngagementModel:
    """Fit on `posts` (oldest first), their embeddings (None: no content features) and engagement."""
    if len(posts) != len(engagement) or (embeddings is not None and len(embeddings) != len(posts)):
        raise ValueError("posts, embeddings and engagement must have one row per post")
    if not posts:
        raise ValueError("an engagement model needs at least one post")
    if embeddings is None:
        groups = groups - {"content"}
    with threadpool_limits(limits=1):
        return _fit(posts, embeddings, np.asarray(engagement, dtype=np.float64), groups)


def _fit(posts: Sequence[Post], embeddings: np.ndarray | None, engagement: np.ndarray,
         groups: frozenset[str]) -> EngagementModel:
    n = len(posts)
    y = np.log1p(np.maximum(engagement, 0.0))
    level = causal_level(y)
    resid = y - level
    times = [p.created_at for p in posts]
    days = days_since(times, times[0])
    end_level = float(np.median(y[-LEVEL_POSTS:]))
    level_after = np.append(level[1:], end_level)  # the level known right after each post
    drift = _drift_samples(days, level_after)
    empty = np.zeros(0)
    if n < MIN_MODEL_POSTS:
        noise = _bounded(resid)
        return EngagementModel("level", frozenset(), end_level, times[-1], n, {}, noise, drift, empty,
                               np.zeros((0, 0)), np.zeros((0, 0)), empty, empty, 0.0, empty, empty, (0, 0),
                               resid.copy(), resid.copy())

    pca_mean, components = np.zeros(0), np.zeros((0, 0))
    vectors = np.zeros((n, 0))
    if "content" in groups and embeddings is not None:
        pca_mean, components = _pca(np.asarray(embeddings, dtype=np.float64), min(PCA_DIMS, n - 1))
        vectors = _unit((np.asarray(embeddings, dtype=np.float64) - pca_mean) @ components.T)
    knn_causal = _knn_causal(vectors, resid) if vectors.shape[1] else np.zeros(n)
    fmt = format_matrix(posts)
    cut = int(n * (1 - VALIDATION))
    knn_val = _knn_mean(vectors[cut:], vectors[:cut], resid[:cut]) if vectors.shape[1] else np.zeros(n - cut)
    x_fit = _design(posts[:cut], knn_causal[:cut], vectors[:cut], groups, fmt[:cut])
    x_val = _design(posts[cut:], knn_val, vectors[cut:], groups, fmt[cut:])
    kinds = [kind for kind in KINDS if kind != "knn" or vectors.shape[1]]
    scores: dict[str, float] = {}
    noises: dict[str, np.ndarray] = {}
    for kind in kinds:
        if kind == "knn":
            pred = knn_val
        else:
            ridge = _ridge(x_fit, resid[:cut], _weights(days[:cut], kind))
            pred = ridge.predict(x_val)
        scores[kind] = round(_spearman(pred, y[cut:]), 4)
        noises[kind] = resid[cut:] - pred
    best = max(scores.values())
    kind = next(k for k in kinds if scores[k] >= best - TIE)
    x_all = _design(posts, knn_causal, vectors, groups, fmt)
    time_columns = _time_columns(groups)
    if kind == "knn":
        coef, intercept, x_mean, x_scale = empty, 0.0, empty, empty
        fitted, time_part = knn_causal, np.zeros(n)
    else:
        ridge = _ridge(x_all, resid, _weights(days, kind))
        coef, intercept, x_mean, x_scale = ridge.coef, ridge.intercept, ridge.mean, ridge.scale
        z = (x_all - x_mean) / x_scale
        fitted = z @ coef + intercept
        start, stop = time_columns
        time_part = z[:, start:stop] @ coef[start:stop]
    keep = slice(max(0, n - WINDOW), n)
    return EngagementModel(
        kind=kind, groups=groups if vectors.shape[1] else groups - {"content"}, level=end_level, end=times[-1], posts=n,
        validation_spearman=scores, noise=_bounded(noises[kind]), drift=drift, pca_mean=pca_mean,
        pca_components=components, ref_vectors=vectors[keep], ref_residuals=resid[keep], coef=coef,
        intercept=intercept, x_mean=x_mean, x_scale=x_scale, time_columns=time_columns,
        training_residuals=resid - fitted, time_free_residuals=resid - fitted + time_part,
    )


@dataclass(frozen=True)
class _Ridge:
    coef: np.ndarray
    intercept: float
    mean: np.ndarray
    scale: np.ndarray

    def predict(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.scale) @ self.coef + self.intercept


def _ridge(x: np.ndarray, y: np.ndarray, weights: np.ndarray | None) -> _Ridge:
    """Ridge regression on standardised columns (alpha RIDGE_ALPHA), intercept not penalised."""
    w = np.ones(len(y)) if weights is None else weights
    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-9
    z = (x - mean) / scale
    total = w.sum()
    z_bar = (w @ z) / total
    y_bar = float(w @ y / total)
    zc = z - z_bar
    gram = zc.T @ (zc * w[:, None]) + RIDGE_ALPHA * np.eye(z.shape[1])
    coef = np.linalg.solve(gram, zc.T @ (w * (y - y_bar)))
    return _Ridge(coef, y_bar - float(z_bar @ coef), mean, scale)


def _weights(days: np.ndarray, kind: str) -> np.ndarray | None:
    if kind != "ridge-recent" or not len(days):
        return None
    return 0.5 ** ((days.max() - days) / RECENT_HALFLIFE_DAYS)


def _time_columns(groups: frozenset[str]) -> tuple[int, int]:
    start = len(FORMAT_FEATURES) if "format" in groups else 0
    return (start, start + TIME_FEATURES) if "time" in groups else (start, start)


def _design(posts: Sequence[Post], knn: np.ndarray, vectors: np.ndarray, groups: frozenset[str],
            fmt: np.ndarray | None = None) -> np.ndarray:
    parts = [np.zeros((len(posts), 0))]
    if "format" in groups:
        parts.append(format_matrix(posts) if fmt is None else fmt)
    if "time" in groups:
        parts.append(time_matrix([p.created_at for p in posts]))
    if "content" in groups and vectors.shape[1]:
        parts += [knn[:, None], vectors[:, :PCA_FEATURES]]
    return np.column_stack(parts)


def _pca(x: np.ndarray, dims: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and the top `dims` principal directions (rows), signs fixed so results are reproducible."""
    from sklearn.decomposition import PCA

    dims = max(1, min(dims, x.shape[1], len(x) - 1)) if len(x) > 1 else 1
    pca = PCA(n_components=dims, svd_solver="randomized", random_state=SEED).fit(x)
    return pca.mean_.astype(np.float64), pca.components_.astype(np.float64)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _knn_mean(query: np.ndarray, ref: np.ndarray, values: np.ndarray, k: int = K) -> np.ndarray:
    """Mean of `values` over each query's `k` most similar reference rows (cosine; last WINDOW rows)."""
    ref, values = ref[-WINDOW:], values[-WINDOW:]
    out = np.zeros(len(query))
    if not len(ref) or not len(query):
        return out
    kk = min(k, len(ref))
    for start in range(0, len(query), 2048):
        sims = query[start:start + 2048] @ ref.T
        top = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
        out[start:start + 2048] = values[top].mean(axis=1)
    return out


def _knn_causal(vectors: np.ndarray, values: np.ndarray, k: int = K) -> np.ndarray:
    """Like `_knn_mean` with each post its own query, seeing only the WINDOW posts before it
    (0 until it has 5 of them: too few neighbours say nothing)."""
    n = len(vectors)
    out = np.zeros(n)
    for start in range(0, n, 1024):
        stop = min(n, start + 1024)
        lo = max(0, start - WINDOW)
        sims = vectors[start:stop] @ vectors[lo:stop].T
        rows = np.arange(start, stop)[:, None]
        cols = np.arange(lo, stop)[None, :]
        sims[(cols >= rows) | (cols < rows - WINDOW)] = -np.inf
        kk = min(k, stop - lo)
        top = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
        picked = np.take_along_axis(sims, top, axis=1)
        valid = np.isfinite(picked)
        sums = np.where(valid, values[lo:stop][top], 0.0).sum(axis=1)
        counts = valid.sum(axis=1)
        means = sums / np.maximum(counts, 1)
        out[start:stop] = np.where(np.minimum(rows[:, 0], WINDOW) >= 5, means, 0.0)
    return out


def _drift_samples(days: np.ndarray, level: np.ndarray, limit: int = 400) -> tuple[np.ndarray, ...]:
    """Per horizon h: level(t + h) - level(t) over past posts t (at most `limit`, evenly spaced),
    preferring pairs that end in the last DRIFT_LOOKBACK_DAYS (recent drift, not old growth)."""
    out: list[np.ndarray] = []
    for horizon in DRIFT_HORIZONS:
        later = np.searchsorted(days, days + horizon)
        ok = np.flatnonzero(later < len(days))
        recent = ok[days[ok] + horizon >= days[-1] - DRIFT_LOOKBACK_DAYS] if len(ok) else ok
        ok = recent if len(recent) >= 30 else ok
        if len(ok) < 10:
            out.append(out[-1] if out else np.zeros(1))
            continue
        ok = ok[np.linspace(0, len(ok) - 1, min(limit, len(ok))).astype(int)]
        out.append(level[later[ok]] - level[ok])
    return tuple(out)


def _bounded(values: np.ndarray) -> np.ndarray:
    if len(values) <= MAX_NOISE_SAMPLES:
        return np.asarray(values, dtype=np.float64) if len(values) else np.zeros(1)
    return np.asarray(values, dtype=np.float64)[np.linspace(0, len(values) - 1, MAX_NOISE_SAMPLES).astype(int)]


def _whole_number_interval(log_samples: np.ndarray, lo_q: float, hi_q: float) -> tuple[float, float]:
    """Whole-number bounds whose predictive mass is nearest hi_q - lo_q (counts are discrete)."""
    counts = np.rint(np.expm1(np.maximum(log_samples, 0.0)))
    lo, hi = np.expm1(np.maximum(np.quantile(log_samples, [lo_q, hi_q]), 0.0))
    best: tuple[float, float, float] | None = None
    for a in sorted({float(np.floor(lo)), float(np.ceil(lo))}):
        for b in sorted({float(np.floor(hi)), float(np.ceil(hi))}):
            if b < a:
                continue
            miss = abs(float(np.mean((counts >= a) & (counts <= b))) - (hi_q - lo_q))
            if best is None or miss < best[0] - 1e-12 or (abs(miss - best[0]) <= 1e-12 and b - a < best[2] - best[1]):
                best = (miss, a, b)
    assert best is not None  # floor(lo) <= floor(hi) always gives one candidate
    return best[1], best[2]


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    return float(np.nan_to_num(spearmanr(a, b).statistic))


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation; 0 when either side is constant or there are fewer than 3 values."""
    return _spearman(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))

