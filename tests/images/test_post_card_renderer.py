"""The Pillow post-card renderer, called in-process."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image

from content_miner.images.fonts import font
from content_miner.images.layout import card_layout
from content_miner.images.renderer import CardRenderer, RendererRegistry, available_renderers, create_renderer
from content_miner.images.settings import CARD_SIZES
from content_miner.images.text_fit import ELLIPSIS, fit_line, fit_text
from content_miner.pipeline.plan import ContentPlan, Recommendation
from support.plans import LONG_DRAFT, SHORT_DRAFT, make_plan, recommendation
from support.png_regions import ink


def render(platform: str = "twitter", **rec_options: object) -> Image.Image:
    rec = recommendation(1, **rec_options)  # type: ignore[arg-type]
    plan = make_plan(platform=platform, recommendations=[rec])
    return Image.open(io.BytesIO(create_renderer("post_card").render(plan, rec)))


def test_same_plan_gives_identical_bytes() -> None:
    plan = make_plan(count=2)
    first = [create_renderer("post_card").render(plan, rec) for rec in plan.recommendations]
    second = [create_renderer("post_card").render(plan, rec) for rec in plan.recommendations]
    assert first == second
    assert first[0] != first[1]  # the rank and topic differ, so the cards do


@pytest.mark.parametrize("platform", sorted(CARD_SIZES))
def test_card_has_the_platform_size_and_content_in_every_region(platform: str) -> None:
    image = render(platform)
    assert image.format == "PNG"
    assert image.size == CARD_SIZES[platform]
    layout = card_layout(*image.size)
    for name in ("header", "text", "hashtags", "slot", "chart", "footer"):
        assert ink(image, getattr(layout, name).inset(layout.unit)) > 100, f"{name} region is empty on {platform}"


def test_twitter_card_is_1200_by_675() -> None:
    assert render("twitter").size == (1200, 675)


def test_unknown_platform_gets_the_landscape_default() -> None:
    assert render("mastodon").size == (1200, 675)


def test_longer_draft_puts_more_ink_in_the_text_area() -> None:
    short, long = render(draft=SHORT_DRAFT), render(draft=LONG_DRAFT)
    layout = card_layout(*short.size)
    assert ink(long, layout.text) > 3 * ink(short, layout.text)


def test_chart_ink_grows_with_evidence() -> None:
    none, many = render(evidence_count=0), render(evidence_count=12)
    layout = card_layout(*none.size)
    assert ink(many, layout.chart) > 5 * ink(none, layout.chart)


def test_overlong_draft_is_cut_with_an_ellipsis_not_overflowing() -> None:
    fitted = fit_text(LONG_DRAFT * 20, lambda size: font("regular", size), 600, 300, max_size=40, min_size=20)
    assert fitted.truncated and fitted.lines[-1].endswith(ELLIPSIS)
    assert len(fitted.lines) * fitted.line_height <= 300
    assert all(fitted.font.getlength(line) <= 600 for line in fitted.lines)


def test_unbroken_text_is_split_to_fit() -> None:
    fitted = fit_text("x" * 500, lambda size: font("regular", size), 200, 1000, max_size=20, min_size=10)
    assert not fitted.truncated and len(fitted.lines) > 1
    assert all(fitted.font.getlength(line) <= 200 for line in fitted.lines)


class MeasuredFont:
    """The real DejaVu font at one size, counting the characters it is asked to measure."""

    def __init__(self, size: int, tally: list[int]) -> None:
        self._font = font("regular", size)
        self._tally = tally
        self.size = size

    def getlength(self, text: str) -> float:
        self._tally.append(len(text))
        return self._font.getlength(text)


def measured_work(fit: Callable[[Callable[[int], Any]], object]) -> int:
    tally: list[int] = []
    fit(lambda size: MeasuredFont(size, tally))
    return sum(tally)


WORDY = (LONG_DRAFT + " ") * 4000  # ~1 MB
UNBROKEN = "x" * 1_000_000


@pytest.mark.parametrize("text", [WORDY, UNBROKEN], ids=["words", "one_word"])
def test_fitting_a_huge_draft_measures_no_more_than_fitting_a_short_one(text: str) -> None:
    # A 1 MB draft took 25 s per card (a 1 MB word 104 s): all of it was wrapped to keep a few lines.
    def fit(length: int) -> Callable[[Callable[[int], Any]], object]:
        return lambda make: fit_text(text[:length], make, 600, 300, max_size=40, min_size=20)

    assert measured_work(fit(len(text))) == measured_work(fit(20_000))
    fitted = fit_text(text, lambda size: font("regular", size), 600, 300, max_size=40, min_size=20)
    assert fitted.truncated and fitted.lines[-1].endswith(ELLIPSIS) and len(fitted.lines) * fitted.line_height <= 300
    assert all(fitted.font.getlength(line) <= 600 for line in fitted.lines)


def test_fitting_a_huge_single_line_measures_no_more_than_fitting_a_short_one() -> None:
    def fit(length: int) -> Callable[[Callable[[int], Any]], object]:
        return lambda make: fit_line(WORDY[:length], make, 400, max_size=30, min_size=20)

    assert measured_work(fit(len(WORDY))) == measured_work(fit(20_000))
    line, line_font = fit_line(WORDY, lambda size: font("regular", size), 400, max_size=30, min_size=20)
    assert line.endswith(ELLIPSIS) and line_font.getlength(line) <= 400


def test_card_with_megabyte_texts_renders_cut_to_fit() -> None:
    image = render(draft=WORDY, hashtags=["x" * 100_000] * 10)
    layout = card_layout(*image.size)
    assert image.size == (1200, 675) and ink(image, layout.text) > 1000 and ink(image, layout.hashtags) > 100


def test_renderer_registry_knows_post_card_and_refuses_unknown_names() -> None:
    assert "post_card" in available_renderers()
    assert isinstance(create_renderer("post_card"), CardRenderer)
    with pytest.raises(KeyError, match="unknown renderer 'diffusion'"):
        create_renderer("diffusion")


def test_a_registry_is_built_without_import_time_side_effects() -> None:
    class Blank(CardRenderer):
        def render(self, plan: ContentPlan, recommendation: Recommendation) -> bytes:
            return b"png"

    mine = RendererRegistry().register("blank", Blank)
    assert mine.names() == ["blank"] and mine.create("blank").name == "blank"
    assert "blank" not in available_renderers(), "a registry of one's own leaves the defaults alone"
    with pytest.raises(ValueError, match="already registered"):
        mine.register("blank", Blank)


def test_a_recommendation_without_a_claimed_slot_says_when_it_is_scheduled() -> None:
    """Schema 2.0: a plan claims posting slots only when its own back-test supports them; a card
    without one still fills its slot region (the scheduled time) and renders like any other."""
    rec = recommendation(1).model_copy(update={"slot": None})
    plan = make_plan(recommendations=[rec])
    image = Image.open(io.BytesIO(create_renderer("post_card").render(plan, rec)))
    layout = card_layout(*image.size)
    assert ink(image, layout.slot.inset(layout.unit)) > 100
    with_slot = create_renderer("post_card").render(plan, recommendation(1))
    assert with_slot != create_renderer("post_card").render(plan, rec)


def test_plans_of_schema_1_1_still_read() -> None:
    from content_miner.pipeline.plan import ContentPlan

    old = make_plan(count=1).model_dump(mode="json")
    old["schema_version"] = "1.1"
    for key in ("posting_time", "format_advice", "activity", "engagement_model"):
        old.pop(key)
    for rec in old["recommendations"]:
        rec.pop("format")
        rec["slot"].pop("lift_low")
    plan = ContentPlan.model_validate(old)
    assert plan.schema_version == "1.1" and plan.recommendations[0].slot is not None
