"""What Stages 4 and 5 fit (the engagement model, posting slots, format advice, topics), kept for re-runs.

Fitting takes seconds on a large account; a re-run with nothing new must cost next to nothing.
The fits depend only on the posts (their ids, times, counts, formats and texts) and their vectors,
never on the time of the run, so they are saved with a fingerprint of exactly those inputs
(`fingerprint`) and reused while it matches. What depends on the time of the run (dormancy, the
recent trend, the schedule) is always computed afresh. Files are plain `.npz` (no pickle): the
model in `DataLayout.account_engagement_model` (which `predict` reads), the rest beside it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np

from content_miner.common.account import AccountKey
from content_miner.common.layout import DataLayout
from content_miner.pipeline.engagement_model import EngagementModel, ModelFileError, load_model
from content_miner.pipeline.format_advice import FormatEffect
from content_miner.pipeline.models import Post
from content_miner.pipeline.npz_files import read_npz, write_npz
from content_miner.pipeline.slots import RankerCheck, SlotEffect, SlotPlan
from content_miner.pipeline.topics import Topic, TopicModel

logger = logging.getLogger(__name__)

FITS_VERSION: Final = "fits-1"  # change when any fitting code changes what it produces


@dataclass(frozen=True)
class AccountFits:
    fingerprint: str
    model: EngagementModel
    slots: SlotPlan
    formats: tuple[FormatEffect, ...]
    topics: TopicModel | None


def fingerprint(posts: Sequence[Post], embeddings: np.ndarray | None, embedder: str, account: str) -> str:
    """Identifies everything the fits depend on: the fitting code's version, the account, the posts
    (id, time, counts, formats, text) and their vectors."""
    digest = hashlib.sha256()
    digest.update(f"{FITS_VERSION}\x00{embedder}\x00{account}\x00".encode())
    for p in posts:
        digest.update(
            f"{p.id}\x00{p.created_at.isoformat()}\x00{p.likes}\x00{p.reposts}\x00{p.replies}\x00{p.is_reply}"
            f"{p.is_thread}{p.is_quote}{p.has_media}{p.has_link}\x00{p.text}\x01".encode("utf-8", "surrogatepass")
        )
    if embeddings is not None:
        digest.update(np.ascontiguousarray(embeddings, dtype=np.float32).tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class PriorFits:
    fingerprint: str
    fits: AccountFits | None  # None: nothing reusable (first run, or something changed)


def prior_fits(layout: DataLayout, key: AccountKey, posts: Sequence[Post], embeddings: np.ndarray | None,
               embedder: str) -> PriorFits:
    """The account's saved fits if they were made from exactly these posts and vectors."""
    expected = fingerprint(posts, embeddings, embedder, key.label)
    return PriorFits(expected, load_fits(layout.account_engagement_model(key), layout.account_fit_cache(key),
                                         expected))


def keep_fits(layout: DataLayout, key: AccountKey, fits: AccountFits, *, embedder: str) -> None:
    """Save the fits for the next run and `predict`; a failure costs the next run a refit, nothing more."""
    try:
        save_fits(layout.account_engagement_model(key), layout.account_fit_cache(key), fits, embedder=embedder)
    except OSError as exc:
        logger.warning("Could not save the fitted model of %s: %s", key.label, exc)


def save_fits(model_path: Path, fits_path: Path, fits: AccountFits, *, embedder: str) -> None:
    """Write the model and the other fits atomically; OSError if the file system refuses."""
    fits.model.save(model_path, fingerprint=fits.fingerprint, embedder=embedder)
    meta: dict[str, Any] = {
        "version": FITS_VERSION, "fingerprint": fits.fingerprint,
        "slots": {
            "claimed": fits.slots.claimed, "message": fits.slots.message, "reason": fits.slots.reason,
            "best": [asdict(e) for e in fits.slots.best], "ranked": [asdict(e) for e in fits.slots.ranked],
            "ranker": fits.slots.ranker, "checks": [asdict(c) for c in fits.slots.checks],
        },
        "formats": [asdict(f) for f in fits.formats],
    }
    arrays: dict[str, np.ndarray] = {}
    if fits.topics is not None:
        t = fits.topics
        meta["topics"] = {
            "k": t.k, "predictive": t.predictive, "validation": {str(k): v for k, v in t.validation_spearman.items()},
            "topics": [{"index": x.index, "label": x.label, "keywords": list(x.keywords), "effect": x.effect,
                        "low": x.low, "high": x.high, "hashtags": list(x.hashtags)} for x in t.topics],
        }
        arrays.update(topic_assignment=t.assignment, topic_pca_mean=t.pca_mean, topic_components=t.pca_components,
                      topic_centers=t.centers, topic_centroids=np.array([x.centroid for x in t.topics]))
    write_npz(fits_path, meta, arrays, default=_plain)


def _plain(value: object) -> object:
    """numpy scalars as plain JSON values."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def load_fits(model_path: Path, fits_path: Path, expected: str) -> AccountFits | None:
    """The saved fits if both files are readable and were made from inputs with fingerprint `expected`."""
    try:
        saved = load_model(model_path)
    except ModelFileError as exc:
        logger.debug("no reusable model: %s", exc)
        return None
    if saved.fingerprint != expected:
        return None
    try:
        meta, data = read_npz(fits_path)
        if meta.get("version") != FITS_VERSION or meta.get("fingerprint") != expected:
            return None
        topics = _topics(meta["topics"], data) if "topics" in meta else None
        slots = meta["slots"]
        plan = SlotPlan(
            claimed=bool(slots["claimed"]), message=str(slots["message"]), reason=str(slots["reason"]),
            best=tuple(SlotEffect(**e) for e in slots["best"]),
            ranked=tuple(SlotEffect(**e) for e in slots["ranked"]),
            ranker=str(slots["ranker"]), checks=tuple(RankerCheck(**c) for c in slots["checks"]),
        )
        formats = tuple(FormatEffect(**f) for f in meta["formats"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        logger.warning("Ignoring unreadable fits %s: %s", fits_path, type(exc).__name__)
        return None
    return AccountFits(expected, saved.model, plan, formats, topics)


def _topics(meta: dict[str, Any], data: Any) -> TopicModel:
    assignment = np.asarray(data["topic_assignment"], dtype=np.int64)
    centroids = np.asarray(data["topic_centroids"], dtype=np.float32)
    topics = []
    for position, t in enumerate(meta["topics"]):
        members = tuple(int(i) for i in np.flatnonzero(assignment == position))
        topics.append(Topic(index=int(t["index"]), label=str(t["label"]), keywords=tuple(t["keywords"]),
                            members=members, centroid=centroids[position], effect=float(t["effect"]),
                            low=float(t["low"]), high=float(t["high"]), hashtags=tuple(t["hashtags"])))
    return TopicModel(
        k=int(meta["k"]), topics=tuple(topics), assignment=assignment,
        validation_spearman={int(k): float(v) for k, v in meta["validation"].items()},
        predictive=bool(meta["predictive"]), pca_mean=np.asarray(data["topic_pca_mean"]),
        pca_components=np.asarray(data["topic_components"]), centers=np.asarray(data["topic_centers"]),
    )
