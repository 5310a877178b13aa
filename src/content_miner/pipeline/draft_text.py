"""Text helpers for drafts: what a topic is about in words a post can use, and clean, postable text.

A template draft needs a subject it can name ("Question for everyone following {subject}: ...").
A topic's keywords are lower-case tokens, and not all are nouns ("awesome", "check"). From the
account's own posts in the topic, each keyword gets its usual spelling ("Tesla", "SpaceX", "npm")
and a test of whether the posts use it as a thing: it follows a determiner or a preposition and
ends a phrase ("the grinder.", "about SpaceX and"), or it is capitalised mid-sentence (a name).
Keywords that pass are the draft's subjects; without any, the draft names the topic's hashtag or
falls back to wording that needs no subject.

Every draft, template or LLM, goes through `postable`: no @-mentions, no links, no numbers copied
from the account's past posts' counts, whitespace tidied, at most 280 characters.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

MAX_DRAFT_CHARS: Final = 280
_TOKEN = re.compile(r"[A-Za-z\u00c0-\u024f][A-Za-z0-9\u00c0-\u024f'\-]*|[.!?,;:()\"]")
_DETERMINERS: Final = frozenset(
    "the a an my our your his her their its this that these those new old about of on for with in into from by "
    "at to than like using via every each some any more".split()
)
_PHRASE_END: Final = frozenset(
    "and or but is are was were will can could should would has have had to of for in on at with from by "
    "that which who as so if when while because . , ! ? ; : ( ) \"".split()
)
_MENTION = re.compile(r"(?<![\w@])[@\uff20]\w{1,15}:?")
_LINK = re.compile(r"https?://\S+|\bwww\.\S+|\bpic\.twitter\.com/\S+|\bt\.co/\S+", re.IGNORECASE)
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.!?;:])")
_REPEATED_PUNCT = re.compile(r"([,;:])\s*(?=[,;:.!?])")
_NUMBER = re.compile(r"(?<![\w.])\d[\d,.]*[kKmM]?(?![\w])")


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """'1 reply', '2 replies', '0 posts'."""
    word = singular if count == 1 else (plural_form or _plural(singular))
    return f"{count:,} {word}"


def _plural(word: str) -> str:
    if word.endswith("y") and word[-2:-1] not in tuple("aeiou"):
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    return word + "s"


def _tokens(text: str) -> list[str]:
    # A mention stands for someone (a noun: "the failing @nytimes" does not end at "failing"); a link
    # ends a phrase.
    return _TOKEN.findall(_LINK.sub(" . ", _MENTION.sub(" someone ", text)))


_ARTICLES: Final = ("the", "my", "our", "a", "an", "this", "that", "your", "his", "her", "their", "these", "those")


@dataclass
class KeywordUse:
    """How an account's posts use one keyword (one pass over the texts: `keyword_use`)."""

    total: int = 0
    as_thing: int = 0  # after a determiner or preposition, ending a phrase
    capitalised: int = 0  # capitalised mid-sentence (a name)
    titles: int = 0  # capitalised and followed by another capitalised word ("President Obama")
    ending: int = 0  # occurrences that end a phrase (the keyword is the thing, not a modifier)
    spellings: Counter[str] = field(default_factory=Counter)
    before: Counter[str] = field(default_factory=Counter)  # phrase-ending uses: the determiner in front, "" for none
    next_words: Counter[str] = field(default_factory=Counter)
    previous_words: Counter[str] = field(default_factory=Counter)

    @property
    def noun_like(self) -> bool:
        if not self.total or self.titles >= 0.3 * self.total:
            return False  # a title before names makes no sentence on its own ("about President")
        return self.as_thing >= max(1, 0.15 * self.total) or self.capitalised >= 0.5 * self.total

    @property
    def spelling(self) -> str:
        """The usual spelling, keeping capitals only where the account writes them mid-sentence too."""
        if not self.spellings:
            return ""
        best = max(self.spellings.items(), key=lambda kv: (kv[1], kv[0] != kv[0].lower(), kv[0]))[0]
        capital = sum(n for form, n in self.spellings.items() if form[:1].isupper())
        if best[1:] != best[1:].lower() or capital >= 0.6 * sum(self.spellings.values()):
            return best  # "SpaceX", "JavaScript", or a name the account capitalises
        return best.lower()

    @property
    def article(self) -> str:
        """"the" (or "my") for a word the account uses as a countable thing: mostly after a determiner, or
        at least sometimes after "a"/"an"; "" for names, plurals and mass nouns it writes bare."""
        spelling = self.spelling
        if not self.ending or spelling.endswith(("s", "S")) and not spelling.endswith(("ss", "SS")):
            return ""
        own = max(("my", "our"), key=lambda word: self.before[word])
        determined = sum(count for word, count in self.before.items() if word)
        counted = self.before["a"] + self.before["an"]
        if determined >= 0.5 * self.ending or (counted and determined >= 0.2 * self.ending):
            return own if self.before[own] > determined - self.before[own] else "the"
        return ""


