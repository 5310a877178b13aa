"""`--mock`: queue the packaged sample account so a fresh miner shows the whole pipeline at once."""

from __future__ import annotations

import importlib.resources
import shutil
from pathlib import Path

from content_miner.common.account import AccountKey
from content_miner.common.layout import DataLayout
from content_miner.pipeline.inbox import AccountInbox
from content_miner.pipeline.jobs import JobStore, job_file_name
from content_miner.pipeline.sample_account import SAMPLE_FILE

SAMPLE_KEY = AccountKey("twitter", "sample_creator")
SAMPLE_SUBMITTER = "sample"


def sample_source(paths: DataLayout) -> Path:
    """A real path to the packaged sample export (copied into the data dir if packaged in a zip)."""
    resource = importlib.resources.files("content_miner.pipeline").joinpath(SAMPLE_FILE)
    if isinstance(resource, Path) and resource.is_file():
        return resource
    target = paths.samples / Path(SAMPLE_FILE).name
    target.parent.mkdir(parents=True, exist_ok=True)
    with importlib.resources.as_file(resource) as real:
        shutil.copyfile(real, target)
    return target


def queue_sample_account(paths: DataLayout, store: JobStore) -> bool:
    """Queue the sample account (a local import, not a scrape) unless it is queued or running
    already; True if a new job was queued."""
    submission = store.submit(SAMPLE_KEY, submitter=SAMPLE_SUBMITTER)
    if not submission.created or submission.job is None:
        return False
    AccountInbox(paths).drop(job_file_name(submission.job.id), {
        "platform": SAMPLE_KEY.platform, "username": SAMPLE_KEY.username, "source": str(sample_source(paths))})
    return True
