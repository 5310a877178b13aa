"""Angles for posts on a topic, and the template draft for each.

Several recommendations on one strong topic differ by angle (a follow-up, a question, a how-to, a
list, a story), so the account does not repeat itself. Template drafts are written around the
topic's subjects (`draft_text.noun_like`: the keywords the account's posts use as things, in the
account's spelling), so every sentence reads correctly whatever the subject; without a usable
subject, the template needs none. An LLM endpoint, when configured, writes the drafts instead
(`llm_drafts`), in the voice of the account's best posts. Either way the text goes through
`draft_text.postable` (no @-mentions, links or copied counts).
"""

from __future__ import annotations

from dataclasses import dataclass

from content_miner.pipeline.draft_text import MAX_DRAFT_CHARS, postable


@dataclass(frozen=True)
class TopicBrief:
    """What a draft writer knows about one recommendation."""

    topic: str  # the topic's label
    keywords: tuple[str, ...]  # in the account's spelling
    hashtags: tuple[str, ...]  # hashtags the draft may carry (the account's recent ones)
    angle: str
    best_post: str  # the topic's strongest past post, without mentions or links
    subjects: tuple[str, ...] = ()  # keywords usable as the subject of a sentence, best first
    style_examples: tuple[str, ...] = ()  # the account's best recent posts, for the LLM's voice


@dataclass(frozen=True)
class Angle:
    key: str
    description: str  # what the post does, for the report and the LLM prompt


ANGLES: tuple[Angle, ...] = (
    Angle("follow-up", "follow up on what the account said before about the topic, with what is new"),
    Angle("question", "ask the audience a direct question to start replies"),
    Angle("how-to", "share how the account approaches the topic, as the opener of a short thread"),
    Angle("list", "a short list of takeaways, as the opener of a short thread"),
    Angle("story", "a personal, behind-the-scenes moment"),
)

# {s}: the subject; {pair}: "S and T" when there are two subjects, else S.
_WITH_SUBJECT = {
    "follow-up": "Back to {pair}: a few things have changed since my last post on this. Here is where I stand now.",
    "question": "What would you like to know about {s}? Ask below and I will answer the best questions this week.",
    "how-to": "How I think about {s}, in three short points. A thread:",
    "list": "Three things everyone should know about {pair}. A thread:",
    "story": "The story behind my posts about {s}, and what I have learned along the way.",
}
_WITHOUT_SUBJECT = {
    "follow-up": "A follow-up to one of my most-read posts: a few things have changed since, and here is where "
                 "I stand now.",
    "question": "What should I write about next? Tell me below and I will answer the best ideas this week.",
    "how-to": "How I approach this, in three short points. A thread:",
    "list": "Three things I have learned this year. A thread:",
    "story": "A behind-the-scenes moment from this week, and what I learned from it.",
}


def template_draft(brief: TopicBrief) -> str:
    """A ready-to-post draft for `brief.angle`, with the brief's hashtags, at most 280 characters."""
    subjects = [s for s in brief.subjects if s]
    if subjects:
        pair = f"{subjects[0]} and {subjects[1]}" if len(subjects) > 1 else subjects[0]
        body = _WITH_SUBJECT.get(brief.angle, _WITH_SUBJECT["question"]).format(s=subjects[0], pair=pair)
    else:
        body = _WITHOUT_SUBJECT.get(brief.angle, _WITHOUT_SUBJECT["question"])
    return with_hashtags(postable(body), brief.hashtags)


def with_hashtags(body: str, hashtags: tuple[str, ...]) -> str:
    """`body` plus as many of `hashtags` as fit in 280 characters (body trimmed if it alone is too long)."""
    body = body.strip()
    if len(body) > MAX_DRAFT_CHARS:
        body = body[: MAX_DRAFT_CHARS - 1].rsplit(" ", 1)[0] + "…"
    for tag in hashtags:
        if len(body) + len(tag) + 2 > MAX_DRAFT_CHARS:
            break
        if f"#{tag}".lower() not in body.lower():
            body = f"{body} #{tag}"
    return body
