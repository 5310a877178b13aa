"""Stage 5, Content Generation: `generate_plan(...)` -> `ContentPlan`.

Topics come from the embeddings (`topics`); only topics above the account's average are
recommended. Recommendations are handed out to them by the D'Hondt rule on topic lift (each next
one goes to the topic with the highest lift / (recommendations it already has + 1)), each with a
different angle. Every draft is then scored by the account's engagement model (as an original
post in the format the history supports, at its scheduled time) and the recommendations are
ranked by that prediction: rec-01 is the draft the model expects to do best. Claimed posting
slots go to the best-ranked drafts first; without a claim, drafts are scheduled at the account's
usual posting hours and the plan says posting time has no reliable effect.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np

from content_miner.pipeline.angles import ANGLES, TopicBrief, template_draft
from content_miner.pipeline.draft_text import plural, postable, subject_phrases, surface_forms
from content_miner.pipeline.embedding import Embedder
from content_miner.pipeline.engagement_model import EngagementPrediction
from content_miner.pipeline.format_advice import FORMAT_NAMES, FormatEffect, advice_line
from content_miner.pipeline.llm_drafts import DraftEndpointError, DraftWriter
from content_miner.pipeline.models import Post
from content_miner.pipeline.plan import (
    AccountActivity,
    ContentPlan,
    EngagementRange,
    EvidencePost,
    FormatTip,
    ModelSummary,
    PlanSource,
    PostingSlot,
    PostingTime,
    Recommendation,
    TopicSummary,
)
from content_miner.pipeline.recency import WEEKS as RECENT_WEEKS
from content_miner.pipeline.scheduling import posting_slot, schedule, slot_means, usual_slots
from content_miner.pipeline.slots import NO_EFFECT, RANKER_NAMES, SlotEffect
from content_miner.pipeline.time_series import EngagementAnalysis
from content_miner.pipeline.topics import Topic, TopicModel, fit_topics
from content_miner.pipeline.trend import TREND_P_VALUE, EngagementTrend, engagement_trend

logger = logging.getLogger(__name__)

DEFAULT_RECOMMENDATIONS = 15
MIN_TOPIC_POSTS = 3
EVIDENCE_POSTS = 3
CENTRAL_POSTS = 10  # evidence is the best-performing of the topic's most central posts
STYLE_EXAMPLES = 3
MAX_HASHTAGS = 2
MAX_SUBJECTS = 3
INTERVAL_TEXT = "50 % interval for a post published within a week of the plan"


class PlanGenerationError(ValueError):
    """The inputs cannot make a plan (mismatched rows, no posts)."""


def allocate(topics: Sequence[Topic], count: int, subjects: dict[int, int] | None = None) -> list[tuple[Topic, int]]:
    """(topic, pick number) pairs; a topic gets at most one per 3 posts, and one per angle for each
    of its first three subjects (`subjects`: how many a topic has; a draft needs something to be about).
    Pick j of a topic takes angle j % 5 and subject j // 5."""
    given = {t.index: 0 for t in topics}
    per_angle = {t.index: max(1, min(MAX_SUBJECTS, (subjects or {}).get(t.index, 1))) for t in topics}
    capacity = {t.index: min(len(ANGLES) * per_angle[t.index], max(1, t.support // MIN_TOPIC_POSTS)) for t in topics}
    picks: list[tuple[Topic, int]] = []
    while len(picks) < count:
        open_topics = [t for t in topics if given[t.index] < capacity[t.index]]
        if not open_topics:
            break
        best = max(open_topics, key=lambda t: (t.lift / (given[t.index] + 1), -topics.index(t)))
        picks.append((best, given[best.index]))
        given[best.index] += 1
    return picks


@dataclass(frozen=True)
class _Draft:
    topic: Topic
    angle: int
    text: str
    hashtags: tuple[str, ...]
    evidence: list[EvidencePost]
    vector: np.ndarray  # what the model scores the draft's content by


def _evidence(topic: Topic, posts: Sequence[Post], embeddings: np.ndarray, values: np.ndarray) -> list[EvidencePost]:
    members = np.array(topic.members)
    originals = np.array([i for i in members.tolist() if not posts[i].is_reply])
    pool = originals if len(originals) >= EVIDENCE_POSTS else members
    similarity = embeddings[pool] @ topic.centroid
    central = pool[np.argsort(-similarity, kind="stable")[:CENTRAL_POSTS]]
    chosen = sorted(central.tolist(), key=lambda i: (-values[i], posts[i].id))[:EVIDENCE_POSTS]
    return [
        EvidencePost(
            id=posts[i].id, text=posts[i].text, created_at=posts[i].created_at, engagement=float(values[i]),
            likes=posts[i].likes, reposts=posts[i].reposts, replies=posts[i].replies,
            similarity=round(float(embeddings[i] @ topic.centroid), 4),
        )
        for i in chosen
    ]


def topic_trends(topics: Sequence[Topic], posts: Sequence[Post], values: np.ndarray,
                 now: datetime) -> dict[int, EngagementTrend]:
    """Per topic (by cluster index): the weekly Mann-Kendall test of its posts in the recent window
    (the last 26 weeks, as for the account). With one test per topic some would pass p < 0.05 by
    chance, so a topic is rising or falling only if its test survives Holm's correction."""
    since = now - timedelta(weeks=RECENT_WEEKS)
    raw = {}
    for t in topics:
        recent = [i for i in t.members if since < posts[i].created_at <= now]
        raw[t.index] = engagement_trend([posts[i].created_at for i in recent], values[recent])
    tested = sorted((trend.p_value, index) for index, trend in raw.items() if trend.p_value is not None)
    trends = dict(raw)
    failed_before = False
    for position, (p_value, index) in enumerate(tested):
        failed_before = failed_before or p_value >= TREND_P_VALUE / (len(tested) - position)
        if failed_before and trends[index].direction in ("rising", "falling"):
            trends[index] = replace(trends[index], direction="flat")
    return trends


def _topic_summaries(model: TopicModel, trends: dict[int, EngagementTrend],
                     given: dict[int, int]) -> list[TopicSummary]:
    return [
        TopicSummary(
            rank=rank, label=t.label, keywords=list(t.keywords), posts=t.support, lift=round(t.lift, 4),
            trend=trends[t.index].direction, weekly_change=_rounded(trends[t.index].weekly_change),
            recommendations=given.get(t.index, 0), recommended=t.recommended,
            lift_low=round(float(np.exp(t.low)), 4), lift_high=round(float(np.exp(t.high)), 4),
        )
        for rank, t in enumerate(model.topics, start=1)
    ]


def _rounded(change: float | None) -> float | None:
    return None if change is None else round(change, 4)


@dataclass(frozen=True)
class PublishFormat:
    """How the plan's drafts should be published, from the claimed format advice."""

    media: bool = False
    link: bool | None = None  # True: add a link; False: leave links out; None: no advice
    thread: bool = False

    @property
    def text(self) -> str:
        parts = ["original post"]
        if self.media:
            parts.append("with an image or video")
        if self.link is False:
            parts.append("without links")
        elif self.link:
            parts.append("with a link")
        if self.thread:
            parts.append("continued as a thread")
        return " ".join(parts[:2]) + "".join(f", {p}" for p in parts[2:])


def publish_format(effects: Sequence[FormatEffect]) -> PublishFormat:
    claimed = {e.flag: e for e in effects if e.claimed and e.effect is not None}
    link = claimed.get("has_link")
    return PublishFormat(
        media="has_media" in claimed and (claimed["has_media"].effect or 0) > 0,
        link=None if link is None else (link.effect or 0) > 0,
        thread="is_thread" in claimed and (claimed["is_thread"].effect or 0) > 0,
    )


def _format_tips(effects: Sequence[FormatEffect]) -> list[FormatTip]:
    return [
        FormatTip(
            format=e.flag, name=FORMAT_NAMES[e.flag][0],
            ratio=None if e.effect is None else round(float(np.exp(e.effect)), 4),
            ratio_low=None if e.low is None else round(float(np.exp(e.low)), 4),
            ratio_high=None if e.high is None else round(float(np.exp(e.high)), 4),
            posts_with=e.with_flag, posts_without=e.without, claimed=e.claimed,
            summary=advice_line(e) + ("" if e.claimed else f" (not claimed: {e.note})"),
        )
        for e in effects
    ]


def topic_subjects(topic: Topic, posts: Sequence[Post]) -> list[str]:
    """What a draft on `topic` can be about, best keyword first (`draft_text.subject_phrases`)."""
    return subject_phrases([posts[i].text for i in topic.members], list(topic.keywords))[:MAX_SUBJECTS]


def _subjects(usable: Sequence[str], rotation: int) -> tuple[str, ...]:
    """The first pass over the angles pairs the two best subjects; later passes take one each."""
    if rotation == 0 or not usable:
        return tuple(usable[:2])
    return (usable[rotation % len(usable)],)


def _style_examples(posts: Sequence[Post], residuals: np.ndarray) -> tuple[str, ...]:
    """The account's best recent original posts (by level-free engagement), cleaned, for the LLM's voice."""
    if not posts:
        return ()
    since = max(p.created_at for p in posts) - timedelta(weeks=RECENT_WEEKS)
    candidates = [i for i, p in enumerate(posts) if p.created_at > since and not p.is_reply] or \
        [i for i, p in enumerate(posts) if not p.is_reply] or list(range(len(posts)))
    ranked = sorted(candidates, key=lambda i: (-residuals[i], posts[i].id))
    examples: list[str] = []
    for i in ranked:
        text = postable(posts[i].text)
        if len(text.split()) >= 4 and text not in examples:
            examples.append(text)
        if len(examples) == STYLE_EXAMPLES:
            break
    return tuple(examples)


def _hashtags(topic: Topic, suggestable: tuple[str, ...]) -> tuple[str, ...]:
    allowed = set(suggestable)
    return tuple(tag for tag in topic.hashtags if tag in allowed)[:MAX_HASHTAGS]


def generate_plan(
    posts: Sequence[Post],
    embeddings: np.ndarray,
    analysis: EngagementAnalysis,
    *,
    platform: str,
    username: str,
    now: datetime,
    provider: str,
    posts_dropped: int = 0,
    count: int = DEFAULT_RECOMMENDATIONS,
    embedder: Embedder | None = None,
    drafter: DraftWriter | None = None,
    assumed_utc: int = 0,
    topics: TopicModel | None = None,
) -> ContentPlan:
    """The content plan for one account: posts (oldest first), their embeddings and analysis row-aligned.
    `topics` may be given when already fitted on the same posts (a re-run with nothing new)."""
    if len(posts) != len(embeddings) or len(posts) != analysis.posts:
        raise PlanGenerationError(
            f"posts ({len(posts)}), embeddings ({len(embeddings)}) and analysis ({analysis.posts}) differ"
        )
    embeddings = np.asarray(embeddings, dtype=np.float32)
    notes = list(analysis.notes)
    if assumed_utc:
        notes.append(f"{plural(assumed_utc, 'post')} had a timestamp without a time zone: taken as UTC")
    values = np.array(analysis.engagement)
    residuals = np.array(analysis.level_residuals)
    model = topics or topic_model(posts, embeddings, analysis, username)
    if model.k == 1:
        notes.append("too few posts to tell topics apart: all posts form one topic")
    elif not model.predictive:
        notes.append("topics describe what the account posts about but do not predict its engagement "
                     "(no number of topics did on its newer posts); drafts are ranked by the engagement model")
    eligible = [t for t in model.topics if t.recommended and t.support >= MIN_TOPIC_POSTS]
    if not eligible:
        eligible = [model.topics[0]]
        notes.append("no topic is above the account's average: the drafts follow its strongest topic")
    subjects = {t.index: topic_subjects(t, posts) for t in eligible}
    if any(subjects.values()):  # a topic with nothing to name would only get generic drafts
        eligible = [t for t in eligible if subjects[t.index]]
    picks = allocate(eligible, count, {index: len(found) for index, found in subjects.items()})
    if len(picks) < count:
        notes.append(
            f"{len(picks)} recommendations instead of {count}: {plural(len(eligible), 'topic')} above the "
            f"account's average with {plural(sum(t.support for t in eligible), 'post')} support no more "
            "without repeating themselves"
        )
    fmt = publish_format(analysis.formats)
    tags = analysis.hashtag_use.suggestable
    style = _style_examples(posts, residuals)
    drafts, failures = _drafts(picks, subjects, posts, embeddings, values, tags, style, embedder, drafter)
    if failures:
        notes.append(f"LLM endpoint failed ({failures[0]}): template drafts used instead")

    # Rank by the model's prediction at a neutral time, then hand out times best first.
    slots_plan = analysis.slots
    usual = usual_slots([p.created_at for p in posts], len(drafts))
    probe_time = now + timedelta(days=1)
    first = analysis.model.log_mean(*_candidates(drafts, analysis, fmt, [probe_time] * len(drafts)))
    order = sorted(range(len(drafts)), key=lambda i: (-round(float(first[i]), 9), -drafts[i].topic.lift, i))
    drafts = [drafts[i] for i in order]
    claimed: list[SlotEffect] = list(slots_plan.best) if slots_plan.claimed else []
    slot_numbers = [e.slot for e in claimed] if claimed else usual
    times = schedule(slot_numbers, len(drafts), now)
    predicted = _predict(drafts, analysis, fmt, times, now)
    means = slot_means([p.created_at for p in posts], values)
    trends = topic_trends(model.topics, posts, values, now)
    recommendations = []
    for rank, draft in enumerate(drafts, start=1):
        effect = claimed[(rank - 1) % len(claimed)] if claimed else None
        slot = None if effect is None else posting_slot(effect, means.get(effect.slot, 0.0))
        recommendations.append(Recommendation(
            id=f"rec-{rank:02d}", rank=rank, topic=draft.topic.label, topic_keywords=list(draft.topic.keywords),
            draft=draft.text, hashtags=list(draft.hashtags), slot=slot, next_slot_at=times[rank - 1],
            expected_engagement=EngagementRange(
                low=float(predicted.low[rank - 1]), median=float(predicted.median[rank - 1]),
                high=float(predicted.high[rank - 1])),
            lift=round(draft.topic.lift, 4), support=draft.topic.support, evidence=draft.evidence,
            rationale=_rationale(draft, trends[draft.topic.index], slot, fmt),
            topic_trend=trends[draft.topic.index].direction, format=fmt.text,
        ))
    given: dict[int, int] = {}
    for draft in drafts:
        given[draft.topic.index] = given.get(draft.topic.index, 0) + 1
    if not slots_plan.claimed:
        notes.append(f"{NO_EFFECT} ({slots_plan.reason}): drafts are scheduled at the account's usual hours")
    activity = analysis.activity
    return ContentPlan(
        platform=platform, username=username, generated_at=now,
        source=PlanSource(posts_analyzed=len(posts), posts_dropped=posts_dropped,
                          first_post_at=analysis.first_post_at, last_post_at=analysis.last_post_at, provider=provider),
        engagement_formula=analysis.formula,
        mean_engagement=round(analysis.mean_engagement, 2),
        median_engagement=round(analysis.median_engagement, 2),
        trend=activity.summary,
        best_slots=[posting_slot(e, means.get(e.slot, 0.0)) for e in claimed],
        recommendations=recommendations,
        topics=_topic_summaries(model, trends, given),
        notes=notes,
        posting_time=_posting_time(analysis),
        format_advice=_format_tips(analysis.formats),
        activity=AccountActivity(
            status="dormant" if activity.status == "dormant" else "active", trend=activity.trend,
            weekly_change=_rounded(activity.weekly_change), window_weeks=activity.window_weeks,
            active_weeks=activity.active_weeks, recent_posts=activity.recent_posts,
            typical_low=activity.typical_low, typical_high=activity.typical_high, note=activity.note,
        ),
        engagement_model=ModelSummary(kind=analysis.model.kind, posts=analysis.model.posts,
                                      validation_spearman=analysis.model.validation_spearman, interval=INTERVAL_TEXT),
    )


def topic_model(posts: Sequence[Post], embeddings: np.ndarray, analysis: EngagementAnalysis,
                username: str) -> TopicModel:
    """The topics of an account, as the plan and its back-test fit them."""
    return fit_topics([p.text for p in posts], [p.hashtags for p in posts], embeddings,
                      np.array(analysis.level_residuals), own_names=[username])


def _drafts(picks: Sequence[tuple[Topic, int]], subjects: dict[int, list[str]], posts: Sequence[Post],
            embeddings: np.ndarray, values: np.ndarray, suggestable: tuple[str, ...], style: tuple[str, ...],
            embedder: Embedder | None, drafter: DraftWriter | None) -> tuple[list[_Draft], list[str]]:
    failures: list[str] = []
    drafts: list[_Draft] = []
    llm_rows: list[int] = []
    seen: set[str] = set()
    per_topic: dict[int, tuple[list[EvidencePost], tuple[str, ...]]] = {}
    for topic, pick in picks:
        angle_no = pick % len(ANGLES)
        if topic.index not in per_topic:
            keywords = [k for k in topic.keywords if not k.startswith(("@", "("))]
            forms = surface_forms([posts[i].text for i in topic.members], keywords)
            per_topic[topic.index] = (_evidence(topic, posts, embeddings, values), tuple(forms[k] for k in keywords))
        evidence, keywords_shown = per_topic[topic.index]
        tags = _hashtags(topic, suggestable)
        brief = TopicBrief(
            topic=topic.label, keywords=keywords_shown, hashtags=tags,
            angle=ANGLES[angle_no].key, best_post=postable(evidence[0].text) if evidence else "",
            subjects=_subjects(subjects.get(topic.index, []), pick // len(ANGLES)), style_examples=style,
        )
        text = template_draft(brief)
        if drafter is None and text in seen:
            continue  # two topics with nothing to name would get the same generic draft
        seen.add(text)
        if drafter is not None and not failures:
            try:
                text = drafter.write(brief)
                llm_rows.append(len(drafts))
            except DraftEndpointError as exc:
                failures.append(str(exc))
                logger.warning("LLM drafts unavailable, using templates: %s", exc)
        drafts.append(_Draft(topic, angle_no, text, tags, evidence, topic.centroid.astype(np.float64)))
    if llm_rows and embedder is not None:
        # An LLM draft says something of its own: score its content by its own embedding.
        vectors = embedder.embed([drafts[i].text for i in llm_rows])
        for row, vector in zip(llm_rows, vectors, strict=True):
            drafts[row] = replace(drafts[row], vector=np.asarray(vector, dtype=np.float64))
    return drafts, failures


def _candidates(drafts: Sequence[_Draft], analysis: EngagementAnalysis, fmt: PublishFormat,
                times: Sequence[datetime]) -> tuple[list[Post], np.ndarray | None]:
    """The drafts as posts published at `times`, and their vectors when the model reads content."""
    candidates = [
        Post(id=f"draft-{i}", text=d.text, created_at=when, likes=0, reposts=0, replies=0, is_reply=False,
             is_thread=False, is_quote=False, has_media=fmt.media, has_link=bool(fmt.link))
        for i, (d, when) in enumerate(zip(drafts, times, strict=True))
    ]
    vectors = np.array([d.vector for d in drafts]) if drafts else np.zeros((0, 1))
    return candidates, vectors if "content" in analysis.model.groups else None


def _predict(drafts: Sequence[_Draft], analysis: EngagementAnalysis, fmt: PublishFormat,
             times: Sequence[datetime], now: datetime) -> EngagementPrediction:
    horizon = np.array([max((when - now).total_seconds() / 86400, 0.0) for when in times])
    return analysis.model.predict(*_candidates(drafts, analysis, fmt, times), horizon_days=horizon)


def _posting_time(analysis: EngagementAnalysis) -> PostingTime:
    plan = analysis.slots
    check = next((c for c in plan.checks if c.ranker == plan.ranker), None)
    return PostingTime(
        claimed=plan.claimed, summary=plan.message, reason=plan.reason, method=RANKER_NAMES[plan.ranker],
        check_auc=None if check is None or check.auc is None else round(check.auc, 4),
        check_threshold=None if check is None or check.threshold is None else round(check.threshold, 4),
    )


def _rationale(draft: _Draft, trend: EngagementTrend, slot: PostingSlot | None, fmt: PublishFormat) -> str:
    topic = draft.topic
    trend_words = ""
    if trend.direction in ("rising", "falling") and trend.weekly_change is not None:
        trend_words = f", {trend.direction} {trend.weekly_change:+.1%} per week lately"
    when = (f"{slot.label} is a strong slot ({slot.lift:.2f}x, at least {slot.lift_low or 0:.2f}x)"
            if slot is not None else "posting time has no reliable effect for this account, so it is "
            "scheduled at one of its usual hours")
    return (f"Posts about {topic.label} get {topic.lift:.2f}x the account's typical engagement "
            f"({plural(topic.support, 'post')}{trend_words}); {when}. Publish as: {fmt.text}. "
            f"Angle: {ANGLES[draft.angle].description}.")
