"""The readable report: what to post, when, and why, for the account manager."""

from __future__ import annotations

from datetime import datetime

from content_miner.pipeline.draft_text import plural
from content_miner.pipeline.plan import ContentPlan, Recommendation
from content_miner.pipeline.time_series import EngagementAnalysis


def _day(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d") if when else "n/a"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _counts(likes: int, reposts: int, replies: int | None) -> str:
    parts = [plural(likes, "like"), plural(reposts, "repost")]
    if replies is not None:
        parts.append(plural(replies, "reply"))
    return ", ".join(parts)


def _recommendation(r: Recommendation) -> list[str]:
    e = r.expected_engagement
    if r.slot is not None:
        when = (f"{r.slot.label}, next on {r.next_slot_at:%a %Y-%m-%d %H:%M} UTC (slot lift {r.slot.lift:.2f}x, "
                f"at least {r.slot.lift_low or 0:.2f}x, from {plural(r.slot.posts, 'past post')})")
    else:
        when = f"{r.next_slot_at:%a %Y-%m-%d %H:%M} UTC, one of the account's usual hours (no best slot claimed)"
    lines = [
        f"### {r.rank}. {r.topic}",
        "",
        *(f"> {line}" if line else ">" for line in r.draft.splitlines()),
        "",
        f"- **Publish as:** {r.format}",
        f"- **When:** {when}",
        f"- **Expected engagement:** {e.low:.0f} to {e.high:.0f} (50 % interval), median {e.median:.0f}",
        f"- **Hashtags:** {' '.join('#' + t for t in r.hashtags) or 'none'}",
        f"- **Topic:** lift {r.lift:.2f}x over {plural(r.support, 'post')}, trend {r.topic_trend}; "
        f"keywords: {', '.join(r.topic_keywords)}",
        f"- **Why:** {r.rationale}",
        "- **Evidence (similar past posts):**",
    ]
    for p in r.evidence:
        lines.append(
            f"  - {p.created_at:%Y-%m-%d}, engagement {p.engagement:.0f} "
            f"({_counts(p.likes, p.reposts, p.replies)}): \"{_cell(p.text)}\""
        )
    return lines + [""]


def render_markdown(plan: ContentPlan, analysis: EngagementAnalysis, charts: dict[str, str]) -> str:
    """`charts` maps a caption to a PNG file name in the same directory."""
    activity = plan.activity
    trend_text = plan.trend
    if activity is not None:
        if activity.status == "active" and activity.weekly_change is not None:
            trend_text += f" ({activity.weekly_change:+.1%} per week)"
        trend_text += (f" over the last {activity.window_weeks} weeks "
                       f"({activity.active_weeks} with posts, {plural(activity.recent_posts, 'post')})")
        if activity.typical_low is not None and activity.typical_high is not None:
            trend_text += f"; typical post {activity.typical_low:.0f} to {activity.typical_high:.0f}"
    lines = [
        f"# Content plan: {plan.username} on {plan.platform}",
        "",
        f"Generated {plan.generated_at:%Y-%m-%d %H:%M} UTC from {plural(plan.source.posts_analyzed, 'post')} "
        f"({_day(plan.source.first_post_at)} to {_day(plan.source.last_post_at)}, "
        f"source: {plan.source.provider}, {plan.source.posts_dropped} dropped).",
        "",
        "## Summary",
        "",
        f"- Engagement per post = {plan.engagement_formula}: mean {plan.mean_engagement:.1f}, "
        f"median {plan.median_engagement:.1f}",
        f"- Trend: {trend_text}",
    ]
    if plan.posting_time is not None:
        lines.append(f"- {plan.posting_time.summary[:1].upper()}{plan.posting_time.summary[1:]}")
    if plan.engagement_model is not None:
        m = plan.engagement_model
        lines.append(f"- Drafts are ranked, and their expected engagement estimated, by the account's engagement "
                     f"model ({m.kind}, fitted on {plural(m.posts, 'post')}; expected engagement is its {m.interval})")
    lines += [f"- {plural(len(plan.recommendations), 'recommendation')} below, best first; all times are UTC.", ""]
    if plan.notes:
        lines += ["## Notes", "", *(f"- {n}" for n in plan.notes), ""]
    claimed_tips = [t for t in plan.format_advice if t.claimed]
    if plan.format_advice:
        lines += ["## Formats", "",
                  "Level-free engagement with vs without each format; claimed only when older and newer posts agree.",
                  "", *(f"- {'**' if t.claimed else ''}{t.summary}{'**' if t.claimed else ''}"
                        for t in (claimed_tips + [t for t in plan.format_advice if not t.claimed])), ""]
    lines += ["## Best posting slots", ""]
    if plan.best_slots:
        lines += [
            "Lift compares a slot's posts with the account's typical post after its trend, content and format "
            "are taken out, shrunk toward no effect when a slot has few posts; slots are ranked by the lower "
            "end of its 90 % interval.",
            "",
            "| slot | lift | at least | mean engagement | posts |",
            "| --- | --- | --- | --- | --- |",
            *(f"| {s.label} | {s.lift:.2f}x | {s.lift_low or 0:.2f}x | {s.mean_engagement:.1f} | {s.posts} |"
              for s in plan.best_slots),
            "",
        ]
    else:
        summary = plan.posting_time.summary if plan.posting_time else "no slots"
        reason = f" ({plan.posting_time.reason})" if plan.posting_time else ""
        lines += [f"{summary[:1].upper()}{summary[1:]}{reason}.", ""]
    lines += ["## Recommendations", ""]
    for r in plan.recommendations:
        lines += _recommendation(r)
    if plan.topics:
        lines += [
            "## Topics (clusters of the posts' meaning, best lift first)",
            "",
            "Lift: the topic's posts against the account's typical post, level-free and shrunk, with its 90 % "
            "interval; only topics above the account's average get recommendations. Trend: the topic's weekly "
            "median engagement over the recent window, Mann-Kendall, Holm-corrected across the topics.",
            "",
            "| topic | posts | lift | 90 % interval | recommended | trend | recommendations |",
            "| --- | --- | --- | --- | --- | --- | --- |",
            *(
                f"| {_cell(t.label)} | {t.posts} | {t.lift:.2f}x | "
                f"{'-' if t.lift_low is None or t.lift_high is None else f'{t.lift_low:.2f}-{t.lift_high:.2f}x'} | "
                f"{'yes' if t.recommended else 'no'} | {t.trend}"
                f"{'' if t.weekly_change is None else f' ({t.weekly_change:+.1%}/week)'} | {t.recommendations} |"
                for t in plan.topics
            ),
            "",
        ]
    if analysis.hashtags:
        lines += [
            "## Hashtag trends (recent third of the period vs before)",
            "",
            f"The account tags {analysis.hashtag_use.share:.0%} of its posts; drafts carry hashtags only when that "
            "is above 5 %, and only tags it used recently.",
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
