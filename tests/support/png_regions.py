"""Measuring what was drawn where on a card."""

from __future__ import annotations

import numpy as np
from PIL import Image

from content_miner.images.layout import Box


def ink(image: Image.Image, box: Box, *, threshold: int = 60) -> int:
    """Pixels in `box` that differ from the box's most common colour (its background) by more than
    `threshold` in some channel: text strokes, bars, lines."""
    region = np.asarray(image.convert("RGB").crop(box.as_tuple()), dtype=np.int16).reshape(-1, 3)
    colours, counts = np.unique(region, axis=0, return_counts=True)
    background = colours[counts.argmax()]
    return int((np.abs(region - background).max(axis=1) > threshold).sum())
