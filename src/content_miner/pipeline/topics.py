"""Topics of an account's posts: clusters of their embeddings, as many as predict engagement best.

**Clustering.** k-means (one start, fixed seed) on a `DIMS`-d PCA of the embeddings. The number
of topics is chosen from `K_CANDIDATES` by held-out predictive value, not by silhouette (which
was 0.04-0.07 for every k on real accounts, so the smallest k always won and every account got
two topics): for each k, clusters are fitted on the older `1 - VALIDATION` of the posts, each
cluster's shrunk mean level-free engagement predicts the newer posts' engagement, and the k with
the best Spearman wins (ties: the smaller k). When even the best does not clear the noise floor
(2 / sqrt(newer posts)), the plan says the topics describe the account but do not predict its
engagement. Every step is linear in the number of posts.

**Labels.** Class-based TF-IDF over cleaned words: links and their fragments (`t.co`,
`pic.twitter.com`), mentions, hashtags, HTML entities, numbers, contraction pieces ("don",
"ll", "ve") and stop words (English, plus chat words and common German and Spanish function
words) are removed, and a term must be used by at least `MIN_DOC_FREQ` posts of the topic.
Labels are kept distinct across topics; a cluster with no shared words is described as such.

**Ranking.** Topics are ranked by their effect: the mean level-free log engagement of their
posts relative to the account's, shrunk toward 0 by `PRIOR_POSTS` posts, with a 90 % interval.
Only topics above the account's average are recommended.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from threadpoolctl import threadpool_limits

from content_miner.pipeline.engagement_model import spearman

K_CANDIDATES: Final = (2, 3, 4, 6, 8, 10, 12, 16, 20)
MIN_TOPIC_POSTS: Final = 15  # a candidate k needs this many (older) posts per topic on average
DIMS: Final = 32
VALIDATION: Final = 0.2
# Time-ordered folds (fit on the posts before `start`, score on those up to `stop`), averaged: one
# validation window of a few dozen posts picks k mostly by chance.
FOLDS: Final = ((0.6, 0.8), (0.8, 1.0))
RESTARTS_SMALL, RESTARTS_LARGE, LARGE_ACCOUNT = 4, 1, 3000  # k-means starts (one is enough for big accounts)
SEED: Final = 11
PRIOR_POSTS: Final = 10.0
Z90: Final = 1.645
KEYWORDS: Final = 5
MIN_DOC_FREQ: Final = 3  # 2 for topics under 60 posts
LABEL_WORDS: Final = 3
NO_SHARED_WORDS: Final = "(mixed posts, no shared words)"
LITTLE_TEXT: Final = "(links, emoji, little text)"

_MENTION = re.compile(r"(?<![\w@])@(\w{1,15})")
_NOISE = re.compile(r"https?://\S+|www\.\S+|\bpic\.twitter\.com/\S+|\bt\.co/\S+|[@#]\w+|&\w+;")
_APOSTROPHES = re.compile(r"[\u2018\u2019\u02bc`]")
_WORD = re.compile(r"[a-z\u00c0-\u024f][a-z\u00c0-\u024f']+")

ENGLISH_STOP_WORDS: Final = frozenset(
    "a about above across after afterwards again against all almost alone along already also although always am "
    "among amongst amount an and another any anyhow anyone anything anyway anywhere are around as at back be became "
    "because become becomes becoming been before beforehand behind being below beside besides between beyond bill "
    "both bottom but by call can cannot cant co con could couldnt cry de describe detail do done down due during each "
    "eg eight either eleven else elsewhere empty enough etc even ever every everyone everything everywhere except few "
    "fifteen fifty fill find fire first five for former formerly forty found four from front full further get give go "
    "had has hasnt have he hence her here hereafter hereby herein hereupon hers herself him himself his how however "
    "hundred i ie if in inc indeed interest into is it its itself keep last latter latterly least less ltd made many "
    "may me meanwhile might mill mine more moreover most mostly move much must my myself name namely neither never "
    "nevertheless next nine no nobody none noone nor not nothing now nowhere of off often on once one only onto or "
    "other others otherwise our ours ourselves out over own part per perhaps please put rather re same see seem seemed "
    "seeming seems serious several she should show side since sincere six sixty so some somehow someone something "
    "sometime sometimes somewhere still such system take ten than that the their them themselves then thence there "
    "thereafter thereby therefore therein thereupon these they thick thin third this those though three through "
    "throughout thru thus to together too top toward towards twelve twenty two un under until up upon us very via was "
    "we well were what whatever when whence whenever where whereafter whereas whereby wherein whereupon wherever "
    "whether which while whither who whoever whole whom whose why will with within without would yet you your yours "
    "yourself yourselves".split()
)
CHAT_WORDS: Final = frozenset(
    "rt amp via http https www com pic twitter html htm ly bit don ll ve didn doesn isn wasn won aren couldn shouldn "
    "wouldn haven hasn ain im ive ur yes yeah yep ok okay lol haha hah oh just like got thanks thank thx good great "
    "really maybe sure today new way come year time make know think need want going thing things day days week look "
    "looks let say says said right lot little end best nice use gonna wanna gotta hey hi hello pls please did does "
    "doing done having went goes lots pretty".split()
)
# Frequent German and Spanish function words (bilingual accounts).
OTHER_LANGUAGE_WORDS: Final = frozenset(
    "der die das und ist ich nicht auch mit auf fur für ein eine zu den von mal wie was bei noch nur schon aber oder "
    "wenn dann hier sie wir ihr du er im am um aus dem des sich hat habe sind war wird kann mehr heute gibt gut ja "
    "nein "
    "danke bitte jetzt sehr bin dir mir mich dich uns euch jeden jede man el la los las que en un una por con para es "
    "lo al del se su mas más como pero sus le ya este esta muy hay".split()
)
STOP_WORDS: Final = ENGLISH_STOP_WORDS | CHAT_WORDS | OTHER_LANGUAGE_WORDS


def words(text: str) -> list[str]:
    """The content words of a post, lower case, in order (see the module doc for what is removed)."""
    text = _APOSTROPHES.sub("'", _NOISE.sub(" ", text.lower()))
    out = []
    for token in _WORD.findall(text):
        token = token.strip("'")
        if token.endswith("'s"):
            token = token[:-2]
        if "'" in token or len(token) < 3 or token in STOP_WORDS:
            continue
        out.append(token)
    return out


@dataclass(frozen=True)
class Topic:
    index: int  # cluster number (stable within one model)
    label: str
    keywords: tuple[str, ...]
    members: tuple[int, ...]  # row indices of the posts in the topic
    centroid: np.ndarray  # L2-normalised mean embedding of the members
    effect: float  # shrunk mean level-free log engagement vs the account: exp(effect) = lift
    low: float  # 90 % interval of the effect
    high: float
    hashtags: tuple[str, ...]  # most used in the topic first

    @property
    def support(self) -> int:
        return len(self.members)

    @property
    def lift(self) -> float:
        return float(np.exp(self.effect))

    @property
    def recommended(self) -> bool:
        """Above the account's average: only these topics get recommendations."""
        return self.effect > 0


