"""Angles for posts on a topic, and the template draft for each.

Several recommendations on one strong topic differ by angle (a question, a how-to, a story, a
list, a follow-up on the best past post), so the account does not repeat itself. Template drafts
are starting points written from the topic's own words and past posts; an LLM endpoint, when
configured, rewrites them (`llm_drafts`).
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_DRAFT_CHARS = 280


@dataclass(frozen=True)
class TopicBrief:
    """What a draft writer knows about one recommendation."""

    topic: str
    keywords: tuple[str, ...]
    hashtags: tuple[str, ...]
    angle: str
    best_post: str  # the topic's strongest past post
    best_post_engagement: float


@dataclass(frozen=True)
class Angle:
    key: str
    description: str  # what the post does, for the report and the LLM prompt


ANGLES: tuple[Angle, ...] = (
    Angle("follow-up", "build on the topic's best-performing past post with a new detail"),
    Angle("question", "ask the audience a direct question to start replies"),
    Angle("how-to", "share one concrete, practical tip"),
    Angle("list", "a short numbered list of takeaways"),
    Angle("story", "a personal, behind-the-scenes moment"),
)


def _words(brief: TopicBrief, n: int) -> list[str]:
    words = list(brief.keywords[:n])
    return words + ["this"] * (n - len(words))


def _snippet(text: str, limit: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "..."


def template_draft(brief: TopicBrief) -> str:
    """A ready-to-edit post for `brief.angle`, with hashtags, at most 280 characters."""
    a, b, c = _words(brief, 3)
    body = {
        "follow-up": f'"{_snippet(brief.best_post)}" was one of my most shared posts '
        f"({brief.best_post_engagement:.0f} engagements), so here is part two: more on {a} and {b}.",
        "question": f"Honest question for everyone into {a}: what changed your mind about {b}? "
        f"Best answers get a follow-up post.",
        "how-to": f"One {a} tip I wish I had known sooner: start with {b} before worrying "
        f"about {c}. Small change, big difference.",
        "list": f"3 things I've learned about {a}:\n1. {b.capitalize()} matters more than you think\n"
        f"2. {c.capitalize()} is worth the time\n3. Keep notes and compare\nWhat would you add?",
        "story": f"Behind the scenes: a week of {a} and {b}, what went wrong, and the one thing "
        f"with {c} that finally worked.",
    }.get(brief.angle, f"Thoughts on {a} and {b}?")
    return with_hashtags(body, brief.hashtags)


def with_hashtags(body: str, hashtags: tuple[str, ...]) -> str:
    """`body` plus as many of `hashtags` as fit in 280 characters (body trimmed if it alone is too long)."""
    body = body.strip()
    if len(body) > MAX_DRAFT_CHARS:
        body = body[: MAX_DRAFT_CHARS - 3].rsplit(" ", 1)[0] + "..."
    for tag in hashtags:
        if len(body) + len(tag) + 2 > MAX_DRAFT_CHARS:
            break
        if f"#{tag}".lower() not in body.lower():
            body = f"{body} #{tag}"
    return body
