"""Topics of an account's posts: clusters of their embeddings, named by their distinctive words.

Clustering is KMeans on the L2-normalised embeddings (so Euclidean distance ranks like cosine),
with a fixed seed and k from 2 to 12 chosen by the best cosine silhouette: the same posts always
give the same topics. Each topic is labelled by class-based TF-IDF (the words frequent in the
topic and rare in the others) and ranked by its engagement lift, robust and shrunk toward the
account (`engagement.shrunk_log_lift`), so a topic of three lucky posts does not come first.

c-TF-IDF alone favours words repeated by habit (sign-offs like "worth it"); when an embedder is
given, its top candidates are re-ordered by how close each word's embedding is to the topic's
centre, so labels name what the posts are about.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.metrics import silhouette_score

from content_miner.pipeline.embedding import Embedder
from content_miner.pipeline.engagement import shrunk_log_lift

logger = logging.getLogger(__name__)

SEED = 20240601
MIN_K, MAX_K = 2, 12
MIN_POSTS_PER_CLUSTER = 8  # k is at most n / 8, so a topic can have real support
SILHOUETTE_SAMPLE = 3000  # silhouette is O(n^2): sample beyond this many posts
# KMeans restarts: 10 on small accounts; on large ones each restart costs seconds. On the
# benchmark's 10,000 posts the best of 3 scored silhouette 0.322 (k=8) against 0.328 (k=12) for
# the best of 10, in 5.5 s instead of 15.8 s.
RESTARTS_SMALL, RESTARTS_LARGE, LARGE_ACCOUNT = 10, 3, 3000
KEYWORDS = 6
CANDIDATES = 15  # c-TF-IDF candidates re-ordered by meaning
_NOISE = re.compile(r"https?://\S+|www\.\S+|[@#]\w+")  # hashtags are suggested separately


@dataclass(frozen=True)
class Topic:
    rank: int  # 1 = highest lift
    label: str
    keywords: tuple[str, ...]
    members: tuple[int, ...]  # row indices of the posts in the topic
    centroid: np.ndarray  # L2-normalised mean embedding
    lift: float  # shrunk, robust engagement lift
    hashtags: tuple[str, ...]  # most used in the topic first

    @property
    def support(self) -> int:
        return len(self.members)


@dataclass(frozen=True)
class TopicModel:
    topics: tuple[Topic, ...]  # ranked, best first
    assignment: tuple[int, ...]  # per post: index into `topics`
    k: int
    silhouette: float | None  # None when k = 1


def _choose_k(embeddings: np.ndarray) -> tuple[int, np.ndarray, float | None]:
    n = len(embeddings)
    top = min(MAX_K, n // MIN_POSTS_PER_CLUSTER)
    if top < MIN_K or len(np.unique(embeddings, axis=0)) < MIN_K:
        return 1, np.zeros(n, dtype=int), None
    best: tuple[float, int, np.ndarray] | None = None
    for k in range(MIN_K, top + 1):
        restarts = RESTARTS_SMALL if n <= LARGE_ACCOUNT else RESTARTS_LARGE
        labels = KMeans(n_clusters=k, n_init=restarts, random_state=SEED).fit_predict(embeddings)
        if len(set(labels)) < 2:
            continue
        score = float(
            silhouette_score(
                embeddings,
                labels,
                metric="cosine",
                sample_size=min(n, SILHOUETTE_SAMPLE),
                random_state=SEED,
            )
        )
        logger.debug("k=%d silhouette=%.4f", k, score)
        if best is None or score > best[0] + 1e-9:  # ties keep the smaller k
            best = (score, k, labels)
    if best is None:
        return 1, np.zeros(n, dtype=int), None
    return best[1], best[2], best[0]


def class_keywords(
    texts: Sequence[str], labels: np.ndarray, k: int, limit: int = KEYWORDS
) -> list[tuple[str, ...]]:
    """Class-based TF-IDF: term frequency within a topic x log(1 + avg words per topic / term total)."""
    docs = [" ".join(_NOISE.sub(" ", texts[int(i)]) for i in np.flatnonzero(labels == c)) for c in range(k)]
    # One document per topic: min_df would count topics, not posts, so it stays at 1 and
    # words seen only once in the whole account are dropped below instead.
    vectorizer = CountVectorizer(
        stop_words="english", ngram_range=(1, 2), token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z0-9]+\b"
    )
    try:
        counts = vectorizer.fit_transform(docs).toarray().astype(np.float64)
    except ValueError:  # every word was a stop word
        return [("misc",) for _ in range(k)]
    if (counts.sum(axis=0) >= 2).any():
        counts[:, counts.sum(axis=0) < 2] = 0
    terms = vectorizer.get_feature_names_out()
    tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    idf = np.log1p(counts.sum(axis=1).mean() / np.maximum(counts.sum(axis=0), 1))
    scores = tf * idf
    keywords: list[tuple[str, ...]] = []
    for row in scores:
        chosen: list[str] = []
        for j in sorted(range(len(terms)), key=lambda j: (-row[j], terms[j])):
            if row[j] <= 0 or len(chosen) == limit:
                break
            term = str(terms[j])
            # skip a word already inside a chosen phrase, or a phrase made of chosen words
            if any(term in c.split() or c in term.split() for c in chosen):
                continue
            chosen.append(term)
        keywords.append(tuple(chosen) or ("misc",))
    return keywords


def find_topics(
    texts: Sequence[str],
    hashtags: Sequence[Sequence[str]],
    embeddings: np.ndarray,
    robust_logs: np.ndarray,
    *,
    embedder: Embedder | None = None,
) -> TopicModel:
    """Cluster posts into topics and rank them by engagement lift (all inputs row-aligned)."""
    if len(texts) != len(embeddings) or len(texts) != len(robust_logs):
        raise ValueError("texts, embeddings and engagement must have one row per post")
    k, labels, silhouette = _choose_k(np.asarray(embeddings, dtype=np.float64))
    keywords = class_keywords(texts, labels, k, CANDIDATES if embedder else KEYWORDS)
    account = float(np.mean(robust_logs))
    drafts = []
    for c in range(k):
        members = tuple(int(i) for i in np.flatnonzero(labels == c))
        centre = embeddings[list(members)].mean(axis=0)
        tags = Counter(t for i in members for t in dict.fromkeys(hashtags[i]))
        words = keywords[c]
        if embedder is not None and words != ("misc",):
            closeness = embedder.embed(list(words)) @ (centre / max(float(np.linalg.norm(centre)), 1e-12))
            words = tuple(words[j] for j in np.argsort(-closeness, kind="stable"))
        drafts.append(
            (
                shrunk_log_lift(robust_logs[list(members)], account),
                members,
                (centre / max(float(np.linalg.norm(centre)), 1e-12)).astype(np.float32),
                words[:KEYWORDS],
                tuple(t for t, _ in sorted(tags.items(), key=lambda kv: (-kv[1], kv[0]))),
            )
        )
    # Rank: lift, then support, then the first member (cluster numbers are arbitrary).
    drafts.sort(key=lambda d: (-round(d[0], 9), -len(d[1]), d[1][0]))
    topics = tuple(
        Topic(rank, ", ".join(words[:3]), words, members, centre, lift, tags)
        for rank, (lift, members, centre, words, tags) in enumerate(drafts, start=1)
    )
    assignment = [0] * len(texts)
    for position, topic in enumerate(topics):
        for i in topic.members:
            assignment[i] = position
    return TopicModel(topics, tuple(assignment), k, silhouette)
