"""A re-run with nothing new reuses what Stages 4 and 5 fitted; anything new refits."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np

from content_miner.common.account import AccountKey
from content_miner.common.layout import DataLayout
from content_miner.pipeline.embedding import LEXICAL_NAME, load_embedder
from content_miner.pipeline.fit_cache import AccountFits, keep_fits, prior_fits
from content_miner.pipeline.generation import generate_plan, topic_model
from content_miner.pipeline.sample_account import generate_sample_posts
from content_miner.pipeline.time_series import analyse

KEY = AccountKey("twitter", "cached")
POSTS = generate_sample_posts(seed=6, n_posts=400, days=120, reply_share=0.3, reply_factor=0.3)
VECTORS = load_embedder(LEXICAL_NAME).embed([p.text for p in POSTS])
NOW = POSTS[-1].created_at + timedelta(days=1)


def _plan(fits: AccountFits | None):  # type: ignore[no-untyped-def]
    analysis = analyse(POSTS, NOW, embeddings=VECTORS, fits=fits)
    topics = fits.topics if fits is not None and fits.topics is not None else topic_model(POSTS, VECTORS, analysis,
                                                                                          KEY.username)
    plan = generate_plan(POSTS, VECTORS, analysis, platform=KEY.platform, username=KEY.username, now=NOW,
                         provider="t", topics=topics)
    return analysis, topics, plan


def test_saved_fits_are_reused_and_give_the_same_plan(tmp_path: Path) -> None:
    layout = DataLayout(tmp_path)
    first = prior_fits(layout, KEY, POSTS, VECTORS, LEXICAL_NAME)
    assert first.fits is None
    analysis, topics, plan = _plan(None)
    keep_fits(layout, KEY, AccountFits(first.fingerprint, analysis.model, analysis.slots, analysis.formats, topics),
              embedder=LEXICAL_NAME)
    again = prior_fits(layout, KEY, POSTS, VECTORS, LEXICAL_NAME)
    assert again.fits is not None and again.fingerprint == first.fingerprint
    assert _plan(again.fits)[2].model_dump_json() == plan.model_dump_json()


def test_anything_new_refits(tmp_path: Path) -> None:
    layout = DataLayout(tmp_path)
    analysis, topics, _ = _plan(None)
    fingerprint = prior_fits(layout, KEY, POSTS, VECTORS, LEXICAL_NAME).fingerprint
    keep_fits(layout, KEY, AccountFits(fingerprint, analysis.model, analysis.slots, analysis.formats, topics),
              embedder=LEXICAL_NAME)
    liked = [*POSTS[:-1], replace(POSTS[-1], likes=POSTS[-1].likes + 1)]
    assert prior_fits(layout, KEY, liked, VECTORS, LEXICAL_NAME).fits is None  # a count changed
    assert prior_fits(layout, KEY, POSTS[:-1], VECTORS[:-1], LEXICAL_NAME).fits is None  # a post fewer
    assert prior_fits(layout, KEY, POSTS, np.flip(VECTORS, axis=0), LEXICAL_NAME).fits is None  # other vectors
    assert prior_fits(layout, KEY, POSTS, VECTORS, "another-embedder").fits is None
    layout.account_fit_cache(KEY).write_bytes(b"damaged")
    assert prior_fits(layout, KEY, POSTS, VECTORS, LEXICAL_NAME).fits is None  # unreadable: refit, no error


def test_stage_2_output_is_reused_for_the_same_raw_cache_file(tmp_path: Path) -> None:
    from content_miner.pipeline import retrieval_cache
    from content_miner.pipeline.account import AccountRequest
    from content_miner.pipeline.sample_account import to_jsonl
    from content_miner.pipeline.scraping import ScrapeSettings, default_providers, scrape

    source = tmp_path / "posts.jsonl"
    source.write_text(to_jsonl(POSTS[:50]))
    layout = DataLayout(tmp_path / "data")
    request = AccountRequest(platform="twitter", username="cached", source=str(source))
    calls: list[int] = []
    real = retrieval_cache.retrieve
    retrieval_cache.retrieve = lambda scraped, **kw: calls.append(1) or real(scraped, **kw)  # type: ignore[assignment]
    try:
        def run(max_posts: int | None = None):  # type: ignore[no-untyped-def]
            scraped = scrape(request, layout=layout, settings=ScrapeSettings(), providers=default_providers(), now=NOW)
            return retrieval_cache.retrieve_reusing(layout, scraped, max_posts=max_posts)

        first = run()
        assert run() == first and len(calls) == 1  # the same raw cache file: read back, not retrieved
        assert len(run(max_posts=20).posts) == 20 and len(calls) == 2  # another limit: retrieved
        source.write_text(to_jsonl(POSTS[:40]))  # a new export: imported and retrieved again
        assert len(run().posts) < len(first.posts) and len(calls) == 3
    finally:
        retrieval_cache.retrieve = real  # type: ignore[assignment]