@dataclass(frozen=True)
class TopicModel:
    k: int
    topics: tuple[Topic, ...]  # ranked, best effect first
    assignment: np.ndarray  # per post: the index of its topic in `topics`
    validation_spearman: dict[int, float]  # per candidate k
    predictive: bool  # the chosen k's validation Spearman clears the noise floor
    pca_mean: np.ndarray
    pca_components: np.ndarray
    centers: np.ndarray  # k-means centres in the PCA space, by cluster number

    def assign(self, embeddings: np.ndarray) -> np.ndarray:
        """The position in `topics` of each embedding's nearest topic (for posts not fitted)."""
        vectors = _unit((np.asarray(embeddings, dtype=np.float64) - self.pca_mean) @ self.pca_components.T)
        cluster = np.argmin(((vectors[:, None, :] - self.centers[None, :, :]) ** 2).sum(axis=2), axis=1)
        position = {t.index: i for i, t in enumerate(self.topics)}
        return np.array([position[int(c)] for c in cluster], dtype=np.int64)

    def effects(self, embeddings: np.ndarray) -> np.ndarray:
        """The effect of each embedding's nearest topic: the topic ranking as a score per post."""
        effects = np.array([t.effect for t in self.topics])
        return effects[self.assign(embeddings)] if len(embeddings) else np.zeros(0)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _kmeans(vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.cluster import KMeans

    starts = RESTARTS_SMALL if len(vectors) <= LARGE_ACCOUNT else RESTARTS_LARGE
    fitted = KMeans(n_clusters=k, n_init=starts, random_state=SEED, max_iter=100).fit(vectors)
    return fitted.labels_.astype(np.int64), fitted.cluster_centers_.astype(np.float64)


def _nearest(vectors: np.ndarray, centers: np.ndarray) -> np.ndarray:
    distances = (vectors ** 2).sum(axis=1)[:, None] - 2 * vectors @ centers.T + (centers ** 2).sum(axis=1)[None, :]
    return np.argmin(distances, axis=1)


def _effects(labels: np.ndarray, residuals: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shrunk mean residual per cluster, the cluster sizes, and the effects' standard errors."""
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    sums = np.bincount(labels, residuals, minlength=k)
    effect = sums / (counts + PRIOR_POSTS)
    centred = residuals - (sums / np.maximum(counts, 1))[labels]
    var = np.bincount(labels, centred ** 2, minlength=k) / np.maximum(counts - 1, 1)
    se = np.sqrt(var / np.maximum(counts, 1)) * counts / (counts + PRIOR_POSTS)
    return effect, counts, se


def fit_topics(texts: Sequence[str], hashtags: Sequence[Sequence[str]], embeddings: np.ndarray,
               residuals: np.ndarray, *, own_names: Sequence[str] = (),
               candidates: Sequence[int] = K_CANDIDATES) -> TopicModel:
    """Topics of posts (oldest first) with their embeddings and level-free log engagement.

    `own_names` (the account's own handle) are left out of labels.
    """
    n = len(texts)
    if n != len(embeddings) or n != len(residuals) or n != len(hashtags):
        raise ValueError("texts, hashtags, embeddings and engagement must have one row per post")
    if n == 0:
        raise ValueError("topics need at least one post")
    residuals = np.asarray(residuals, dtype=np.float64) - float(np.mean(residuals))
    with threadpool_limits(limits=1):
        return _fit(texts, hashtags, np.asarray(embeddings, dtype=np.float64), residuals, own_names, candidates)


def _fit(texts: Sequence[str], hashtags: Sequence[Sequence[str]], embeddings: np.ndarray, residuals: np.ndarray,
         own_names: Sequence[str], candidates: Sequence[int]) -> TopicModel:
    from sklearn.decomposition import PCA

    n = len(texts)
    dims = max(1, min(DIMS, embeddings.shape[1], n - 1))
    if n > 2:
        pca = PCA(n_components=dims, svd_solver="randomized", random_state=SEED).fit(embeddings)
        pca_mean, components = pca.mean_.astype(np.float64), pca.components_.astype(np.float64)
    else:
        pca_mean, components = embeddings.mean(axis=0), np.eye(embeddings.shape[1])[:1]
    vectors = _unit((embeddings - pca_mean) @ components.T)
    folds = [(int(n * start), int(n * stop)) for start, stop in FOLDS]
    scores: dict[int, float] = {}
    distinct = len(np.unique(np.round(vectors, 6), axis=0))
    for k in candidates:
        if k * MIN_TOPIC_POSTS > folds[-1][0] or k > distinct:
            break
        per_fold = []
        for start, stop in folds:
            if k * MIN_TOPIC_POSTS > start or stop - start < 5:
                continue
            labels, centers = _kmeans(vectors[:start], k)
            effect, _, _ = _effects(labels, residuals[:start], k)
            per_fold.append(spearman(effect[_nearest(vectors[start:stop], centers)], residuals[start:stop]))
        if per_fold:
            scores[k] = round(float(np.mean(per_fold)), 3)
    if scores:
        k = max(scores, key=lambda c: (scores[c], -c))
        labels, centers = _kmeans(vectors, k)
    else:
        k, labels, centers = 1, np.zeros(n, dtype=np.int64), vectors.mean(axis=0, keepdims=True)
    validated = folds[-1][1] - folds[0][0]
    predictive = bool(scores) and bool(scores[k] > 2 / np.sqrt(max(validated / len(folds), 1)))
    effect, counts, se = _effects(labels, residuals, k)
    keywords = label_topics(texts, labels, k, own_names=own_names)
    names = distinct_labels(keywords, np.argsort(-counts, kind="stable").tolist())
    topics = []
    for c in range(k):
        members = tuple(int(i) for i in np.flatnonzero(labels == c))
        if not members:
            continue
        centre = embeddings[list(members)].mean(axis=0)
        tags = Counter(t for i in members for t in dict.fromkeys(hashtags[i]))
        topics.append(Topic(
            index=c, label=names[c], keywords=keywords[c], members=members,
            centroid=(centre / max(float(np.linalg.norm(centre)), 1e-12)).astype(np.float32),
            effect=float(effect[c]), low=float(effect[c] - Z90 * se[c]), high=float(effect[c] + Z90 * se[c]),
            hashtags=tuple(t for t, _ in sorted(tags.items(), key=lambda kv: (-kv[1], kv[0]))),
        ))
    topics.sort(key=lambda t: (-round(t.effect, 9), -t.support, t.members[0]))
    position = {t.index: i for i, t in enumerate(topics)}
    assignment = np.array([position[int(c)] for c in labels], dtype=np.int64)
    return TopicModel(k, tuple(topics), assignment, scores, predictive, pca_mean, components, centers)


def label_topics(texts: Sequence[str], labels: np.ndarray, k: int, *, own_names: Sequence[str] = (),
                 limit: int = KEYWORDS) -> list[tuple[str, ...]]:
    """Class-based TF-IDF keywords per cluster (words and two-word phrases used by enough of its posts)."""
    from scipy.sparse import csr_matrix

    own = {name.lower().lstrip("@") for name in own_names}
    tokens = [words(text) for text in texts]
    vocabulary: dict[str, int] = {}
    rows, cols = [], []
    for row, token_list in enumerate(tokens):
        terms = set(token_list) | {f"{a} {b}" for a, b in zip(token_list, token_list[1:], strict=False) if a != b}
        for term in terms:
            rows.append(row)
            cols.append(vocabulary.setdefault(term, len(vocabulary)))
    size = np.bincount(labels, minlength=k)
    if not vocabulary:
        return [(LITTLE_TEXT,)] * k
    terms_by_column = np.empty(len(vocabulary), dtype=object)
    for term, column in vocabulary.items():
        terms_by_column[column] = term
    usage = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(texts), len(vocabulary)))
    membership = csr_matrix((np.ones(len(labels)), (labels, np.arange(len(labels)))), shape=(k, len(texts)))
    df = (membership @ usage).toarray()  # posts of each topic using each term
    tf = df / np.maximum(df.sum(axis=1, keepdims=True), 1)
    idf = np.log1p(df.sum(axis=1).mean() / np.maximum(df.sum(axis=0), 1))
    floor = np.where(size >= 60, MIN_DOC_FREQ, 2)[:, None]
    score = np.where(df >= floor, tf * idf, 0.0)
    out: list[tuple[str, ...]] = []
    for c in range(k):
        row = score[c]
        chosen: list[str] = []
        for j in np.lexsort((terms_by_column, -row)):
            if row[j] <= 0 or len(chosen) == limit:
                break
            term = str(terms_by_column[j])
            if any(part in existing.split() for existing in chosen for part in term.split()):
                continue
            chosen.append(term)
        members = np.flatnonzero(labels == c)
        mentions = Counter(m.lower() for i in members.tolist() for m in set(_MENTION.findall(texts[i])))
        top = [(name, count) for name, count in mentions.most_common(2) if name not in own]
        if top and top[0][1] >= 0.4 * max(len(members), 1):
            chosen = [f"@{top[0][0]}", *chosen][:limit]
        if not chosen:
            wordless = sum(not tokens[i] for i in members.tolist())
            chosen = [LITTLE_TEXT if wordless >= 0.5 * max(len(members), 1) else NO_SHARED_WORDS]
        out.append(tuple(chosen))
    return out


def distinct_labels(keywords: list[tuple[str, ...]], order: Sequence[int]) -> list[str]:
    """Up to LABEL_WORDS keywords per topic, preferring a lead word no larger topic's label starts with."""
    used: set[str] = set()
    labels = [""] * len(keywords)
    for c in order:
        fresh = [w for w in keywords[c] if w not in used]
        pick = (fresh + [w for w in keywords[c] if w in used])[:LABEL_WORDS]
        used.update(pick[:1])
        labels[c] = ", ".join(pick)
    return labels
