"""Drafts from an OpenAI-compatible chat endpoint, when one is configured.

`POST {LLM_BASE_URL}/chat/completions` with `LLM_MODEL` and, if set, `LLM_API_KEY` as a bearer
token; temperature 0 so the same brief tends to give the same draft. The prompt gives the topic,
the angle, its keywords and the account's best recent posts as style examples (without mentions,
links or engagement counts, so none can be copied into the draft); the answer goes through
`draft_text.postable` all the same. Any failure (network, status, shape, empty text) raises
`DraftEndpointError`; the plan generator then keeps the template draft and says so in the notes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import httpx

from content_miner.pipeline.angles import ANGLES, TopicBrief, with_hashtags
from content_miner.pipeline.draft_text import MAX_DRAFT_CHARS, postable

logger = logging.getLogger(__name__)

BASE_URL_ENV, MODEL_ENV, API_KEY_ENV = "LLM_BASE_URL", "LLM_MODEL", "LLM_API_KEY"
_ANGLE_TEXT = {a.key: a.description for a in ANGLES}


class DraftEndpointError(RuntimeError):
    """The LLM endpoint did not produce a usable draft."""


class DraftWriter(Protocol):
    @property
    def name(self) -> str: ...  # read-only: what the plan notes as the drafts' author

    def write(self, brief: TopicBrief) -> str: ...


def _prompt(brief: TopicBrief) -> str:
    examples = "".join(f'- "{example}"\n' for example in brief.style_examples)
    return (
        f"Write one social media post (at most {MAX_DRAFT_CHARS - 40} characters, no hashtags, no @-mentions, "
        f"no links) about: {brief.topic}.\n"
        f"Angle: {_ANGLE_TEXT.get(brief.angle, brief.angle)}.\n"
        f"Key words to draw on: {', '.join(brief.keywords)}.\n"
        f'The account\'s strongest past post on this topic: "{brief.best_post}"\n'
        + (f"The account's best recent posts, for its voice:\n{examples}" if examples else "")
        + "Write in that voice. Do not invent figures. Reply with the post text only."
    )


@dataclass(frozen=True)
class ChatCompletionsDrafter:
    base_url: str
    model: str
    api_key: str | None = None
    timeout_s: float = 30.0

    @property
    def name(self) -> str:
        return f"{self.model} via {self.base_url}"

    def write(self, brief: TopicBrief) -> str:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        payload = {
            "model": self.model,
            "temperature": 0,
            "messages": [
                {"role": "system", "content": "You write concise, engaging social media posts."},
                {"role": "user", "content": _prompt(brief)},
            ],
        }
        url = self.base_url.rstrip("/") + "/chat/completions"
        try:
            response = httpx.post(url, json=payload, headers=headers, timeout=self.timeout_s)
            response.raise_for_status()
            text = response.json()["choices"][0]["message"]["content"]
        except httpx.HTTPStatusError as exc:
            raise DraftEndpointError(f"{url} answered HTTP {exc.response.status_code}") from exc
        except httpx.HTTPError as exc:
            raise DraftEndpointError(f"{url} unreachable: {exc.__class__.__name__}") from exc
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise DraftEndpointError(f"{url} sent an unexpected response shape") from exc
        if not isinstance(text, str) or not text.strip():
            raise DraftEndpointError(f"{url} returned an empty draft")
        draft = postable(text.strip().strip('"'))
        if not draft:
            raise DraftEndpointError(f"{url} returned a draft with nothing left after removing mentions and links")
        return with_hashtags(draft, brief.hashtags)


def drafter_from_env(env: Mapping[str, str]) -> ChatCompletionsDrafter | None:
    """A drafter when both LLM_BASE_URL and LLM_MODEL are set, else None (template drafts).
    Called by the entry point, once."""
    base, model = env.get(BASE_URL_ENV, "").strip(), env.get(MODEL_ENV, "").strip()
    if not base or not model:
        return None
    return ChatCompletionsDrafter(base, model, env.get(API_KEY_ENV) or None)