def keyword_use(texts: Iterable[str], keywords: Sequence[str]) -> dict[str, KeywordUse]:
    """One pass over `texts` recording how each keyword (a word or a phrase) is used."""
    use = {k: KeywordUse() for k in keywords}
    by_first: dict[str, list[str]] = {}
    for keyword in keywords:
        by_first.setdefault(keyword.split()[0], []).append(keyword)
    for text in texts:
        tokens = _tokens(text)
        lower = [t.lower() for t in tokens]
        for i, word in enumerate(lower):
            for keyword in by_first.get(word, ()):
                parts = keyword.split()
                size = len(parts)
                if lower[i:i + size] != parts:
                    continue
                record = use[keyword]
                record.total += 1
                before = lower[i - 1] if i else "."
                after = lower[i + size] if i + size < len(lower) else "."
                if before in _DETERMINERS and after in _PHRASE_END:
                    record.as_thing += 1
                if i and before not in (".", "!", "?", ":", '"') and tokens[i][:1].isupper():
                    record.capitalised += 1
                    if i + size < len(tokens) and tokens[i + size][:1].isupper():
                        record.titles += 1
                if after in _PHRASE_END:
                    record.ending += 1
                    # "an existential threat": an article one adjective back counts too (single words only)
                    skipped = (lower[i - 2] if size == 1 and i >= 2 and before.isalpha() and before not in _ARTICLES
                               else "")
                    article = before if before in _ARTICLES else skipped if skipped in _ARTICLES else ""
                    record.before[article] += 1
                record.spellings[" ".join(tokens[i:i + size])] += 1
                record.next_words[after] += 1
                record.previous_words[before] += 1
    return use


def adjacent(use: dict[str, KeywordUse], first: str, second: str) -> bool:
    """Whether `first` is mostly written right before `second` (or the other way): two halves of one
    name ("Donald Trump"), which a draft must not list as two things."""
    a, b = use[first], use[second]
    return (a.next_words[second.split()[0]] >= 0.3 * max(a.total, 1)
            or b.next_words[first.split()[0]] >= 0.3 * max(b.total, 1))


def subject_phrases(texts: Sequence[str], keywords: Sequence[str]) -> list[str]:
    """The noun-like keywords as the account would write them in a sentence: its usual spelling,
    with "the" or "my" in front when that is how its posts mostly use the word ("the weekend",
    "my office"), bare otherwise ("Berlin", "npm", "tickets")."""
    wanted = [k for k in keywords if not k.startswith(("@", "("))]
    use = keyword_use(texts, wanted)
    chosen: list[str] = []
    for keyword in wanted:
        if use[keyword].noun_like and not any(adjacent(use, keyword, other) for other in chosen):
            chosen.append(keyword)
    # A keyword mostly written after another one is the tail of a phrase ("Fake News", "Donald Trump"):
    # the draft names the phrase.
    phrases = []
    for keyword in chosen:
        head = next((other for other in wanted if other != keyword and len(other.split()) == 1
                     and use[keyword].previous_words[other] >= 0.5 * use[keyword].total), None)
        phrases.append(f"{head} {keyword}" if head else keyword)
    spelled = keyword_use(texts, phrases)
    out: list[str] = []
    seen: set[str] = set()
    for phrase, keyword in zip(phrases, chosen, strict=True):
        if seen & set(phrase.split()):
            continue  # "the President" and "President Obama" would name the same thing twice
        seen.update(phrase.split())
        record = spelled[phrase] if spelled[phrase].total else use[keyword]
        out.append(f"{record.article} {record.spelling or phrase}".strip())
    return out


def surface_forms(texts: Iterable[str], keywords: Sequence[str]) -> dict[str, str]:
    """Each keyword's usual spelling in `texts` ('tesla' -> 'Tesla'); the keyword itself if unused."""
    use = keyword_use(texts, keywords)
    return {k: use[k].spelling or k for k in keywords}


def noun_like(texts: Iterable[str], keywords: Sequence[str]) -> list[str]:
    """The keywords the texts use as things (see the module doc), in the given order."""
    wanted = [k for k in keywords if not k.startswith(("@", "("))]
    use = keyword_use(texts, wanted)
    return [k for k in wanted if use[k].noun_like]


def postable(text: str, *, banned_numbers: Iterable[float] = (), limit: int = MAX_DRAFT_CHARS) -> str:
    """`text` without @-mentions, links or any of `banned_numbers` (past posts' counts), tidied and
    cut at a word boundary to `limit` characters."""
    text = _LINK.sub(" ", _MENTION.sub(" ", text))
    banned = {int(round(n)) for n in banned_numbers if n >= 10}
    if banned:
        def drop(match: re.Match[str]) -> str:
            digits = re.sub(r"[^\d]", "", match.group(0))
            return "" if digits and int(digits) in banned else match.group(0)
        text = _NUMBER.sub(drop, text)
    lines = [" ".join(line.split()) for line in text.splitlines()]
    text = "\n".join(line for line in lines if line)
    text = _REPEATED_PUNCT.sub("", _SPACE_BEFORE_PUNCT.sub(r"\1", text)).strip(" ,;")
    if len(text) > limit:
        text = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"
    return text
