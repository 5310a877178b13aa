"""Post text helpers for Stage 2: cleaning, entities (hashtags, mentions, links), and the
normalised form used to spot near-duplicate posts."""

from __future__ import annotations

import html
import re
import unicodedata

_LINK = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_LINK_TRAILING = ".,;:!?)]}'\"\u2026"  # punctuation that ends a sentence, not the link
# A hashtag needs at least one non-digit ("#1" is not a hashtag on X); '#' or the full-width '＃'.
_HASHTAG = re.compile(r"(?<![\w&#])[#\uff03](\w*[^\W\d]\w*)")
# X handles: 1-15 ASCII letters, digits, underscores; not inside an e-mail address or a longer word.
_MENTION = re.compile(r"(?<![\w@])[@\uff20]([A-Za-z0-9_]{1,15})(?![\w@])")
_NOT_WORD = re.compile(r"[\W_]+")
_POST_LINK = re.compile(r"(?:twitter|x)\.com/\w+/status(?:es)?/\d+", re.IGNORECASE)
_MEDIA_LINK = re.compile(r"pic\.twitter\.com/|pbs\.twimg\.com/|/photo/\d|/video/\d", re.IGNORECASE)


def clean_text(raw: str) -> str:
    """HTML entities decoded (archives and the API escape &, < and >), whitespace collapsed."""
    return " ".join(html.unescape(raw).split())


def extract_links(text: str) -> tuple[str, ...]:
    links = (match.group(0).rstrip(_LINK_TRAILING) for match in _LINK.finditer(text))
    return _unique(link for link in links if "://" in link and not link.endswith("://"))


def is_post_link(link: str) -> bool:
    """A link to a post on X (a quote, when the source does not say)."""
    return bool(_POST_LINK.search(link))


def is_media_link(link: str) -> bool:
    """A link to the post's own image or video."""
    return bool(_MEDIA_LINK.search(link))


def shows_media(text: str) -> bool:
    """The text carries a link to an attached image or video (twint and scraped CSVs keep
    `pic.twitter.com/...` in the text, often without a scheme)."""
    return bool(_MEDIA_LINK.search(text))


def extract_hashtags(text: str) -> tuple[str, ...]:
    """Lower case, without '#'; tags inside links (e.g. URL fragments) are not hashtags."""
    return _unique(tag.lower() for tag in _HASHTAG.findall(_LINK.sub(" ", text)))


def extract_mentions(text: str) -> tuple[str, ...]:
    """Lower case, without '@'."""
    return _unique(name.lower() for name in _MENTION.findall(_LINK.sub(" ", text)))


def comparable_text(text: str) -> str:
    """The text as compared for near-duplicates: Unicode-normalised (NFKC) and case-folded,
    links and mentions removed, '#' and punctuation dropped, whitespace collapsed.

    So "Big news! https://t.co/a @bob" and "big news https://t.co/b" compare equal.
    """
    text = _MENTION.sub(" ", _LINK.sub(" ", unicodedata.normalize("NFKC", text)))
    return " ".join(_NOT_WORD.sub(" ", text.casefold()).split())


def _unique(items: object) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))  # type: ignore[call-overload]
