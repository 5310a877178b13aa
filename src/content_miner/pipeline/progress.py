"""Progress inside the running stage, reported from wherever the work happens.

The pipeline's stage wrapper says where progress goes (`reporting`); code deep inside a stage (the
X API's pages, the embedder's batches) calls `report(done, total)` without knowing about stages,
accounts or the tracker. Outside a stage, `report` does nothing. The tracker throttles the writes
(about one a second), so calling this per batch is cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

Sink = Callable[[int, int], None]

_sink: ContextVar[Sink | None] = ContextVar("content_miner_stage_progress", default=None)


@contextmanager
def reporting(sink: Sink) -> Iterator[None]:
    """Within the block, `report` calls `sink(done, total)`."""
    token = _sink.set(sink)
    try:
        yield
    finally:
        _sink.reset(token)


def report(done: int, total: int) -> None:
    """`done` of `total` items of the running stage are done (no-op outside a stage)."""
    sink = _sink.get()
    if sink is not None:
        sink(done, total)
