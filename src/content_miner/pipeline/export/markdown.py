"""The readable report: what to post, when, and why, for the account manager."""

from __future__ import annotations

from datetime import datetime

from content_miner.pipeline.plan import ContentPlan, Recommendation
from content_miner.pipeline.time_series import EngagementAnalysis


def _day(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d") if when else "n/a"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _recommendation(r: Recommendation) -> list[str]:
    e = r.expected_engagement
    lines = [
        f"### {r.rank}. {r.topic}",
        "",
        *(f"> {line}" if line else ">" for line in r.draft.splitlines()),
        "",
        f"- **When:** {r.slot.label}, next on {r.next_slot_at:%a %Y-%m-%d %H:%M} UTC "
        f"(slot lift {r.slot.lift:.2f}x from {r.slot.posts} past posts)",
        f"- **Expected engagement:** {e.low:.0f} to {e.high:.0f}, median {e.median:.0f}",
        f"- **Hashtags:** {' '.join('#' + t for t in r.hashtags) or 'none'}",
        f"- **Topic:** lift {r.lift:.2f}x over {r.support} posts, trend {r.topic_trend}; "
        f"keywords: {', '.join(r.topic_keywords)}",
        f"- **Why:** {r.rationale}",
        "- **Evidence (similar past posts):**",
    ]
    for p in r.evidence:
        lines.append(
            f"  - {p.created_at:%Y-%m-%d}, engagement {p.engagement:.0f} "
            f"({p.likes} likes, {p.reposts} reposts, {p.replies} replies): \"{_cell(p.text)}\""
        )
    return lines + [""]


def render_markdown(plan: ContentPlan, analysis: EngagementAnalysis, charts: dict[str, str]) -> str:
    """`charts` maps a caption to a PNG file name in the same directory."""
    trend = analysis.trend
    trend_text = plan.trend
    if trend.weekly_change is not None:
        trend_text += f" ({trend.weekly_change:+.1%} per week, Mann-Kendall p = {trend.p_value:.3f})"
    lines = [
        f"# Content plan: {plan.username} on {plan.platform}",
        "",
        f"Generated {plan.generated_at:%Y-%m-%d %H:%M} UTC from {plan.source.posts_analyzed} posts "
        f"({_day(plan.source.first_post_at)} to {_day(plan.source.last_post_at)}, "
        f"source: {plan.source.provider}, {plan.source.posts_dropped} dropped).",
        "",
        "## Summary",
        "",
        f"- Engagement per post = {plan.engagement_formula}: mean {plan.mean_engagement:.1f}, "
        f"median {plan.median_engagement:.1f}",
        f"- Trend: {trend_text}",
        f"- {len(plan.recommendations)} recommendations below, best first; "
        "all times are UTC.",
        "",
    ]
    if plan.notes:
        lines += ["## Notes", "", *(f"- {n}" for n in plan.notes), ""]
    lines += [
        "## Best posting slots",
        "",
        "Lift compares a slot's typical post (geometric mean, pulled toward the account's and its "
        "hour's and weekday's averages when it has few posts) with the account's typical post.",
        "",
        "| slot | lift | mean engagement | posts |",
        "| --- | --- | --- | --- |",
        *(f"| {s.label} | {s.lift:.2f}x | {s.mean_engagement:.1f} | {s.posts} |" for s in plan.best_slots),
        "",
        "## Recommendations",
        "",
    ]
    for r in plan.recommendations:
        lines += _recommendation(r)
    if plan.topics:
        lines += [
            "## Topics (clusters of the posts' meaning, best lift first)",
            "",
            "Trend: the topic's weekly median engagement, Mann-Kendall test as for the account, "
            "Holm-corrected across the topics (the slope is shown either way).",
            "",
            "| topic | posts | lift | trend | recommendations |",
            "| --- | --- | --- | --- | --- |",
            *(
                f"| {_cell(t.label)} | {t.posts} | {t.lift:.2f}x | {t.trend}"
                f"{'' if t.weekly_change is None else f' ({t.weekly_change:+.1%}/week)'} | {t.recommendations} |"
                for t in plan.topics
            ),
            "",
        ]
    if analysis.hashtags:
        lines += [
            "## Hashtag trends (recent third of the period vs before)",
            "",
            "| hashtag | earlier posts | recent posts | direction | lift |",
            "| --- | --- | --- | --- | --- |",
            *(
                f"| #{t.hashtag} | {t.earlier_posts} | {t.recent_posts} | {t.direction} | {t.lift:.2f}x |"
                for t in analysis.hashtags[:15]
            ),
            "",
        ]
    if analysis.outliers:
        lines += ["## Outlier posts", "", "Robust z-score of log engagement beyond 3.5:", ""]
        lines += [
            f"- {o.post_id}: engagement {o.engagement:.0f} ({o.kind}, z = {o.robust_z:+.1f})"
            for o in analysis.outliers[:10]
        ]
        lines.append("")
    if charts:
        lines += ["## Charts", ""]
        lines += [f"![{caption}]({name})" for caption, name in charts.items()]
        lines.append("")
    return "\n".join(lines)
