"""`--mock`: queue the packaged sample account so a fresh miner shows the whole pipeline at once."""

from __future__ import annotations

import importlib.resources
import shutil
from pathlib import Path

from content_pipeline.sample_account import SAMPLE_FILE

from miner_neuron.account_drop import drop_account_file

SAMPLE_USERNAME = "sample_creator"


def sample_source(data_dir: Path) -> Path:
    """A real path to the packaged sample export (copied into the data dir if packaged in a zip)."""
    resource = importlib.resources.files("content_pipeline").joinpath(SAMPLE_FILE)
    if isinstance(resource, Path) and resource.is_file():
        return resource
    target = data_dir / "samples" / Path(SAMPLE_FILE).name
    target.parent.mkdir(parents=True, exist_ok=True)
    with importlib.resources.as_file(resource) as real:
        shutil.copyfile(real, target)
    return target


def queue_sample_account(data_dir: Path) -> str:
    """Drop the sample account's AccountInfo file (a local import, not a scrape); returns its stem."""
    return drop_account_file(data_dir, platform="twitter", username=SAMPLE_USERNAME,
                             source=str(sample_source(data_dir)), origin="sample")
